import Foundation
import Testing

/// Station-to-station sync (`station serve`) and a station carrying its peer's writes to the hub.
@Suite("Relaying through a peer")
struct RelayTests {
    @Test("A station→station→hub chain converges with a --relay token; without --relay the peer's writes wait and the station's own go")
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

            // B's ordinary token may only bring B's own writes: the hub leaves A's waiting (it has
            // not seen them), takes B's own, and changes nothing else.
            try await b.put("residents", "res-0101", ["fullName": "Ma Li", "neighbourhood": "South"])
            let hubBefore = try await cluster.hubDB.changes()
            let waited = try await b.sync()
            #expect(waited.pushed == 1 && waited.waiting == 2, "\(waited)")
            #expect(try await cluster.hubDB.find("residents", "res-0100") == nil)
            #expect(try await cluster.hubDB.find("residents", "res-0101") != nil)
            #expect(try await cluster.hubDB.changes() != hubBefore)
            let again = try await b.sync()
            #expect(again.waiting == 2 && again.pushed == 0, "they wait at every sync: \(again)")
            #expect(try await cluster.hubDB.find("residents", "res-0100") == nil)

            // With a --relay token it carries them.
            let relayToken = try await cluster.hub.addToken(for: "civil-affairs", relay: true)
            let relayed = try await b.sync(token: relayToken)
            #expect(relayed.pushed == 2 && relayed.waiting == 0, "\(relayed)")

            let third = try await c.sync()
            #expect(third.pulled == 3 && third.created == 3, "\(third)")  // A's two and B's own
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

    @Test(
        "After a LAN sync, a station without a relay token still pushes its own records to the hub; those holding the peer's writes wait and go once the peer has synced"
    )
    func aLANSyncDoesNotBlockTheHubSync() async throws {
        try await withCluster(["hotline", "civil-affairs"]) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            try await hotline.put("residents", "res-0300", ["fullName": "Zhou Min"])
            let shared = "lan-secret-\(UUID().uuidString)"
            let server = try await hotline.serve(token: shared)
            try await civil.sync(peer: server.url, token: shared)
            // civil-affairs edits hotline's record and writes its own.
            try await civil.put("residents", "res-0300", ["phone": "555-0300"])
            try await civil.put("mediation_cases", "med-0300", ["partyA": "Zhou", "partyB": "Wu", "status": "open"])
            let first = try await civil.sync()
            #expect(first.pushed == 1 && first.waiting == 1, "\(first)")
            #expect(try await cluster.hubDB.find("mediation_cases", "med-0300") != nil)
            #expect(try await cluster.hubDB.find("residents", "res-0300") == nil)
            // hotline syncs with the hub: its write is there now, and civil-affairs' edit goes.
            try await hotline.sync()
            let second = try await civil.sync()
            #expect(second.waiting == 0 && second.pushed == 1, "\(second)")
            let atHub = try await cluster.hubDB.get("residents", "res-0300")
            #expect(atHub.fields["fullName"] as? String == "Zhou Min" && atHub.fields["phone"] as? String == "555-0300", "\(atHub)")
            let third = try await civil.sync()
            #expect(third.waiting == 0 && third.pushed == 0, "\(third)")
        }
    }
}
