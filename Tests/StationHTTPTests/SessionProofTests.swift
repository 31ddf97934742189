import Foundation
import HTTPTypes
import Hummingbird
import Logging
import StationCore
import StationHTTP
import StationServer
import StationStore
import StationSync
import Testing

/// Review round 7, F2a: a LAN peer posing as the hub (its node name and database id, read from
/// the open `/v1/health`) moved the checkpoint this station keeps for the hub. A hub proves at
/// every session that it holds the station's token (HMAC over the station's random challenge);
/// a session that names the caller's station without that proof is refused before anything else.
@Suite struct SessionProofTests {
    @Test("The hub proves it holds the token; a replayed, forged or missing proof is refused")
    func theHubProvesItHoldsTheToken() async throws {
        let dir = NSTemporaryDirectory() + "stationsync-proof-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let schema = Schema(collections: ["cases": CollectionSchema(name: "cases", fields: ["notes": .lww])])
        let hub = try StationStore.create(path: dir + "/hub.sqlite", node: "hub", schema: schema)
        let made = Tokens.make(station: "alpha", read: .all, write: .all, relay: false)
        try hub.addToken(made.stored)
        let token = made.token
        let service = SyncService(storage: hub, authentication: .tokens)
        let router = SyncServer.router(service: service, logger: Logger(label: "test"))
        // A peer posing as the hub answers a session it saw once (the hub's, to one challenge),
        // or that session with its proof taken out, whatever it is asked.
        let captured = LockedBox<JSONValue?>(nil)
        router.get("/replaying/v1/session") { _, _ -> Response in
            Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: captured.withLock { $0 }!.canonicalText)))
        }
        router.get("/unproven/v1/session") { _, _ -> Response in
            var o = captured.withLock { $0 }!.objectValue!
            o["proof"] = nil
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(o).canonicalText)))
        }
        // A LAN peer holding the shared secret the station sends it makes a proof with that
        // secret (review round 8, F1): it counts for nothing, as the secret is no hub's token.
        router.get("/forging/v1/session") { request, _ -> Response in
            var o = captured.withLock { $0 }!.objectValue!
            let bearer = String((request.headers[.authorization] ?? "").dropFirst("Bearer ".count))
            let secret = String(bearer.split(separator: ".", maxSplits: 1).last ?? "")
            o["proof"] = .string(
                Tokens.sessionProof(
                    secretHash: Tokens.hash(secret), challenge: request.headers[HTTPField.Name("X-StationSync-Challenge")!] ?? "",
                    node: "hub", database: hub.databaseID, station: "alpha"))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: JSONValue.object(o).canonicalText)))
        }
        #expect(Tokens.hasHubShape(token) && !Tokens.hasHubShape("lan.secret-0123456789") && !Tokens.hasHubShape("x"))
        try await withTestServer(router: router) { server in
            let principal = try await service.authenticate(authorization: "Bearer \(token)")
            let answer = await service.session(principal, challenge: String(repeating: "ab", count: 32))
            captured.withLock { $0 = answer }
            #expect(captured.withLock { $0 }?.objectValue?["proof"]?.stringValue != nil)
            let session = try await offPool {
                try await HTTPSyncTransport(
                    peer: server.base, token: token, caller: "alpha", options: HTTPClientOptions(), retry: RetryPolicy(maxAttempts: 1)
                )
                .session()
            }
            #expect(session.provenByToken && session.station == "alpha")
            for path in ["/replaying", "/unproven"] {
                await #expect {
                    try await offPool {
                        try await HTTPSyncTransport(
                            peer: server.base + path, token: token, caller: "alpha", options: HTTPClientOptions(), retry: RetryPolicy(maxAttempts: 1)
                        )
                        .session()
                    }
                } throws: { ($0 as? SyncError)?.code == .unprovenPeer }
            }
            await #expect {
                try await offPool {
                    try await HTTPSyncTransport(
                        peer: server.base + "/forging", token: "lan.secret-0123456789", caller: "alpha", options: HTTPClientOptions(),
                        retry: RetryPolicy(maxAttempts: 1)
                    ).session()
                }
            } throws: { ($0 as? SyncError)?.code == .unprovenPeer && "\($0)".contains("not one a hub hands out") }
            // Another token's holder cannot make the proof of this one.
            let other = Tokens.make(station: "alpha", read: .all, write: .all, relay: false)
            #expect(
                !Tokens.verifySessionProof(
                    Tokens.sessionProof(
                        secretHash: other.stored.secretHash, challenge: "00", node: "hub", database: hub.databaseID, station: "alpha"),
                    token: token, challenge: "00", node: "hub", database: hub.databaseID, station: "alpha"))
        }
    }
}
