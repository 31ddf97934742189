import Foundation
import Testing

/// Issue 15: a typed schema on the command line: CSV as spreadsheets save it, each cell read by
/// its field's type, and a refusal that names the line and field and imports nothing.
@Suite struct TypedImportTests {
    /// Excel's CSV: a byte order mark, CRLF, a quoted cell with a comma and a line break, a
    /// Chinese name, yes/no for a boolean, an empty cell.
    static let residents =
        "\u{FEFF}id,fullName,birthYear,lowIncome,phone,notes\r\n"
        + "res-1,陈美林,1940,yes,0592-2034-517,\"Lives alone, 3F\r\nneeds a ramp\"\r\n"
        + "res-2,\"Wu \"\"Lily\"\" Lihua\",1971,no,,\r\n"

    @Test func aCSVFileFromASpreadsheetImportsByType() async throws {
        let box = try Sandbox().initialize()
        let path = try box.write("residents.csv", Self.residents)
        #expect(try box.ok("import", "residents", path).stdout.contains("imported 2 records"))
        let one = fields(try box.record("residents", "res-1"))
        #expect(one["fullName"] as? String == "陈美林")
        #expect(jsonInt(one["birthYear"]) == 1940)
        #expect(jsonBool(one["lowIncome"]) == true)
        #expect(one["notes"] as? String == "Lives alone, 3F\r\nneeds a ramp")  // inside quotes, a CRLF is the cell's
        let two = fields(try box.record("residents", "res-2"))
        #expect(two["fullName"] as? String == "Wu \"Lily\" Lihua")
        #expect(two["phone"] == nil && two["notes"] == nil)
        // A later file updates without repeating the required name.
        let update = try box.write("phones.csv", "id,phone\nres-2,150-0592-6642\n")
        try box.ok("import", "residents", update)
        #expect(fields(try box.record("residents", "res-2"))["phone"] as? String == "150-0592-6642")
        // A blank line inside a quoted cell is the cell's; between rows, no row.
        let blank = try box.write("blank.csv", "id,fullName,notes\r\n\r\nres-3,Lin,\"a\r\n\r\nb\"\r\n\r\n")
        try box.ok("import", "residents", blank)
        #expect(fields(try box.record("residents", "res-3"))["notes"] as? String == "a\r\n\r\nb")
        // A record made by one line and filled in by a later one, in another batch.
        let twice = try box.write(
            "twice.jsonl",
            #"{"id": "res-9", "fullName": "Lin"}"# + "\n" + #"{"id": "res-8", "fullName": "Wu"}"# + "\n"
                + #"{"id": "res-9", "phone": "137-7508-1290"}"# + "\n")
        try box.ok("import", "residents", twice, "--batch-size", "1")
        #expect(fields(try box.record("residents", "res-9"))["phone"] as? String == "137-7508-1290")
    }

    @Test(arguments: [
        ("id,fullName,birthYear\nres-1,Lin,1940\nres-2,Wu,nineteen\n", ["line 3", "birthYear", "integer"]),
        ("id,fullName,birthYaer\nres-1,Lin,1940\n", ["line 1", "column 3", #"did you mean "birthYear""#]),
        ("fullName\nLin\n", ["line 1", #""id" column"#]),
        ("id,fullName\nres-1,Lin\nres-2\n", ["line 3", "1 cells", "2 columns"]),
        ("id,fullName\nres-1,Lin\nres-2,\n", ["line 3", "fullName", "required"]),
        ("id,fullName\nres-1,\"Lin\n", ["line 2", "not closed"]),
        ("id,fullName,notes,fullName\nres-1,Wang Fang,first,Li Na\n", ["line 1", "columns 2 and 4 both name fullName"]),
        ("id,fullName,id\nres-1,Lin,res-2\n", ["line 1", "columns 1 and 3 both name id"]),
        ("id,fullName\nres-1,\"Wang\" Fang\n", ["line 2", "text after a closing quote"]),
    ])
    func aBadCSVIsRefusedWholeNamingTheLine(_ text: String, _ mentions: [String]) async throws {
        let box = try Sandbox().initialize()
        let before = try box.snapshot()
        let result = try box.station("import", "residents", try box.write("bad.csv", text))
        #expect(result.status != 0)
        for word in mentions { #expect(result.stderr.contains(word), "\(word): \(result.stderr)") }
        #expect(try box.snapshot() == before)
    }

    @Test func jsonLinesAreCheckedByTypeToo() async throws {
        let box = try Sandbox().initialize()
        let path = try box.write("stock.jsonl", #"{"id": "stk-1", "itemName": "Rice", "quantiy": 3}"# + "\n")
        let result = try box.station("import", "charity_stock", path)
        #expect(result.status != 0)
        #expect(
            result.stderr.contains(#"line 1: charity_stock/stk-1: unknown field "quantiy" in charity_stock (did you mean "quantity"?)"#),
            "\(result.stderr)")
    }

    @Test func aCounterCannotBeGivenOutBelowZero() async throws {
        let box = try Sandbox().initialize()
        try box.ok("put", "charity_stock", "stk-1", #"{"itemName": "Rice", "quantity": 2}"#)
        try box.ok("add", "charity_stock", "stk-1", "quantity", "-2")
        let result = try box.station("add", "charity_stock", "stk-1", "quantity", "-1")
        #expect(result.status != 0)
        #expect(result.stderr.contains(#"adding -1 to "quantity" (now 0) would leave -1; it holds at least 0"#), "\(result.stderr)")
        #expect(jsonInt(fields(try box.record("charity_stock", "stk-1"))["quantity"]) == 0)
    }

    @Test func theSchemaShowsEachFieldsDeclaration() async throws {
        let box = try Sandbox().initialize()
        let text = try box.run(["schema", "show", "--db", box.db, "charity_stock"]).stdout
        #expect(text.contains("counter integer ≥0") && text.contains("typed: only these fields"), "\(text)")
        let json = try jsonObject(box.run(["schema", "show", "--db", box.db, "residents", "--json"]).stdout)
        let fullName = (json["fields"] as? [String: Any])?["fullName"] as? [String: Any]
        #expect(fullName?["type"] as? String == "string" && jsonBool(fullName?["required"]) == true, "\(json)")
    }
}
