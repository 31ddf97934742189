import Foundation
import Testing

/// Station-to-station sync (`station serve`) and a station carrying its peer's writes to the hub.
@Suite("Relaying through a peer")
struct RelayTests {
    @Test("A station→station→hub chain converges with a --relay token; without --relay the hub refuses and keeps its data")
    func stationToStationToHubChain() async throws {
        try await withCluster(["labor", "civil-affairs", "charity"]) { cluster in
            let a = cluster["labor"], b = cluster["civil-affairs"], c = cluster["charity"]
            // A works on a LAN with no hub in reach and serves its records to B.
            try await a.put("residents", "res-0100", ["fullName": "He Jun", "neighbourhood": "North"])
            try await a.put("charity_stock", "stk-0100", ["itemName": "Cooking oil 1L", "quantity": 24])
            try await a.add("charity_stock", "stk-0100", "quantity", -4)
            let shared = "lan-secret-\(UUID().uuidString)"
            let aServer = try await a.serve(token: shared)

            let fromA = try await b.sync(peer: aServer.url, token: shared)
            #expect(fromA.peer == "labor", "\(fromA)")
            #expect(fromA.pulled == 2 && fromA.created == 2, "\(fromA)")
            // A wrong shared token is refused.
            let wrong = try await b.trySync(peer: aServer.url, token: "not-the-secret")
            #expect(!wrong.succeeded && wrong.stderr.contains("401"), "\(wrong)")

            // B's ordinary token may only bring B's own writes: the hub refuses A's and changes nothing.
            let hubBefore = try await cluster.hubDB.changes()
            let refused = try await b.trySync()
            #expect(!refused.succeeded, "the hub accepted other nodes' writes from a non-relay token:\n\(refused)")
            let message = refused.stderr.lowercased()
            #expect(message.contains("relay") || message.contains("403"), "the refusal should mention relay or 403:\n\(refused)")
            #expect(try await cluster.hubDB.changes() == hubBefore, "the refused sync changed the hub's data")
            #expect(try await cluster.hubDB.find("residents", "res-0100") == nil)

            // With a --relay token it carries them.
            let relayToken = try await cluster.hub.addToken(for: "civil-affairs", relay: true)
            let relayed = try await b.sync(token: relayToken)
            #expect(relayed.pushed == 2, "\(relayed)")

            let third = try await c.sync()
            #expect(third.pulled == 2 && third.created == 2, "\(third)")
            for node in [cluster.hubDB, c] {
                let resident = try await node.get("residents", "res-0100")
                #expect(resident["fullName"] as? String == "He Jun", "\(node.name): \(resident)")
                #expect(resident.nodeClock == #"{"labor":1}"#, "\(node.name): the write is still A's: \(resident)")
                let stock = try await node.get("charity_stock", "stk-0100")
                #expect(jsonInt(stock["quantity"]) == 20, "\(node.name): \(stock)")
                #expect(stock.nodeClock == #"{"labor":2}"#, "\(node.name): \(stock)")
            }
            // And the same states everywhere, A included.
            for (collection, id) in [("residents", "res-0100"), ("charity_stock", "stk-0100")] {
                var views: Set<String> = []
                for node in [a, b, c, cluster.hubDB] { views.insert(try await node.get(collection, id).replicatedView) }
                #expect(views.count == 1, "\(collection)/\(id) differs between nodes: \(views)")
            }
        }
    }
}
