import Foundation
import Testing

/// Issue 11, findings 1, 3 and 5 through the `station` executable: look-alike ids, imports run
/// again, and Ctrl-C during an import.
@Suite("station import, again and interrupted")
struct ImportAgainTests {
    /// Ids as their bytes: Swift's `Set<String>` would take canonically equivalent ids for one.
    static func idBytes(_ records: [[String: Any]]) -> Set<[UInt8]> {
        Set(records.compactMap { ($0["id"] as? String).map { Array($0.utf8) } })
    }

    @Test func lookAlikeIdsImportAsTwoRecords() async throws {
        let box = try Sandbox().initialize()
        let pairs = [("caf\u{E9}", "cafe\u{301}"), ("\u{C5}sa", "\u{212B}sa"), ("\u{F900}", "\u{8C48}")]
        var lines = ""
        for (a, b) in pairs {
            lines += #"{"id": "\#(a)", "fullName": "first"}"# + "\n" + #"{"id": "\#(b)", "fullName": "second"}"# + "\n"
        }
        let path = try box.write("people.jsonl", lines)
        let result = try box.ok("import", "residents", path)
        #expect(result.stdout.contains("imported 6 records"), "\(result)")
        let records = try box.list("residents")
        #expect(records.count == 6)
        #expect(Self.idBytes(records).count == 6)
        for (a, b) in pairs {
            let first = records.first { ($0["id"] as? String)?.utf8.elementsEqual(a.utf8) == true }
            let second = records.first { ($0["id"] as? String)?.utf8.elementsEqual(b.utf8) == true }
            #expect(fields(try #require(first))["fullName"] as? String == "first")
            #expect(fields(try #require(second))["fullName"] as? String == "second")
        }
        // `put` and `get` by either spelling reach their own record.
        try box.ok("put", "residents", "cafe\u{301}", #"{"fullName": "changed"}"#)
        #expect(fields(try box.record("residents", "caf\u{E9}"))["fullName"] as? String == "first")
        #expect(fields(try box.record("residents", "cafe\u{301}"))["fullName"] as? String == "changed")
    }

    @Test func anImportRunAgainWritesNothing() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let path = try box.write("records.jsonl", ImportTests.lines(1500))
        try box.ok("import", "inventory", path)
        let before = try box.snapshot()
        let again = try box.ok("import", "inventory", path)
        #expect(again.stdout.contains("1500 unchanged"), "\(again)")
        #expect(try box.snapshot() == before)
        let info = try jsonObject(box.ok("info", "--json").stdout)
        #expect(jsonInt(info["lastSeq"]) == 1500)
        // --force writes every line again.
        try box.ok("import", "inventory", path, "--force")
        #expect(jsonInt(try jsonObject(box.ok("info", "--json").stdout)["lastSeq"]) == 3000)
        // A put of what a record shows says so and writes nothing.
        let put = try box.ok("put", "inventory", "r0001", #"{"quantity": 1, "name": "item 1"}"#)
        #expect(put.stderr.contains("unchanged"), "\(put)")
        #expect(jsonInt(try jsonObject(box.ok("info", "--json").stdout)["lastSeq"]) == 3000)
    }

    @Test func ctrlCDuringAnImportSaysWhatItKept() async throws {
        let box = try Sandbox().initialize(schema: inventorySchema)
        let total = 40_000
        let path = try box.write("big.jsonl", ImportTests.lines(total))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try StationProcess.executable())
        process.arguments = ["import", "--db", box.db, "inventory", path, "--batch-size", "500"]
        process.currentDirectoryURL = URL(fileURLWithPath: box.dir)
        let errPath = box.file("import.stderr"), outPath = box.file("import.stdout")
        FileManager.default.createFile(atPath: errPath, contents: nil)
        FileManager.default.createFile(atPath: outPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        try process.run()
        // Wait until some batches are committed (the watermark beside the database says how far
        // the feed got), then press Ctrl-C.
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            let mark = (try? String(contentsOfFile: box.db + ".watermark", encoding: .utf8)) ?? ""
            if let seq = mark.split(separator: " ").last.flatMap({ Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }), seq >= 1000 { break }
            usleep(10_000)
        }
        try #require(process.isRunning, "the import ended before it could be interrupted")
        kill(process.processIdentifier, SIGINT)
        process.waitUntilExit()
        let stderr = (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? ""
        #expect(process.terminationStatus == 130, "\(stderr)")
        #expect(stderr.contains("interrupted at line"), "\(stderr)")
        #expect(stderr.contains("Run the same import again"), "\(stderr)")
        // What it says it kept is what the database holds: whole batches.
        let kept = try box.list("inventory").count
        #expect(kept > 0 && kept < total && kept % 500 == 0, "kept \(kept)")
        #expect(stderr.contains("kept \(kept) records"), "\(stderr)")
        // Running it again finishes it, and what was there costs nothing.
        let again = try box.ok("import", "inventory", path)
        #expect(again.stdout.contains("\(kept) unchanged"), "\(again)")
        #expect(try box.list("inventory").count == total)
    }
}
