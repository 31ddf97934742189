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

/// Values too long for a command line, and files from Excel (a UTF-8 byte order mark).
@Suite("station put - and @FILE, import with a BOM")
struct FieldsInputTests {
    @Test func putReadsStdinAndFilesAndImportTakesABOM() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let long = String(repeating: "a long note, ", count: 20_000)
        try box.ok("put", "inventory", "rice", "-", stdin: Data(#"{"note": "\#(long)"}"#.utf8))
        #expect(fields(try box.record("inventory", "rice"))["note"] as? String == long)
        let file = try box.write("fields.json", "\u{FEFF}" + #"{"unit": "bag"}"#)
        try box.ok("put", "inventory", "oil", "@" + file)
        #expect(fields(try box.record("inventory", "oil"))["unit"] as? String == "bag")
        let lines = try box.write("stock.jsonl", "\u{FEFF}" + #"{"id": "salt", "unit": "box"}"# + "\n" + #"{"id": "flour", "unit": "sack"}"# + "\n")
        try box.ok("import", "inventory", lines)
        #expect(fields(try box.record("inventory", "salt"))["unit"] as? String == "box")
        let missing = try box.station("put", "inventory", "x", "@/nonexistent/fields.json")
        #expect(missing.status == 1 && missing.stderr.contains("cannot read"))
    }
}

@Suite("station list tables")
struct ListTableTests {
    @Test("A table quotes texts, shows newlines and cuts long values; --json is whole")
    func tablesQuoteAndCut() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let long = String(repeating: "x", count: 100)
        try box.ok(
            "put", "inventory", "rice", #"{"itemName": "Rice, 10 kg bag", "pointsPrice": 30, "note": "line one\nline two", "long": "\#(long)"}"#)
        let table = try box.ok("list", "inventory").stdout
        #expect(table.contains(#"itemName="Rice, 10 kg bag""#), "\(table)")
        #expect(table.contains("pointsPrice=30"))
        #expect(table.contains(#"note="line one\nline two""#))
        #expect(table.contains(#"long=""# + String(repeating: "x", count: 38) + "…"))
        let json = try jsonArray(box.ok("list", "inventory", "--json").stdout)
        #expect(fields(json[0])["long"] as? String == long)
    }
}

@Suite("station add on a record that does not exist")
struct AddCreateTests {
    @Test("A mistyped id makes no new record: refused, nothing written; --create makes it")
    func addToAMissingRecordNeedsCreate() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "rice", #"{"quantity": 10}"#)
        let before = try box.snapshot()
        let refused = try box.station("add", "inventory", "ricee", "quantity", "5", "--json")
        #expect(refused.status == 1 && refused.stderr.contains("does not exist") && refused.stderr.contains("--create"))
        #expect(refused.stdout.contains(#""error":"recordNotFound""#))
        #expect(try box.snapshot() == before)
        try box.ok("add", "inventory", "oil", "quantity", "3", "--create")
        #expect(jsonInt(fields(try box.record("inventory", "oil"))["quantity"]) == 3)
    }
}

/// The service center's schema indexes what clerks ask for and searches names (issue 15).
@Suite("station list from an index, station search")
struct IndexedListAndSearchTests {
    @Test func aClerkFindsResidentsByIndexAndByAnyThreeCharacters() async throws {
        let box = try Sandbox().initialize()
        try box.ok("import", "residents", try box.write("r.jsonl", try Self.residents()))
        let chen = try box.ok("list", "residents", "--where", "fullName^=Chen", "--sort", "birthYear", "--explain")
        #expect(chen.stderr.contains("plan: index on birthYear, in order"), "\(chen.stderr)")
        #expect(chen.stdout.contains("Chen Meilin") && chen.stdout.contains("陈"), "\(chen.stdout)")
        let scan = try box.ok("list", "residents", "--where", "householdSize>2", "--explain")
        #expect(scan.stderr.contains("plan: scan of"), "\(scan.stderr)")
        let found = try jsonArray(box.ok("search", "residents", "陈美", "--json").stdout)
        #expect(found.map { $0["id"] as? String } == ["res-cn"])
        let lujiang = try box.ok("search", "residents", "lujiang rd", "--limit", "1")
        #expect(
            lujiang.stdout.contains("1 record in residents holding \"lujiang rd\"") && lujiang.stdout.contains("more: --after"), "\(lujiang.stdout)")
        let none = try box.ok("search", "residents", "Nobody Here")
        #expect(none.stdout.contains("0 records"))
    }

    static func residents() throws -> String {
        let sample = try String(contentsOfFile: Seeds.directory + "/sample/residents.jsonl", encoding: .utf8)
        return sample + #"{"id": "res-cn", "fullName": "Chen 陈美林", "address": "鹭江路12号", "birthYear": 1950}"# + "\n"
    }
}
