import Crypto
import Foundation
import StationCore
import StationStore

/// Bearer tokens: `<id>.<secret>`. The id finds the row; only SHA-256 of the secret is stored,
/// and the hash is compared in constant time.
public enum Tokens {
    /// A new token for `station`: the token text to hand out once, and the row to store.
    public static func make(station: String, read: AccessList, write: AccessList, relay: Bool, isOperator: Bool = false, now: Date = Date())
        -> (token: String, stored: StoredToken)
    {
        var rng = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let secret = randomSecret()
        let stored = StoredToken(
            id: id, station: station, secretHash: hash(secret), read: read.description, write: write.description, relay: relay,
            isOperator: isOperator, createdAt: ISO8601DateFormatter().string(from: now))
        return ("\(id).\(secret)", stored)
    }

    /// 32 random bytes, URL-safe base64 without padding: a token's secret, a session's id.
    public static func randomSecret() -> String {
        var rng = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    /// SHA-256 of a secret.
    public static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(secret.utf8)))
    }

    /// Equal byte strings, in time that does not depend on where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }

    /// The principal of a bearer token, or `unauthorized` (missing, malformed, unknown, wrong secret,
    /// revoked: one message, so the answer does not tell which).
    public static func authenticate(_ token: String?, lookup: (String) throws -> StoredToken?) throws(SyncError) -> Principal {
        let denied = SyncError(.unauthorized, "missing or invalid bearer token")
        guard let token, let dot = token.firstIndex(of: "."), token.utf8.count <= 256 else { throw denied }
        let id = String(token[..<dot])
        let secret = String(token[token.index(after: dot)...])
        guard !id.isEmpty, !secret.isEmpty else { throw denied }
        let stored: StoredToken?
        do { stored = try lookup(id) } catch { throw SyncError(.internal, "token lookup failed: \(error)") }
        let candidate = hash(secret)
        // Compare against a dummy hash when the id is unknown, so both paths cost the same.
        let expected = stored?.secretHash ?? hash("unknown-token-\(id)")
        guard constantTimeEqual(candidate, expected), let stored else { throw denied }
        // The right secret of a revoked token: its holder may know (and the hub's log says so).
        if let revoked = stored.revokedAt {
            throw SyncError(
                .tokenRevoked,
                "token \(stored.id) of \(stored.station) was revoked (\(revoked) UTC); ask the hub's operator for a new one (hub token add)")
        }
        do {
            return Principal(
                station: stored.station, read: try AccessList(parsing: stored.read), write: try AccessList(parsing: stored.write),
                relay: stored.relay, isOperator: stored.isOperator)
        } catch {
            throw SyncError(.internal, "token \(id) has an invalid access list")
        }
    }
}
