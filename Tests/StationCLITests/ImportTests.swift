import Foundation
import Testing

@Suite("station import")
struct ImportTests {
    /// `count` JSON Lines for inventory: id r0001…, quantity = n, name "item n"; `replace` swaps
    /// given line numbers (1-based) for other text.
    static func lines(_ count: Int, replace: [Int: String] = [:]) -> String {
        (1...count).map { n in
            replace[n] ?? #"{"id": "r\#(String(format: "%04d", n))", "quantity": \#(n), "name": "item \#(n)"}"#
        }.joined(separator: "\n") + "\n"
    }

    static func checkImported(_ box: Sandbox, count: Int) throws {
        let records = try box.list("inventory")
        #expect(records.count == count)
        let byID = Dictionary(uniqueKeysWithValues: records.compactMap { r in (r["id"] as? String).map { ($0, r) } })
        #expect(byID.count == count)
        for n in [1, 999, 1000, 1001, 1700, 2001, count] where n <= count {
            let id = "r" + String(format: "%04d", n)
            let record = try #require(byID[id], "\(id) missing")
            #expect(jsonInt(fields(record)["quantity"]) == Int64(n))
            #expect(fields(record)["name"] as? String == "item \(n)")
            #expect(clock(record) == ["hotline": 1])
        }
        let feed = try jsonObject(box.ok("changes", "--json", "--limit", "1000000").stdout)
        #expect((feed["changes"] as? [Any])?.count == count)
    }

    @Test func importsAFileInSeveralBatches() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let path = try box.write("records.jsonl", Self.lines(2500))
        let result = try box.ok("import", "inventory", path, "--batch-size", "1000")
        #expect(result.stdout.contains("2500"))
        try Self.checkImported(box, count: 2500)
        let info = try jsonObject(box.ok("info", "--json").stdout)
        #expect(jsonInt(info["lastSeq"]) == 2500)
    }

    @Test func importsFromStandardInput() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let result = try box.ok("import", "inventory", "-", "--batch-size", "1000", stdin: Data(Self.lines(2500).utf8))
        #expect(result.stdout.contains("2500"))
        try Self.checkImported(box, count: 2500)
    }

    @Test func eachLineIsAPutThatKeepsOtherFields() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "r0001", #"{"shelf": "A1", "quantity": 50}"#)
        try box.ok("add", "inventory", "r0001", "quantity", "-5")
        let text = """
            {"id": "r0001", "name": "rice"}

            {"id": "r0002", "quantity": -4}\r
            {"id": "r0001", "quantity": 7}
            """  // blank line, CRLF and no final newline
        try box.ok("import", "inventory", "-", stdin: Data(text.utf8))
        let r1 = try box.record("inventory", "r0001")
        #expect(fields(r1)["shelf"] as? String == "A1")
        #expect(fields(r1)["name"] as? String == "rice")
        #expect(jsonInt(fields(r1)["quantity"]) == 7)
        #expect(jsonInt(fields(try box.record("inventory", "r0002"))["quantity"]) == -4)
        #expect(try box.list("inventory").count == 2)
    }

    @Test func anEmptyInputImportsNothing() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let before = try box.snapshot()
        let result = try box.ok("import", "inventory", "-")
        #expect(result.stdout.contains("0"))
        #expect(try box.snapshot() == before)
    }

    struct BadLine: Sendable, CustomTestStringConvertible {
        var label: String
        var line: String
        var mentions: [String]
        var testDescription: String { label }
    }

    static let badLines: [BadLine] = [
        BadLine(label: "malformed JSON", line: #"{"id": "r1700", "quantity": "#, mentions: ["JSON"]),
        BadLine(label: "counter as a string", line: #"{"id": "r1700", "quantity": "ten"}"#, mentions: ["quantity", "counter"]),
        BadLine(label: "missing id", line: #"{"quantity": 3}"#, mentions: [#""id""#]),
        BadLine(label: "numeric id", line: #"{"id": 1700, "quantity": 3}"#, mentions: [#""id""#]),
        BadLine(label: "empty id", line: #"{"id": "", "quantity": 3}"#, mentions: ["id"]),
        BadLine(label: "not an object", line: "[1700]", mentions: ["object"]),
        BadLine(label: "invalid field name", line: #"{"id": "r1700", "bad-field": 1}"#, mentions: ["bad-field"]),
    ]

    @Test(arguments: badLines)
    func aBadLineStopsTheImportAndChangesNothing(_ bad: BadLine) async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "r0005", #"{"quantity": 99, "name": "before"}"#)
        try box.ok("put", "inventory", "keep", #"{"quantity": 1}"#)
        let before = try box.snapshot()
        let path = try box.write("records.jsonl", Self.lines(2500, replace: [1700: bad.line]))

        let result = try box.station("import", "inventory", path, "--batch-size", "1000")
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty, "\(result)")
        #expect(result.stderr.contains("line 1700"), "stderr should name the line:\n\(result)")
        for word in bad.mentions {
            #expect(result.stderr.contains(word), "stderr should mention \(word):\n\(result)")
        }
        #expect(try box.snapshot() == before, "the import changed the database")
        #expect(try box.list("inventory").count == 2)
    }

    @Test func aBadLineOnStandardInputChangesNothing() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        try box.ok("put", "inventory", "keep", #"{"quantity": 1}"#)
        let before = try box.snapshot()
        let input = Self.lines(2500, replace: [2499: #"{"id": "r2499", "quantity": 1.5}"#])
        let result = try box.station("import", "inventory", "-", "--batch-size", "1000", stdin: Data(input.utf8))
        #expect(result.status != 0)
        #expect(result.stderr.contains("line 2499"), "\(result)")
        #expect(try box.snapshot() == before)
    }

    @Test func unknownCollectionOrMissingFileChangesNothing() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let path = try box.write("records.jsonl", Self.lines(10))
        let before = try box.snapshot()

        let unknown = try box.station("import", "stock", path)
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("stock"))
        #expect(unknown.stderr.contains("inventory"), "the message should list the known collections:\n\(unknown)")

        let missing = try box.station("import", "inventory", box.file("nope.jsonl"))
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("nope.jsonl"))

        let badBatch = try box.station("import", "inventory", path, "--batch-size", "0")
        #expect(badBatch.status != 0)
        #expect(badBatch.stderr.contains("batch-size"))

        #expect(try box.snapshot() == before)
    }

    /// Lines are checked against an empty record before anything is written, but applied to the
    /// stored record in batches of their own transactions. A line that only fails against what is
    /// stored (here a counter stocktake that overflows) fails in a later batch, after the earlier
    /// batches were committed: a partial import, and an error without the line number.
    /// A line can pass the check and still fail against the stored record (here one that 1024
    /// other databases wrote already, the most a record holds). Its batch is rolled back whole,
    /// earlier batches stay, and the message says so.
    @Test func aLineThatFailsAgainstTheStoredRecordRollsBackItsBatchAndSaysSo() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        // r2000 arrives from a change file, written by 1024 nodes.
        let other = try Sandbox().initialize(node: "other", schema: inventorySchema)
        let header = try other.ok("export", "-").stdout.split(separator: "\n")[0].replacingOccurrences(of: #""count":0"#, with: #""count":1"#)
        let nodes = (0..<1024).map { "n\($0)" }
        let clock = nodes.map { #""\#($0)":1"# }.joined(separator: ",")
        let exists = nodes.map { #"["\#($0)",1,1,true]"# }.joined(separator: ",")
        let change = #"{"collection":"inventory","id":"r2000","seq":1,"state":{"clock":{\#(clock)},"exists":[\#(exists)],"fields":{}}}"#
        try box.ok("merge", "--trust-relay", box.write("wide.changes", header + "\n" + change + "\n"))
        let input = (1...2500).map { #"{"id": "r\#(String(format: "%04d", $0))", "quantity": 1}"# }.joined(separator: "\n")
        let result = try box.station("import", "inventory", "-", "--batch-size", "1000", stdin: Data(input.utf8))
        #expect(result.status == 1, "\(result)")
        #expect(result.stderr.contains("line 2000:"), "\(result)")
        #expect(result.stderr.contains("the 1000 records before line 1001 were imported in earlier batches"), "\(result)")
        #expect(result.stdout.isEmpty)
        let ids = try box.list("inventory").compactMap { $0["id"] as? String }.sorted()
        #expect(ids.count == 1001)
        #expect(ids.first == "r0001" && ids.contains("r1000") && !ids.contains("r1001"))
    }
}
