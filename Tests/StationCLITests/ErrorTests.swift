import Foundation
import Testing

/// Every rejected command: non-zero exit, a line on stderr naming what was wrong, nothing on
/// stdout, and the database exactly as before.
@Suite("errors leave the database unchanged")
struct ErrorTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var args: [String]  // after `--db PATH`
        var mentions: [String]
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(label: "malformed JSON object", args: ["put", "charity_stock", "stk-1", "{bad"], mentions: ["JSON"]),
        Case(label: "JSON array instead of object", args: ["put", "charity_stock", "stk-1", "[1]"], mentions: ["object", "array"]),
        Case(label: "JSON string instead of object", args: ["put", "charity_stock", "stk-1", #""hello""#], mentions: ["object"]),
        Case(label: "empty fields argument", args: ["put", "charity_stock", "stk-1", ""], mentions: ["JSON"]),
        Case(
            label: "unknown collection (put)", args: ["put", "charity_stok", "stk-1", "{}"],
            mentions: ["charity_stok", "charity_stock", "residents", "volunteers"]),
        Case(label: "unknown collection (add)", args: ["add", "nope", "stk-1", "quantity", "1"], mentions: ["nope", "charity_stock"]),
        Case(label: "unknown collection (get)", args: ["get", "nope", "stk-1"], mentions: ["nope", "charity_stock"]),
        Case(label: "unknown collection (list)", args: ["list", "nope", "--json"], mentions: ["nope", "charity_stock"]),
        Case(label: "unknown collection (delete)", args: ["delete", "nope", "stk-1"], mentions: ["nope", "charity_stock"]),
        Case(
            label: "string for a counter", args: ["put", "charity_stock", "stk-1", #"{"quantity":"ten"}"#],
            mentions: ["quantity", "counter", "integer"]),
        Case(
            label: "fraction for a counter", args: ["put", "charity_stock", "stk-1", #"{"quantity": 2.5}"#],
            mentions: ["quantity", "integer"]),
        Case(
            label: "string for a counter among good fields",
            args: ["put", "charity_stock", "stk-1", #"{"shelf": "Z9", "quantity": "ten"}"#], mentions: ["quantity"]),
        Case(
            label: "string for a counter on a new record", args: ["put", "charity_stock", "stk-new", #"{"quantity":"ten"}"#],
            mentions: ["quantity"]),
        Case(label: "invalid field name", args: ["put", "charity_stock", "stk-1", #"{"bad-name": 1}"#], mentions: ["bad-name"]),
        Case(label: "id as a field", args: ["put", "charity_stock", "stk-1", #"{"id": "other"}"#], mentions: [#""id""#]),
        Case(
            label: "add to a non-counter field", args: ["add", "charity_stock", "stk-1", "shelf", "1"],
            mentions: ["shelf", "counter"]),
        Case(
            label: "add to an undeclared field", args: ["add", "charity_stock", "stk-1", "colour", "1"],
            mentions: ["colour", "unknown field"]),
        Case(
            label: "a mistyped field name", args: ["put", "charity_stock", "stk-1", #"{"quantiy": 3}"#],
            mentions: [#"unknown field "quantiy" in charity_stock (did you mean "quantity"?)"#]),
        Case(
            label: "stock taken below zero", args: ["add", "charity_stock", "stk-1", "quantity", "-9"],
            mentions: ["charity_stock/stk-1", "quantity", "(now 8)", "at least 0"]),
        Case(
            label: "a day that is not in the calendar", args: ["put", "charity_stock", "stk-1", #"{"expiryDate": "2025-02-30"}"#],
            mentions: ["expiryDate", "YYYY-MM-DD"]),
        Case(
            label: "a resident without a name", args: ["put", "residents", "res-2", #"{"phone": "0592-2034-517"}"#],
            mentions: ["residents/res-2", "fullName", "required"]),
        Case(
            label: "a status not listed", args: ["put", "mediation_cases", "med-1", #"{"status": "finished"}"#],
            mentions: ["status", "finished", "in_mediation"]),
        Case(label: "fractional amount", args: ["add", "charity_stock", "stk-1", "quantity", "1.5"], mentions: ["1.5", "integer"]),
        Case(label: "word amount", args: ["add", "charity_stock", "stk-1", "quantity", "ten"], mentions: ["ten", "integer"]),
        Case(
            label: "amount out of range", args: ["add", "charity_stock", "stk-1", "quantity", "99999999999999999999"],
            mentions: ["integer"]),
        Case(label: "missing amount", args: ["add", "charity_stock", "stk-1", "quantity"], mentions: ["amount"]),
        Case(label: "two amounts", args: ["add", "charity_stock", "stk-1", "quantity", "1", "2"], mentions: ["amount"]),
        Case(
            label: "add to a deleted record", args: ["add", "charity_stock", "stk-gone", "quantity", "1"],
            mentions: ["stk-gone", "deleted"]),
        Case(
            label: "counter past the bound", args: ["add", "charity_stock", "stk-1", "quantity", "9223372036854775807"],
            mentions: ["quantity", "9007199254740991"]),
        Case(label: "delete of a missing record", args: ["delete", "charity_stock", "ghost"], mentions: ["charity_stock/ghost"]),
        Case(label: "get of a missing record", args: ["get", "charity_stock", "ghost", "--json"], mentions: ["charity_stock/ghost"]),
    ]

    @Test(arguments: cases)
    func rejectedCommandChangesNothing(_ c: Case) async throws {
        let box = try Sandbox().initialize()
        try box.ok("put", "charity_stock", "stk-1", #"{"itemName": "Rice", "shelf": "A1", "quantity": 10}"#)
        try box.ok("add", "charity_stock", "stk-1", "quantity", "-2")
        try box.ok("put", "charity_stock", "stk-gone", #"{"itemName": "Quilt", "quantity": 1}"#)
        try box.ok("delete", "charity_stock", "stk-gone")
        try box.ok("put", "residents", "res-1", #"{"fullName": "Wang Fang"}"#)
        let before = try box.snapshot()
        let listBefore = try box.ok("list", "charity_stock", "--json", "--include-deleted").stdout

        let result = try box.runOnDatabase(c.args)
        #expect(result.status != 0, "\(result)")
        try Self.expectNoResult(result, json: c.args.contains("--json"))
        #expect(!result.stderr.isEmpty)
        for word in c.mentions {
            #expect(result.stderr.contains(word), "stderr should mention \(word):\n\(result)")
        }
        #expect(try box.snapshot() == before, "the database changed")
        #expect(try box.ok("list", "charity_stock", "--json", "--include-deleted").stdout == listBefore)
    }

    /// Nothing on stdout; with `--json`, only the failure as JSON (`{"error": CODE, "message":
    /// TEXT}`, the message stderr has), so a program reading the JSON reads the failure too.
    static func expectNoResult(_ result: StationResult, json: Bool) throws {
        guard json else {
            #expect(result.stdout.isEmpty, "\(result)")
            return
        }
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let code = object?["error"] as? String, message = object?["message"] as? String
        #expect(code != nil && !(code ?? "").isEmpty && object?.count == 2, "\(result)")
        #expect(message.map { result.stderr.contains($0) } ?? false, "\(result)")
    }

    /// Commands on a database file that does not exist fail and do not create it.
    @Test(arguments: [
        ["put", "charity_stock", "stk-1", #"{"quantity": 1}"#], ["add", "charity_stock", "stk-1", "quantity", "1"],
        ["get", "charity_stock", "stk-1"], ["delete", "charity_stock", "stk-1"], ["list", "charity_stock"],
        ["changes", "--json"], ["info"], ["import", "charity_stock", "-"],
    ])
    func missingDatabaseIsNotCreated(_ args: [String]) throws {
        let box = try Sandbox()
        let result = try box.runOnDatabase(args, stdin: Data(#"{"id": "stk-1"}"#.utf8))
        #expect(result.status != 0)
        try Self.expectNoResult(result, json: args.contains("--json"))
        #expect(result.stderr.contains(box.db), "stderr should name the database:\n\(result)")
        #expect(result.stderr.contains("station init"), "stderr should say how to create one:\n\(result)")
        #expect(!FileManager.default.fileExists(atPath: box.db))
        let left = try FileManager.default.contentsOfDirectory(atPath: box.dir).filter { !$0.hasPrefix(".std") }
        #expect(left.isEmpty, "files were created: \(left)")
    }

    @Test("station serve off loopback without --token refuses to start unless --insecure-open")
    func serveOffLoopbackNeedsAToken() async throws {
        let box = try Sandbox().initialize()
        let open = try box.runOnDatabase(["serve", "--listen", "0.0.0.0:0"])
        #expect(open.status != 0, "\(open)")
        #expect(open.stderr.contains("--token") && open.stderr.contains("--insecure-open"), "\(open)")
    }

    @Test func aFileThatIsNotAStationDatabaseIsRejectedAndKept() async throws {
        let box = try Sandbox()
        try box.write("station.sqlite", "just some text, not SQLite\n")
        let result = try box.station("put", "charity_stock", "stk-1", "{}")
        #expect(result.status != 0)
        #expect(result.stderr.contains("not a station database"), "\(result)")
        #expect(try String(contentsOfFile: box.db, encoding: .utf8) == "just some text, not SQLite\n")
    }
}
