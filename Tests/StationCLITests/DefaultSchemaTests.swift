import Foundation
import Testing

@Suite("the default schema and the sample data")
struct DefaultSchemaTests {
    @Test func charityStockQuantityIsACounter() async throws {
        let box = try Sandbox().initialize()
        try box.ok("put", "charity_stock", "stk-0001", #"{"itemName": "Rice, 10 kg bag", "quantity": 10}"#)
        try box.ok("add", "charity_stock", "stk-0001", "quantity", "5")
        try box.ok("add", "charity_stock", "stk-0001", "quantity", "-2")
        let record = try box.record("charity_stock", "stk-0001")
        #expect(jsonInt(fields(record)["quantity"]) == 13)
        #expect(fields(record)["itemName"] as? String == "Rice, 10 kg bag")
        #expect(clock(record) == ["hotline": 3])
    }

    @Test func seedCollectionsExist() async throws {
        let box = try Sandbox().initialize()
        let info = try box.ok("info").stdout
        for name in ["residents", "service_requests", "charity_stock", "hotline_calls", "volunteer_shifts"] {
            #expect(info.contains(name))
        }
        // A collection of each file in seeds/sample accepts writes.
        for file in try Seeds.sampleFiles() {
            let collection = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            #expect(try box.list(collection).isEmpty)
        }
    }

    @Test func sampleFilesImportIntoTheirCollections() async throws {
        let box = try Sandbox().initialize()
        let files = try Seeds.sampleFiles()
        try #require(!files.isEmpty, "no seeds/sample/*.jsonl found under \(Seeds.directory)")
        var total = 0
        for file in files {
            let collection = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
            let result = try box.station("import", collection, file)
            #expect(result.status == 0, "importing \(file):\n\(result)")
            // Every line's id is there, with its values.
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let lines = try text.split(separator: "\n").filter { !$0.allSatisfy(\.isWhitespace) }
                .map { try jsonObject(String($0)) }
            let records = try box.list(collection)
            #expect(records.count == lines.count, "\(collection)")
            let byID = Dictionary(uniqueKeysWithValues: records.compactMap { r in (r["id"] as? String).map { ($0, r) } })
            for line in lines {
                let id = try #require(line["id"] as? String)
                let record = try #require(byID[id], "\(collection)/\(id) was not imported")
                for (name, value) in line where name != "id" && !(value is NSNull) {
                    #expect(jsonEqual(fields(record)[name], value), "\(collection)/\(id).\(name)")
                }
            }
            total += lines.count
        }
        let info = try jsonObject(box.ok("info", "--json").stdout)
        #expect(jsonInt(info["lastSeq"]) == Int64(total))
    }
}

@Suite("station --help and info")
struct HelpAndInfoTests {
    @Test func helpListsTheCommands() async throws {
        let box = try Sandbox()
        let result = try box.run(["--help"])
        #expect(result.status == 0)
        for command in ["init", "put", "add", "get", "list", "delete", "changes", "import", "info"] {
            #expect(result.stdout.contains(command), "--help should mention \(command)")
        }
        #expect(result.stdout.contains("STATION_DB"))
    }

    @Test(arguments: ["init", "put", "add", "get", "list", "delete", "changes", "import", "info"])
    func eachCommandHasHelp(_ command: String) async throws {
        let box = try Sandbox()
        let result = try box.run([command, "--help"])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("--db"))
    }

    @Test func anUnknownCommandFails() async throws {
        let box = try Sandbox()
        let result = try box.run(["frobnicate"])
        #expect(result.status != 0)
        #expect(!result.stderr.isEmpty)
    }

    @Test func infoShowsTheNodeCollectionsAndCounts() async throws {
        let box = try Sandbox().initialize(node: "civil-affairs")
        try box.ok("put", "charity_stock", "a", #"{"quantity": 1}"#)
        try box.ok("put", "charity_stock", "b", #"{"quantity": 1}"#)
        try box.ok("delete", "charity_stock", "b")

        let text = try box.ok("info").stdout
        #expect(text.contains("civil-affairs"))
        let row = try #require(text.split(separator: "\n").first { $0.hasPrefix("charity_stock ") }, "no charity_stock row:\n\(text)")
        let cells = row.split(separator: " ", omittingEmptySubsequences: true)
        #expect(cells.count >= 5 && Array(cells[1...4]) == ["1", "1", "lww", "update-wins"], "\(row)")

        let info = try jsonObject(box.ok("info", "--json").stdout)
        #expect(info["node"] as? String == "civil-affairs")
        #expect(jsonInt(info["lastSeq"]) == 3)
        let counts = try #require(info["counts"] as? [String: Any])
        let stock = try #require(counts["charity_stock"] as? [String: Any])
        #expect(jsonInt(stock["alive"]) == 1)
        #expect(jsonInt(stock["deleted"]) == 1)
    }
}
