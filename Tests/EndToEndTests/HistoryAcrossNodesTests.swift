import Foundation
import Testing

/// Who wrote what travels with the records: a clerk's name given at one station is in the other
/// station's history and conflicts, and in the hub's, after syncing through it.
@Suite("History and authors across nodes")
struct HistoryAcrossNodesTests {
    @Test("A write's author reaches another station through the hub; each side of a conflict names its author")
    func authorsTravelThroughTheHub() async throws {
        try await withCluster(["charity-supermarket", "volunteer-services"]) { cluster in
            let charity = cluster["charity-supermarket"], volunteers = cluster["volunteer-services"]
            try await charity.ok(["put", "charity_stock", "stk-1", #"{"itemName": "Rice, 10 kg bag", "quantity": 20}"#, "--by", "Wang Fang"])
            try await charity.sync()
            try await volunteers.sync()
            try await volunteers.ok(["add", "charity_stock", "stk-1", "quantity", "5", "--by", "\u{9648}\u{6770}"])
            try await charity.ok(["add", "charity_stock", "stk-1", "quantity", "-2", "--by", "Li Na"])
            try await charity.ok(["put", "charity_stock", "stk-1", #"{"itemName": "Rice, 10kg"}"#, "--by", "Li Na"])
            try await volunteers.ok(["put", "charity_stock", "stk-1", #"{"itemName": "Rice (10 kg)"}"#, "--by", "\u{9648}\u{6770}"])
            try await volunteers.sync()
            try await charity.sync()
            try await volunteers.sync()

            // The volunteers' station: created from the hub with Wang Fang's write, then its own
            // add, then Li Na's writes merged.
            let history = try JSON.array(try await volunteers.ok(["history", "charity_stock", "stk-1", "--json"]).stdout)
            let kinds = history.map { $0["kind"] as? String ?? "?" }
            #expect(kinds.first == "created" && kinds.contains("merged"), "\(JSON.canonical(history))")
            let created = history[0]
            #expect(created["peer"] as? String == "hub", "\(JSON.canonical(created))")
            #expect((created["writes"] as? [[String: Any]])?.first?["author"] as? String == "Wang Fang", "\(JSON.canonical(created))")
            let merged = try #require(history.last { $0["kind"] as? String == "merged" })
            let authors = ((merged["writes"] as? [[String: Any]]) ?? []).compactMap { $0["author"] as? String }
            #expect(authors == ["Li Na", "Li Na"], "the add and the put: \(JSON.canonical(merged))")
            let moved = ((merged["changes"] as? [[String: Any]]) ?? []).first { $0["field"] as? String == "quantity" }
            #expect(jsonInt(moved?["moved"]) == -2, "\(JSON.canonical(merged))")

            // The people's text names them too.
            let text = try await volunteers.ok(["history", "charity_stock", "stk-1"]).stdout
            #expect(text.contains("merged from hub: Li Na at charity-supermarket"), "\(text)")
            #expect(text.contains("20 → 25 (+5)") || text.contains("(+5)"), "\(text)")

            // The itemName conflict names each side's author, the same on every node.
            for node in [charity, volunteers] {
                let listed = try await node.conflictTool.list(collection: "charity_stock")
                let id = try #require(listed.first?["id"] as? String, "\(node.name): \(JSON.canonical(listed))")
                let show = try await node.conflictTool.show(id)
                let values = (show["values"] as? [[String: Any]]) ?? []
                #expect(Set(values.compactMap { $0["author"] as? String }) == ["Li Na", "\u{9648}\u{6770}"], "\(node.name): \(JSON.canonical(show))")
            }
            // A hub keeps no history of its own, but holds the authors in the states.
            let hubHistory = try await cluster.hubDB.run(["history", "charity_stock", "stk-1"])
            #expect(hubHistory.stdout.contains("keeps no history"), "\(hubHistory)")
        }
    }
}
