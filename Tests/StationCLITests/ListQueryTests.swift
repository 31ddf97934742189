import Foundation
import Testing

/// `station list` with conditions, an order and pages, as a clerk asks: "which stock items are below 5?"
@Suite("station list --where --sort --limit --after")
struct ListQueryTests {
    static let schema =
        #"{"collections": {"stock": {"fields": {"quantity": "counter", "name": "lww", "acknowledged": "lww"}, "default": "lww", "deleteConflict": "update-wins"}}}"#

    @Test func aClerksQuestionsAreAnswered() async throws {
        let box = try Sandbox().initialize(schema: Self.schema)
        for (id, name, quantity, acknowledged) in [
            ("s1", "Rice", 3, false), ("s2", "Oil", 12, true), ("s3", "Flour", 0, false), ("s4", "Salt", 7, false), ("s5", "Rice noodles", 4, true),
        ] {
            try box.ok("put", "stock", id, #"{"name": "\#(name)", "quantity": \#(quantity), "acknowledged": \#(acknowledged)}"#)
        }
        let low = try jsonArray(box.ok("list", "stock", "--where", "quantity<5", "--sort", "quantity", "--json").stdout)
        #expect(low.map { $0["id"] as? String } == ["s3", "s1", "s5"])
        let both = try jsonArray(box.ok("list", "stock", "--where", "quantity<5", "--where", "acknowledged=false", "--json").stdout)
        #expect(both.map { $0["id"] as? String } == ["s1", "s3"])
        let rice = try jsonArray(box.ok("list", "stock", "--where", "name^=Rice", "--json").stdout)
        #expect(rice.map { $0["id"] as? String } == ["s1", "s5"])
        let some = try jsonArray(box.ok("list", "stock", "--where", "name in (Oil, Salt)", "--sort=-quantity", "--json").stdout)
        #expect(some.map { $0["id"] as? String } == ["s2", "s4"])

        // Pages of two, by quantity descending: each ends with the cursor of the next.
        var seen: [String] = []
        var after: String?
        for _ in 0..<4 {
            var args = ["stock", "--sort=-quantity", "--limit", "2"]
            if let after { args += ["--after", after] }
            let out = try box.ok("list", args).stdout
            let more = out.split(separator: "\n").first { $0.hasPrefix("more: --after ") }
            seen += out.split(separator: "\n").compactMap { line in ["s1", "s2", "s3", "s4", "s5"].first { line.hasPrefix($0 + " ") } }
            guard let more else { break }
            after = String(more.dropFirst("more: --after '".count).dropLast())
        }
        #expect(seen == ["s2", "s4", "s5", "s1", "s3"])

        let table = try box.ok("list", "stock", "--where", "quantity<5", "--where", "acknowledged=false").stdout
        #expect(table.contains("2 records in stock where quantity<5 and acknowledged=false"))
        let bad = try box.station("list", "stock", "--where", "quantity")
        #expect(bad.status == 1 && bad.stderr.contains("is not a condition"))
    }
}
