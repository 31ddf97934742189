import Foundation
import Testing

@Suite("station init")
struct InitTests {
    @Test func createsADatabaseWithTheDefaultSchema() async throws {
        let box = try Sandbox()
        let result = try box.ok("init", "--node", "hotline")
        #expect(FileManager.default.fileExists(atPath: box.db))
        #expect(result.stdout.contains("hotline"))
        #expect(result.stderr.isEmpty)

        let info = try jsonObject(box.ok("info", "--json").stdout)
        #expect(info["node"] as? String == "hotline")
        #expect(jsonInt(info["lastSeq"]) == 0)
        // The collections are those of seeds/schema.json.
        let seedText = try String(contentsOfFile: Seeds.directory + "/schema.json", encoding: .utf8)
        let seedCollections = try #require(try jsonObject(seedText)["collections"] as? [String: Any])
        let schema = try #require(info["schema"] as? [String: Any])
        let collections = try #require(schema["collections"] as? [String: Any])
        #expect(Set(collections.keys) == Set(seedCollections.keys))
        #expect(!collections.isEmpty)
    }

    @Test func refusesToOverwriteAnExistingDatabase() async throws {
        let box = try Sandbox().initialize()
        try box.ok("put", "charity_stock", "stk-1", #"{"quantity": 4}"#)
        let before = try #require(FileManager.default.contents(atPath: box.db))

        let result = try box.station("init", "--node", "other")
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderrLines.count == 1, "expected one line on stderr:\n\(result)")
        #expect(result.stderr.contains("exists"))
        #expect(result.stderr.contains(box.db))
        #expect(FileManager.default.contents(atPath: box.db) == before, "the database file changed")
        // Still the original node and record.
        #expect(jsonInt(fields(try box.record("charity_stock", "stk-1"))["quantity"]) == 4)
        #expect(try jsonObject(box.ok("info", "--json").stdout)["node"] as? String == "hotline")
    }

    @Test func refusesToOverwriteAnyExistingFile() async throws {
        let box = try Sandbox()
        try box.write("station.sqlite", "precious notes\n")
        let result = try box.station("init", "--node", "hotline")
        #expect(result.status != 0)
        #expect(result.stderrLines.count == 1, "expected one line on stderr:\n\(result)")
        #expect(result.stderr.contains("exists"))
        #expect(try String(contentsOfFile: box.db, encoding: .utf8) == "precious notes\n")
    }

    @Test(arguments: ["Hotline", "", String(repeating: "a", count: 65), "a_b", "civil affairs", "hot.line"])
    func rejectsBadNodeNames(_ name: String) async throws {
        let box = try Sandbox()
        let result = try box.station("init", "--node", name)
        #expect(result.status != 0)
        #expect(result.stderr.contains("node"), "stderr should name the node name problem:\n\(result)")
        #expect(!FileManager.default.fileExists(atPath: box.db))
    }

    @Test(arguments: ["a", "civil-affairs", "station-7", String(repeating: "z", count: 64)])
    func acceptsValidNodeNames(_ name: String) async throws {
        let box = try Sandbox()
        try box.ok("init", "--node", name)
        #expect(try jsonObject(box.ok("info", "--json").stdout)["node"] as? String == name)
    }

    @Test func usesACustomSchemaFile() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let info = try jsonObject(box.ok("info", "--json").stdout)
        let collections = try #require((info["schema"] as? [String: Any])?["collections"] as? [String: Any])
        #expect(Array(collections.keys) == ["inventory"])
        let inventory = try #require(collections["inventory"] as? [String: Any])
        #expect((inventory["fields"] as? [String: Any])?["quantity"] as? String == "counter")
        #expect(inventory["default"] as? String == "lww")
        #expect(inventory["deleteConflict"] as? String == "update-wins")

        // The counter works, other fields are lww, and seed collections do not exist.
        try box.ok("put", "inventory", "rice", #"{"quantity": 10, "unit": "bag"}"#)
        try box.ok("add", "inventory", "rice", "quantity", "-3")
        #expect(jsonInt(fields(try box.record("inventory", "rice"))["quantity"]) == 7)
        let unknown = try box.station("put", "charity_stock", "stk-1", "{}")
        #expect(unknown.status != 0)
        #expect(unknown.stderr.contains("inventory"))
    }

    struct BadSchema: Sendable, CustomTestStringConvertible {
        var label: String
        var text: String?  // nil: the file does not exist
        var mentions: [String]
        var testDescription: String { label }
    }

    @Test(arguments: [
        BadSchema(label: "malformed JSON", text: #"{"collections": {"inventory": "#, mentions: ["schema", "JSON"]),
        BadSchema(label: "not an object", text: "[1, 2]", mentions: ["schema", "object"]),
        BadSchema(
            label: "unknown policy", text: #"{"collections": {"inventory": {"fields": {"quantity": "countr"}}}}"#,
            mentions: ["quantity", "counter"]),
        BadSchema(label: "unknown key", text: #"{"collections": {"inventory": {"feilds": {}}}}"#, mentions: ["feilds"]),
        BadSchema(label: "bad collection name", text: #"{"collections": {"Inventory": {}}}"#, mentions: ["Inventory"]),
        BadSchema(
            label: "counter as default", text: #"{"collections": {"inventory": {"default": "counter"}}}"#,
            mentions: ["inventory.default"]),
        BadSchema(
            label: "bad deleteConflict", text: #"{"collections": {"inventory": {"deleteConflict": "never"}}}"#,
            mentions: ["deleteConflict"]),
        BadSchema(label: "missing file", text: nil, mentions: ["schema.json"]),
    ])
    func rejectsABadSchemaFileAndCreatesNoDatabase(_ bad: BadSchema) throws {
        let box = try Sandbox()
        let schemaPath = box.file("schema.json")
        if let text = bad.text { try box.write("schema.json", text) }
        let result = try box.station("init", "--node", "hotline", "--schema", schemaPath)
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        for word in bad.mentions {
            #expect(result.stderr.contains(word), "stderr should mention \(word):\n\(result)")
        }
        #expect(!FileManager.default.fileExists(atPath: box.db))
        // No leftovers either (temporary files of a half-made database).
        let left = try FileManager.default.contentsOfDirectory(atPath: box.dir).filter { !$0.hasPrefix(".std") }
        #expect(left == (bad.text == nil ? [] : ["schema.json"]))
    }

    @Test func failsWhenTheDirectoryDoesNotExist() async throws {
        let box = try Sandbox()
        let path = box.file("no/such/dir/station.sqlite")
        let result = try box.run(["init", "--db", path, "--node", "hotline"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("does not exist"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }
}
