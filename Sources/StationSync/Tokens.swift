import Crypto
import Foundation
import StationCore

/// Bearer tokens: `<id>.<secret>`. The id finds the row; only SHA-256 of the secret is stored,
/// and the hash is compared in constant time.
public enum Tokens {
    /// A new token for `station`: the token text to hand out once, and the row to store.
    public static func make(
        station: String, read: AccessList, write: AccessList, relay: Bool, isOperator: Bool = false, now: Date = Date()
    )
        -> (token: String, stored: StoredToken)
    {
        var rng = SystemRandomNumberGenerator()
        let id = (0..<8).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
        let secret = randomSecret()
        let stored = StoredToken(
            id: id, station: station, secretHash: hash(secret), read: read, write: write, relay: relay,
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

    /// What a node answers at a session to prove that it holds the caller's token (stored as
    /// SHA-256 of its secret), so that a caller can tell its hub from a LAN peer that only names
    /// itself so: HMAC-SHA256 keyed with that hash over the caller's random `challenge` and the
    /// identity the session claims (node, database, the station the token is for), in hex.
    /// Only a node that stores the token can make it; the caller, who holds the secret, checks it.
    public static func sessionProof(secretHash: [UInt8], challenge: String, node: String, database: String, station: String) -> String {
        let message = "stationsync session proof 1\n\(challenge)\n\(node)\n\(database)\n\(station)"
        let mac = HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: SymmetricKey(data: secretHash))
        return mac.map { String(format: "%02x", $0) }.joined()
    }

    /// Whether `proof` is the session proof of the token `token` (`ID.SECRET`) for that session.
    public static func verifySessionProof(
        _ proof: String, token: String, challenge: String, node: String, database: String, station: String
    ) -> Bool {
        guard let dot = token.firstIndex(of: ".") else { return false }
        let expected = sessionProof(
            secretHash: hash(String(token[token.index(after: dot)...])), challenge: challenge, node: node, database: database, station: station)
        return constantTimeEqual(Array(expected.utf8), Array(proof.utf8))
    }

    /// Whether `token` has the shape of a token `hub token add` hands out: 16 lowercase hex
    /// digits, a dot, 43 characters of URL-safe base64. Only such a token's proof makes a peer a
    /// hub to a station: a LAN secret (`station serve --token`, which refuses this shape) is known
    /// to every peer holding it, and any of them could make a proof with it.
    public static func hasHubShape(_ token: String) -> Bool {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count == 16, parts[1].utf8.count == 43 else { return false }
        let hex = parts[0].utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
        let base64 = parts[1].utf8.allSatisfy { (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) || $0 == 45 || $0 == 95 }
        return hex && base64
    }

    /// A random challenge for a session: 32 bytes in hex.
    public static func sessionChallenge() -> String {
        var rng = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &rng)) }.joined()
    }

    /// Whether `text` can be a session challenge: 16 to 128 hex digits.
    public static func isChallenge(_ text: String) -> Bool {
        (16...128).contains(text.utf8.count) && text.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
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
    public static func authenticate(_ token: String?, lookup: (String) async throws -> StoredToken?) async throws(SyncError) -> Principal {
        let denied = SyncError(.unauthorized, "missing or invalid bearer token")
        guard let token, let dot = token.firstIndex(of: "."), token.utf8.count <= 256 else { throw denied }
        let id = String(token[..<dot])
        let secret = String(token[token.index(after: dot)...])
        guard !id.isEmpty, !secret.isEmpty else { throw denied }
        let stored: StoredToken?
        do { stored = try await lookup(id) } catch { throw SyncError(.internal, "token lookup failed: \(error)") }
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
        return Principal(
            station: stored.station, read: stored.read, write: stored.write, relay: stored.relay, isOperator: stored.isOperator,
            secretHash: stored.secretHash)
    }
}
