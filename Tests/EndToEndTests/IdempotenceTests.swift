import Foundation
import Testing

@Suite("Repeated syncs")
struct IdempotenceTests {
    @Test("Re-running a sync changes nothing: it pushes 0, pulls 0, and both sides' change feeds stay identical")
    func rerunningASyncChangesNothing() async throws {
        try await withCluster(["hotline", "civil-affairs"]) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            try await hotline.put("hotline_calls", "call-0100", ["callerName": "Ma Lin", "category": "elderly care", "status": "open"])
            try await hotline.put("residents", "res-0200", ["fullName": "Ma Lin", "phone": "555-0300"])
            try await civil.put("mediation_cases", "med-0100", ["partyA": "Ma", "partyB": "Qian", "status": "open"])
            try await civil.put("charity_stock", "stk-0200", ["itemName": "Flour 2kg", "quantity": 7])
            try await hotline.sync()
            try await civil.sync()
            // Concurrent edits so that the converged state includes merges and a conflict.
            try await hotline.put("residents", "res-0200", ["phone": "555-0301", "notes": "hard of hearing"])
            try await civil.put("residents", "res-0200", ["phone": "555-0302"])
            try await hotline.add("charity_stock", "stk-0200", "quantity", 3)
            try await hotline.sync()
            try await civil.sync()
            try await hotline.sync()

            let before = (hotline: try await hotline.changes(), civil: try await civil.changes(), hub: try await cluster.hubDB.changes())
            for station in [hotline, civil, hotline, civil] {
                let summary = try await station.sync()
                #expect(summary.pushed == 0, "\(station.name): \(summary)")
                #expect(summary.pulled == 0, "\(station.name): \(summary)")
                #expect(summary.created == 0 && summary.applied == 0 && summary.merged == 0 && summary.unchanged == 0, "\(station.name): \(summary)")
                #expect(summary.startedOver == false, "\(station.name): \(summary)")
            }
            #expect(try await hotline.changes() == before.hotline, "hotline's feed changed")
            #expect(try await civil.changes() == before.civil, "civil-affairs's feed changed")
            #expect(try await cluster.hubDB.changes() == before.hub, "the hub's feed changed")

            // Even sending and receiving everything again (--full) changes nothing: merging is idempotent.
            let full = try await hotline.run(["sync", "--peer", cluster.hub.url, "--token", hotline.token, "--json", "--full"])
            try #require(full.succeeded, "\(full)")
            let fullSummary = SyncSummary(raw: try JSON.object(full.stdout))
            #expect((fullSummary.pushed ?? 0) > 0 && (fullSummary.pulled ?? 0) > 0, "\(fullSummary)")
            #expect(fullSummary.unchanged == fullSummary.pulled, "\(fullSummary)")
            #expect(try await hotline.changes() == before.hotline, "hotline's feed changed after --full")
            #expect(try await cluster.hubDB.changes() == before.hub, "the hub's feed changed after --full")

            // Converged too: the same states on all three nodes.
            for (collection, id) in [
                ("residents", "res-0200"), ("charity_stock", "stk-0200"), ("hotline_calls", "call-0100"), ("mediation_cases", "med-0100"),
            ] {
                var views: Set<String> = []
                for node in [hotline, civil, cluster.hubDB] { views.insert(try await node.get(collection, id).replicatedView) }
                #expect(views.count == 1, "\(collection)/\(id) differs: \(views)")
            }
            #expect(jsonInt(try await civil.get("charity_stock", "stk-0200")["quantity"]) == 10)
        }
    }
}
