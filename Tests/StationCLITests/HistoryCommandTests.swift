import Foundation
import Testing

@Suite("station history and --by")
struct HistoryCommandTests {
    @Test func historyShowsWhoChangedWhatFromWhatToWhat() async throws {
        let box = try Sandbox().initialize(node: "charity-supermarket")
        try box.ok("put", "charity_stock", "stk-1", #"{"itemName": "Rice, 10 kg bag", "quantity": 20, "pointsPrice": 30}"#, "--by", "Wang Fang")
        try box.ok("add", "charity_stock", "stk-1", "quantity", "-2", "--by", "Li Na")
        let byEnv = try box.run(
            ["add", "--db", box.db, "charity_stock", "stk-1", "quantity", "5"], env: ["STATION_USER": "\u{9648}\u{6770}"])
        try #require(byEnv.status == 0, "\(byEnv)")
        try box.ok("put", "charity_stock", "stk-1", #"{"pointsPrice": 28}"#)
        let text = try box.ok("history", "charity_stock", "stk-1").stdout
        let lines = text.split(separator: "\n").map(String.init)
        #expect(lines.count == 10, "\(text)")
        #expect(lines[0].hasSuffix("created by Wang Fang at charity-supermarket"), "\(text)")
        #expect(lines.contains { $0.contains("itemName") && $0.contains(#""Rice, 10 kg bag""#) })
        #expect(lines.contains { $0.hasSuffix("updated by Li Na at charity-supermarket") })
        #expect(lines.contains { $0.contains("quantity") && $0.contains("20 → 18 (−2)") })
        #expect(lines.contains { $0.hasSuffix("updated by \u{9648}\u{6770} at charity-supermarket") })
        #expect(lines.contains { $0.contains("18 → 23 (+5)") })
        #expect(lines.contains { $0.hasSuffix("updated at charity-supermarket") })  // nobody said
        #expect(lines.contains { $0.contains("pointsPrice") && $0.contains("30 → 28") })

        let json = try jsonArray(try box.ok("history", "charity_stock", "stk-1", "--json").stdout)
        #expect(json.map { $0["kind"] as? String } == ["created", "updated", "updated", "updated"])
        let writes = json[1]["writes"] as? [[String: Any]]
        #expect(writes?.first?["author"] as? String == "Li Na")
        #expect(writes?.first?["node"] as? String == "charity-supermarket")
        let changes = json[1]["changes"] as? [[String: Any]]
        #expect(changes?.first?["moved"] as? Int == -2)
        // --limit keeps the newest.
        let last = try jsonArray(try box.ok("history", "charity_stock", "stk-1", "--json", "--limit", "1").stdout)
        #expect(last.count == 1 && (last[0]["n"] as? Int) == (json[3]["n"] as? Int))
    }

    @Test func aNameThatIsNotOneIsRefusedAndChangesNothing() async throws {
        let box = try Sandbox().initialize(node: "charity-supermarket")
        try box.ok("put", "charity_stock", "stk-1", #"{"itemName": "Rice", "quantity": 2}"#)
        let before = try box.snapshot()
        for name in ["", "  ", "tab\there", String(repeating: "x", count: 129)] {
            let result = try box.station("put", "charity_stock", "stk-1", #"{"quantity": 3}"#, "--by", name)
            #expect(result.status == 1, "\(name): \(result)")
            #expect(result.stderr.contains("is not a person's name"), "\(result)")
        }
        let byEnv = try box.run(["delete", "--db", box.db, "charity_stock", "stk-1"], env: ["STATION_USER": "a\u{1}b"])
        #expect(byEnv.status == 1 && byEnv.stderr.contains("$STATION_USER"), "\(byEnv)")
        // With --json the error is the body, coded.
        let json = try box.station("put", "charity_stock", "stk-1", #"{"quantity": 3}"#, "--by", "tab\there", "--json")
        #expect(json.status == 1 && (try? jsonObject(json.stdout))?["error"] as? String == "invalidPerson", "\(json)")
        #expect(try box.snapshot() == before)
    }

    @Test func aRecordNeverHereIsNotFound() async throws {
        let box = try Sandbox().initialize(node: "charity-supermarket")
        let result = try box.station("history", "charity_stock", "nope")
        #expect(result.status == 1 && result.stderr.contains("does not exist"), "\(result)")
        #expect(try box.station("history", "no_such", "x").status == 1)
    }
}
