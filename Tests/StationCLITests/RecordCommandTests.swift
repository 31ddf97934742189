import Foundation
import Testing

@Suite("station put, add, get, delete, list, changes")
struct RecordCommandTests {
    @Test func putSetsTheGivenFieldsAndKeepsTheOthers() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"unit": "bag", "shelf": "A1", "quantity": 10}"#)
        let result = try box.ok("put", "inventory", "rice", #"{"shelf": "B2", "note": "moved"}"#, "--json")
        // put --json prints the record after the write.
        let printed = try jsonObject(result.stdout)
        let record = try box.record("inventory", "rice")
        for r in [printed, record] {
            let f = fields(r)
            #expect(f["unit"] as? String == "bag")
            #expect(f["shelf"] as? String == "B2")
            #expect(f["note"] as? String == "moved")
            #expect(jsonInt(f["quantity"]) == 10)
            #expect(f.count == 4)
        }
    }

    @Test("Tables show look-alike ids whole: padding never cuts a combining accent off")
    func tablesKeepLookAlikeIdsWhole() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "cafe\u{301}", #"{"unit": "bag"}"#)
        try box.ok("put", "inventory", "caf\u{E9}", #"{"unit": "box"}"#)
        try box.ok("put", "inventory", "a-much-longer-id", #"{"unit": "crate"}"#)
        let table = try box.ok("list", "inventory").stdout
        let bytes = Array(table.utf8)
        #expect(bytes.contains(subsequence: Array("cafe\u{301}".utf8)), "\(table.unicodeScalars.map { String($0.value, radix: 16) })")
        #expect(bytes.contains(subsequence: Array("caf\u{E9}".utf8)))
    }

    @Test func putNullUnsetsAField() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"unit": "bag", "shelf": "A1"}"#)
        try box.ok("put", "inventory", "rice", #"{"shelf": null}"#)
        let f = fields(try box.record("inventory", "rice"))
        #expect(f["unit"] as? String == "bag")
        #expect(f["shelf"] == nil || f["shelf"] is NSNull)
    }

    @Test func addPositiveAndNegativeAmounts() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"quantity": 10}"#)
        try box.ok("add", "inventory", "rice", "quantity", "5")
        #expect(jsonInt(fields(try box.record("inventory", "rice"))["quantity"]) == 15)
        // A negative amount is an amount, not an option, wherever the options are.
        let minus = try box.ok("add", "inventory", "rice", "quantity", "-2", "--json")
        #expect(jsonInt(fields(try jsonObject(minus.stdout))["quantity"]) == 13)
        try box.run(["add", "inventory", "rice", "quantity", "-10", "--db", box.db]).expectSuccess()
        try box.ok("add", "inventory", "rice", "quantity", "+4")
        #expect(jsonInt(fields(try box.record("inventory", "rice"))["quantity"]) == 7)
        // The conventional `--` before a negative amount works too.
        try box.ok("add", "inventory", "rice", "quantity", "--", "-3")
        #expect(jsonInt(fields(try box.record("inventory", "rice"))["quantity"]) == 4)
    }

    @Test func addCreateMakesTheRecordAndCanGoBelowZero() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("add", "inventory", "oil", "quantity", "-3", "--create")
        let record = try box.record("inventory", "oil")
        #expect(jsonInt(fields(record)["quantity"]) == -3)
        #expect(jsonBool(record["deleted"]) == false)
    }

    @Test func getJSONHasTheDocumentedShape() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"unit": "bag", "quantity": 2}"#)
        let record = try box.record("inventory", "rice")
        #expect(record["collection"] as? String == "inventory")
        #expect(record["id"] as? String == "rice")
        #expect(fields(record)["unit"] as? String == "bag")
        #expect(jsonInt(fields(record)["quantity"]) == 2)
        #expect(jsonBool(record["deleted"]) == false)
        #expect(jsonBool(record["conflicted"]) == false)
        #expect(clock(record) == ["hotline": 1])
    }

    @Test func theClockCountsWrites() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"quantity": 1}"#)
        #expect(clock(try box.record("inventory", "rice")) == ["hotline": 1])
        try box.ok("add", "inventory", "rice", "quantity", "2")
        #expect(clock(try box.record("inventory", "rice")) == ["hotline": 2])
        try box.ok("put", "inventory", "rice", #"{"unit": "kg"}"#)
        #expect(clock(try box.record("inventory", "rice")) == ["hotline": 3])
        // Reads are not writes.
        try box.ok("get", "inventory", "rice")
        #expect(clock(try box.record("inventory", "rice")) == ["hotline": 3])
    }

    @Test func humanGetShowsTheFields() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"unit": "bag", "quantity": 12}"#)
        let text = try box.ok("get", "inventory", "rice").stdout
        #expect(text.contains("inventory/rice"))
        #expect(text.contains("bag"))
        #expect(text.contains("12"))
    }

    @Test func getOfARecordThatNeverExisted() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"quantity": 1}"#)
        for json in [true, false] {
            let result = try box.run(["get", "--db", box.db, "inventory", "ghost"] + (json ? ["--json"] : []))
            #expect(result.status == 1)
            // With --json the failure is JSON on stdout too, with the store's code.
            #expect(result.stdout == (json ? #"{"error":"recordNotFound","message":"inventory/ghost does not exist"}"# + "\n" : ""), "\(result)")
            #expect(result.stderr.contains("inventory/ghost"), "\(result)")
        }
    }

    @Test func aDeletedRecordPrintsAsDeleted() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"unit": "bag", "quantity": 5}"#)
        let deleted = try jsonObject(box.ok("delete", "inventory", "rice", "--json").stdout)
        #expect(jsonBool(deleted["deleted"]) == true)
        let record = try box.record("inventory", "rice")
        #expect(jsonBool(record["deleted"]) == true)
        #expect(record["id"] as? String == "rice")
        #expect(clock(record) == ["hotline": 2])
        // The tombstone keeps its last values.
        #expect(fields(record)["unit"] as? String == "bag")
        #expect(try box.ok("get", "inventory", "rice").stdout.contains("DELETED"))
    }

    @Test func deletingTwiceChangesNothing() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"quantity": 5}"#)
        try box.ok("delete", "inventory", "rice")
        let before = try box.snapshot()
        let again = try box.station("delete", "inventory", "rice")
        #expect(again.status == 0)
        #expect(again.stderr.contains("already deleted"))
        #expect(try box.snapshot() == before)
    }

    @Test func deleteOfAMissingRecordFails() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"quantity": 5}"#)
        let before = try box.snapshot()
        let result = try box.station("delete", "inventory", "ghost")
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("inventory/ghost"))
        #expect(try box.snapshot() == before)
    }

    @Test func putRecreatesADeletedRecord() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"unit": "bag", "quantity": 5}"#)
        try box.ok("delete", "inventory", "rice")
        try box.ok("put", "inventory", "rice", #"{"shelf": "C3"}"#)
        let record = try box.record("inventory", "rice")
        #expect(jsonBool(record["deleted"]) == false)
        #expect(fields(record)["shelf"] as? String == "C3")
    }

    @Test func listJSONAndIncludeDeleted() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        #expect(try box.list("inventory").isEmpty)
        for id in ["c", "a", "b"] { try box.ok("put", "inventory", id, #"{"name": "item \#(id)"}"#) }
        try box.ok("delete", "inventory", "b")

        let alive = try box.list("inventory")
        #expect(alive.map { $0["id"] as? String } == ["a", "c"])
        #expect(alive.allSatisfy { jsonBool($0["deleted"]) == false && $0["collection"] as? String == "inventory" })
        #expect(fields(alive[0])["name"] as? String == "item a")

        let all = try box.list("inventory", includeDeleted: true)
        #expect(all.map { $0["id"] as? String } == ["a", "b", "c"])
        #expect(all.map { jsonBool($0["deleted"]) } == [false, true, false])
    }

    @Test func humanListPrintsATable() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice-bag", #"{"unit": "bag"}"#)
        try box.ok("put", "inventory", "peanut-oil", #"{"unit": "bottle"}"#)
        try box.ok("put", "inventory", "old-quilt", #"{"unit": "piece"}"#)
        try box.ok("delete", "inventory", "old-quilt")

        let text = try box.ok("list", "inventory").stdout
        #expect(text.contains("rice-bag"))
        #expect(text.contains("peanut-oil"))
        #expect(text.contains("bottle"))
        #expect(!text.contains("old-quilt"))
        #expect(!text.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("["), "human output should not be JSON")

        let withDeleted = try box.ok("list", "inventory", "--include-deleted").stdout
        #expect(withDeleted.contains("old-quilt"))
        #expect(withDeleted.contains("deleted"))
    }

    @Test func changesListsEachRecordOnceAtItsLatestSequence() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "a", #"{"quantity": 1}"#)  // 1
        try box.ok("put", "inventory", "b", #"{"quantity": 2}"#)  // 2
        try box.ok("add", "inventory", "a", "quantity", "3")  // 3
        try box.ok("put", "inventory", "c", #"{"quantity": 4}"#)  // 4
        try box.ok("delete", "inventory", "b")  // 5

        let feed = try jsonObject(box.ok("changes", "--json").stdout)
        let changes = try #require(feed["changes"] as? [[String: Any]])
        #expect(changes.map { $0["id"] as? String } == ["a", "c", "b"])
        #expect(changes.map { jsonInt($0["seq"]) } == [3, 4, 5])
        #expect(changes.allSatisfy { $0["collection"] as? String == "inventory" })
        #expect(jsonInt(fields(changes[0])["quantity"]) == 4)
        #expect(clock(changes[0]) == ["hotline": 2])
        #expect(jsonBool(changes[2]["deleted"]) == true)
        #expect(jsonInt(feed["next"]) == 5)
        #expect(jsonBool(feed["more"]) == false)

        // --since filters: only what changed after 3.
        let since = try jsonObject(box.ok("changes", "--since", "3", "--json").stdout)
        #expect((since["changes"] as? [[String: Any]])?.map { $0["id"] as? String } == ["c", "b"])
        #expect(jsonInt(since["next"]) == 5)

        // Nothing after the last one: next stays where it was asked from.
        let none = try jsonObject(box.ok("changes", "--since", "5", "--json").stdout)
        #expect((none["changes"] as? [Any])?.isEmpty == true)
        #expect(jsonInt(none["next"]) == 5)
        #expect(jsonBool(none["more"]) == false)
    }

    @Test func changesPagesWithLimitAndMore() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        for id in ["a", "b", "c", "d", "e"] { try box.ok("put", "inventory", id, #"{"quantity": 1}"#) }
        var since: Int64 = 0
        var seen: [String] = []
        var pages = 0
        while true {
            let page = try jsonObject(box.ok("changes", "--since", String(since), "--limit", "2", "--json").stdout)
            seen += (page["changes"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
            since = try #require(jsonInt(page["next"]))
            pages += 1
            guard jsonBool(page["more"]) == true else { break }
            try #require(pages < 10)
        }
        #expect(seen == ["a", "b", "c", "d", "e"])
        #expect(pages == 3)
        #expect(since == 5)
    }

    @Test func humanChangesPrintsATable() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"quantity": 1}"#)
        let text = try box.ok("changes").stdout
        #expect(text.contains("inventory/rice"))
    }
}

@Suite("--db and $STATION_DB")
struct DatabaseOptionTests {
    @Test func dbDefaultsToTheEnvironmentVariable() async throws {
        let box = try Sandbox()
        let env = ["STATION_DB": box.db]
        try box.run(["init", "--node", "hotline", "--schema", box.write("schema.json", inventorySchema)], env: env).expectSuccess()
        #expect(FileManager.default.fileExists(atPath: box.db))
        try box.run(["put", "inventory", "rice", #"{"quantity": 3}"#], env: env).expectSuccess()
        try box.run(["add", "inventory", "rice", "quantity", "-1"], env: env).expectSuccess()
        let got = try box.run(["get", "inventory", "rice", "--json"], env: env)
        try got.expectSuccess()
        #expect(jsonInt(fields(try jsonObject(got.stdout))["quantity"]) == 2)
        // The same database through --db.
        #expect(jsonInt(fields(try box.record("inventory", "rice"))["quantity"]) == 2)
    }

    @Test func dbOptionWinsOverTheEnvironmentVariable() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let other = box.file("other.sqlite")
        try box.run(["init", "--db", other, "--node", "depot", "--schema", box.file("schema.json")]).expectSuccess()
        try box.run(["put", "--db", box.db, "inventory", "rice", "{}"], env: ["STATION_DB": other]).expectSuccess()
        #expect(try box.list("inventory").count == 1)
        let inOther = try box.run(["list", "inventory", "--json"], env: ["STATION_DB": other])
        #expect(try jsonArray(inOther.stdout).isEmpty)
    }

    @Test(arguments: [
        ["info"], ["list", "inventory"], ["get", "inventory", "rice"], ["put", "inventory", "rice", "{}"],
        ["init", "--node", "hotline"], ["changes"],
    ])
    func withNeitherDbNorEnvironmentItFails(_ args: [String]) throws {
        let box = try Sandbox()
        let result = try box.run(args)
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("--db"), "\(result)")
        #expect(result.stderr.contains("STATION_DB"), "\(result)")
        let left = try FileManager.default.contentsOfDirectory(atPath: box.dir).filter { !$0.hasPrefix(".std") }
        #expect(left.isEmpty)
    }

    @Test func anEmptyEnvironmentVariableCountsAsUnset() async throws {
        let box = try Sandbox()
        let result = try box.run(["info"], env: ["STATION_DB": ""])
        #expect(result.status != 0)
        #expect(result.stderr.contains("STATION_DB"))
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence: [UInt8]) -> Bool {
        guard subsequence.count <= count else { return false }
        return (0...(count - subsequence.count)).contains { Array(self[$0..<($0 + subsequence.count)]) == subsequence }
    }
}
