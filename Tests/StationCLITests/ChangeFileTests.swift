import Foundation
import Testing

/// Change files are pushes on foot (issue 12, finding 7): `station merge` meets the checks a push
/// from the file's writer would.
@Suite("station export and merge")
struct ChangeFileTests {
    /// A change file exported by `civil` (records r1 and r2), as lines.
    static func exported(_ civil: Sandbox) throws -> [String] {
        try civil.ok("put", "residents", "r1", #"{"fullName": "Wang Fang"}"#)
        try civil.ok("put", "charity_stock", "rice", #"{"itemName": "Rice", "quantity": 10}"#)
        return try civil.ok("export", "-").stdout.split(separator: "\n").map(String.init)
    }

    /// The header of `lines` with `change` applied.
    static func header(_ lines: [String], _ change: (inout [String: Any]) -> Void) throws -> String {
        var o = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        change(&o)
        return String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test func aFileMergesOnceAndAgainChangesNothing() async throws {
        let civil = try Sandbox().initialize(node: "civil")
        let lines = try Self.exported(civil)
        #expect(lines.count == 3 && lines[0].contains(#""count":2"#) && lines[0].contains(#""version":2"#), "\(lines[0])")
        let box = try Sandbox().initialize()
        let path = try box.write("civil.changes", lines.joined(separator: "\n") + "\n")
        #expect(try box.ok("merge", path).stdout.contains("2 created"))
        #expect(try box.ok("merge", path).stdout.contains("2 unchanged"))
        #expect(try box.ok("get", "charity_stock", "rice", "--json").stdout.contains(#""quantity":10"#))
    }

    /// Refused whole, the database unchanged, with a message that says why.
    @Test(arguments: [
        ("a file cut short", "cut", "cut short"),
        ("an unknown version", "version", "version 99"),
        ("a file from this node itself", "self", "this node itself"),
        ("no count", "nocount", "how many changes follow"),
        ("a schema that disagrees", "schema", "charity_stock.quantity is counter here but lww at the peer"),
    ])
    func badFilesAreRefusedWhole(_ label: String, _ kind: String, _ mentions: String) throws {
        let civil = try Sandbox().initialize(node: "civil")
        var lines = try Self.exported(civil)
        switch kind {
        case "cut": lines.removeLast()
        case "version": lines[0] = try Self.header(lines) { $0["version"] = 99 }
        case "self": lines[0] = try Self.header(lines) { $0["node"] = "hotline" }
        case "nocount": lines[0] = try Self.header(lines) { $0["count"] = nil }
        default:
            // The exporting node says quantity is lww: two of its writers setting 10 would read 20 here.
            lines[0] = try Self.header(lines) { header in
                var schema = header["schema"] as! [String: Any]
                var collections = schema["collections"] as! [String: Any]
                var stock = collections["charity_stock"] as! [String: Any]
                var fields = stock["fields"] as! [String: Any]
                fields["quantity"] = "lww"
                stock["fields"] = fields
                collections["charity_stock"] = stock
                schema["collections"] = collections
                header["schema"] = schema
            }
        }
        let box = try Sandbox().initialize()
        try box.ok("put", "residents", "mine", #"{"fullName": "Li Lei"}"#)
        let before = try box.snapshot()
        let result = try box.station("merge", box.write("bad.changes", lines.joined(separator: "\n") + "\n"))
        #expect(result.status != 0, "\(label): \(result)")
        #expect(result.stderr.contains(mentions), "\(label): \(result)")
        #expect(result.stderr.contains("nothing was merged"), "\(label): \(result)")
        #expect(try box.snapshot() == before, "\(label): the database changed")
    }

    /// A USB stick cannot launder writes past origin binding: a file "from mallory" holding civil's
    /// writes is not taken as mallory's (they are left out, said so), unless the receiver trusts
    /// the file's node to forward others' writes.
    @Test func aFileBringsOnlyItsNodesWritesUnlessTrusted() async throws {
        let civil = try Sandbox().initialize(node: "civil")
        var lines = try Self.exported(civil)
        lines[0] = try Self.header(lines) { $0["node"] = "mallory" }
        let box = try Sandbox().initialize()
        let path = try box.write("mallory.changes", lines.joined(separator: "\n") + "\n")
        let before = try box.snapshot()
        let result = try box.ok("merge", path)
        #expect(result.stderr.contains("2 changes (residents/r1, charity_stock/rice) hold writes of other nodes than mallory"), "\(result)")
        #expect(try box.snapshot() == before)
        #expect(try box.ok("merge", "--trust-relay", path).stdout.contains("2 created"))
    }

    /// A file that would change what another node wrote here is refused whole; one holding another
    /// content under a dot this node holds is a collision for that record only.
    @Test func aFileCannotRewriteOrDropAnotherNodesWrites() async throws {
        let civil = try Sandbox().initialize(node: "civil")
        let lines = try Self.exported(civil)
        let box = try Sandbox().initialize()
        try box.ok("merge", box.write("civil.changes", lines.joined(separator: "\n") + "\n"))
        // mallory's file: the same record with civil's name changed under civil's dot.
        let forged = lines.map { $0.replacingOccurrences(of: "Wang Fang", with: "Someone Else") }
        let header = try Self.header(forged) { $0["node"] = "mallory" }
        let before = try box.snapshot()
        let result = try box.ok("merge", box.write("forged.changes", ([header] + forged.dropFirst()).joined(separator: "\n") + "\n"))
        #expect(result.stderr.contains("1 record (residents/r1) hold") || result.stderr.contains("residents/r1"), "\(result)")
        #expect(try box.snapshot() == before)
        #expect(try box.ok("get", "residents", "r1", "--json").stdout.contains("Wang Fang"))
    }

    /// A file holding a write stamped more than a day ahead of this node's clock is refused whole,
    /// as a push would be (with --trust-relay too: trusting the exporter to forward others'
    /// writes does not make a wrong clock right).
    @Test func aFileWhoseWriteIsStampedFarAheadIsRefused() async throws {
        let civil = try Sandbox().initialize(node: "civil")
        let lines = try Self.exported(civil)
        let match = try #require(try Regex(#",([0-9]{15,}),"#).firstMatch(in: lines[1]))
        let raw = try #require(UInt64(String(lines[1][match.range].dropFirst().dropLast())))
        let ahead = ((raw >> 16) + 2 * 86_400_000) << 16  // HLC times are wall ms << 16
        let forged = lines.map { $0.replacingOccurrences(of: String(raw), with: String(ahead)) }
        let box = try Sandbox().initialize()
        let path = try box.write("civil.changes", forged.joined(separator: "\n") + "\n")
        let before = try box.snapshot()
        for args in [[path], ["--trust-relay", path]] {
            let result = try box.runOnDatabase(["merge"] + args)
            #expect(
                result.status != 0 && result.stderr.contains("ahead of this node's clock") && result.stderr.contains("nothing was merged")
                    && !result.stderr.contains("--trust-relay"), "\(result)")
        }
        #expect(try box.snapshot() == before)
    }

    /// Review of stop 20, F6: pass 1 checks each change against what is stored, but a change can
    /// become unacceptable through an earlier line of the same file (line 1 replaces hotline's
    /// unit, line 1001 carries hotline's old value back). The merge stopped there with 1000
    /// changes committed; now the whole file is refused, the database unchanged.
    @Test func aFileRefusedHalfwayThroughChangesNothing() async throws {
        let box = try Sandbox().initialize()
        try box.ok("put", "charity_stock", "pm-1", #"{"itemName": "Oil", "unit": "kg"}"#)
        let exported = try box.ok("export", "-").stdout.split(separator: "\n").map(String.init)
        let line = try #require(try JSONSerialization.jsonObject(with: Data(exported[1].utf8)) as? [String: Any])
        let held = try #require(line["state"] as? [String: Any])
        let clock = try #require(held["clock"] as? [String: Int])
        let writer = try #require(clock.keys.first)
        let time = try #require((held["exists"] as? [[Any]])?.first?[2] as? Int)
        func change(_ id: String, _ state: [String: Any]) throws -> String {
            let o: [String: Any] = ["collection": "charity_stock", "id": id, "seq": 1, "state": state]
            return String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
        }
        var first = held
        first["clock"] = [writer: 1, "evil": 1]
        first["exists"] = [["evil", 1, time, true]]
        var fields = try #require(held["fields"] as? [String: Any])
        fields["unit"] = [["evil", 1, time, "bag"]]
        first["fields"] = fields
        var last = held
        last["clock"] = [writer: 1, "evil": 2]
        last["exists"] = [["evil", 2, time, true]]
        var lines = [try change("pm-1", first)]
        for n in 0..<999 {
            lines.append(
                try change(
                    "fill-\(n)", ["clock": ["evil": 1], "exists": [["evil", 1, time, true]], "fields": ["itemName": [["evil", 1, time, "x"]]]]))
        }
        lines.append(try change("pm-1", last))
        let header = try Self.header(exported) {
            $0["node"] = "evil"
            $0["count"] = lines.count
        }
        let path = try box.write("evil.changes", ([header] + lines).joined(separator: "\n") + "\n")
        let before = try box.snapshot()
        let result = try box.runOnDatabase(["merge", path])
        #expect(result.status != 0 && result.stderr.contains("line 1002") && result.stderr.contains("nothing was merged"), "\(result)")
        #expect(try box.snapshot() == before)
        #expect(try box.ok("get", "charity_stock", "pm-1", "--json").stdout.contains(#""unit":"kg""#))
    }

    /// Issue 12, finding 4: every resolution records who made it (`--by NAME`, else
    /// `$STATION_USER`), and the history shows it.
    @Test func aResolutionRecordsWhoMadeIt() async throws {
        let civil = try Sandbox().initialize(node: "civil")
        try civil.ok("put", "mediation_cases", "m1", #"{"status": "closed"}"#)
        try civil.ok("put", "mediation_cases", "m2", #"{"status": "closed"}"#)
        let box = try Sandbox().initialize()
        try box.ok("put", "mediation_cases", "m1", #"{"status": "open"}"#)
        try box.ok("put", "mediation_cases", "m2", #"{"status": "open"}"#)
        try box.ok("merge", box.write("civil.changes", try civil.ok("export", "-").stdout))
        func conflicts(_ args: String...) throws -> StationResult {
            let result = try box.run(["conflicts"] + args + ["--db", box.db])
            try #require(result.status == 0, "\(result)")
            return result
        }
        let listed = try #require(try JSONSerialization.jsonObject(with: Data(conflicts("list", "--json").stdout.utf8)) as? [[String: Any]])
        let ids = listed.filter { $0["field"] as? String == "status" }.compactMap { $0["id"] as? String }
        try #require(ids.count == 2, "\(listed)")
        let byEnv = try box.run(["conflicts", "resolve", ids[0], "--accept", "--db", box.db], env: ["STATION_USER": "Zhang Wei"])
        #expect(byEnv.status == 0, "\(byEnv)")
        try conflicts("resolve", ids[1], "--accept", "--by", "李娜")
        for (id, person) in [(ids[0], "Zhang Wei"), (ids[1], "李娜")] {
            let shown = try conflicts("show", id, "--json").stdout
            let report = try #require(try JSONSerialization.jsonObject(with: Data(shown.utf8)) as? [String: Any])
            #expect((report["resolution"] as? [String: Any])?["person"] as? String == person, "\(shown)")
            #expect(try conflicts("show", id).stdout.contains("resolved by \(person) at hotline"))
        }
        let bad = try box.run(["conflicts", "resolve", ids[0], "--accept", "--by", "\u{7}", "--db", box.db])
        #expect(bad.status != 0 && bad.stderr.contains("--by"))
    }
}

/// Issue 13, finding 7: `station export` on a full disk crashed (SIGILL in FileHandle) and left
/// `x.changes.partial`. Now it says so, exits 1 and leaves nothing.
@Suite("station export on a full disk")
struct ExportFullDiskTests {
    /// Runs `/bin/sh -c script` with `args` as $0, $1…; returns (status, whether it ended by a signal, stderr).
    func shell(_ script: String, _ args: [String]) throws -> (status: Int32, signalled: Bool, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script] + args
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, p.terminationReason == .uncaughtSignal, text)
    }

    @Test("Writing to a full disk fails with a message and leaves no partial file")
    func exportToAFullDisk() async throws {
        let box = try Sandbox().initialize()
        for i in 0..<300 { try box.ok("put", "residents", "r\(i)", "{\"fullName\": \"\(String(repeating: "x", count: 600))\"}") }
        let station = try StationProcess.executable()
        // Standard output on /dev/full: every write fails with "no space left".
        let toStdout = try shell(#""$0" export --db "$1" - > /dev/full"#, [station, box.db])
        #expect(toStdout.status == 1 && !toStdout.signalled, "\(toStdout)")
        #expect(toStdout.stderr.contains("no change file was written"), "\(toStdout.stderr)")
        // A file on a full file system (a 64 KiB tmpfs, where this user may mount one).
        let mountPoint = box.file("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        guard getuid() == 0, try shell(#"mount -t tmpfs -o size=64k tmpfs "$0""#, [mountPoint]).status == 0 else { return }
        defer { _ = try? shell(#"umount "$0""#, [mountPoint]) }
        let toFile = try shell(#""$0" export --db "$1" "$2""#, [station, box.db, mountPoint + "/x.changes"])
        #expect(toFile.status == 1 && !toFile.signalled && toFile.stderr.contains("no change file was written"), "\(toFile)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: mountPoint).isEmpty)
    }
}
