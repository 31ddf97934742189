import Foundation
import Testing

/// Issue 13, finding 7: a database on read-only media could not even be read (`get`, `list`:
/// "unable to open database file"). Now every reading command works there, and a writing one says
/// why it cannot.
@Suite("a database on a read-only medium")
struct ReadOnlyDatabaseTests {
    func shell(_ script: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script] + args
        p.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test("Reading commands read it; a writing one says it cannot write there and changes nothing")
    func readOnlyMediumIsRead() async throws {
        let box = try Sandbox().initialize()
        try box.ok("put", "residents", "r1", #"{"fullName": "Wang Fang"}"#)
        try box.ok("put", "charity_stock", "rice", #"{"itemName": "Rice", "quantity": 10}"#)
        // The sandbox folder mounted again, read-only (a CD, a write-protected stick), where this
        // user may mount (as root in CI); a file without write permission is writable by root.
        let readOnly = box.file("ro")
        try FileManager.default.createDirectory(atPath: readOnly, withIntermediateDirectories: true)
        guard getuid() == 0, try shell(#"mount --bind "$0" "$1" && mount -o remount,ro,bind "$1""#, [box.dir, readOnly]) == 0 else { return }
        defer { _ = try? shell(#"umount "$0""#, [readOnly]) }
        let db = readOnly + "/station.sqlite"
        let got = try box.run(["get", "--db", db, "residents", "r1", "--json"])
        #expect(got.status == 0 && got.stdout.contains("Wang Fang"), "\(got)")
        let listed = try box.run(["list", "--db", db, "charity_stock"])
        #expect(listed.status == 0 && listed.stdout.contains("rice"), "\(listed)")
        #expect(try box.run(["info", "--db", db]).status == 0)
        #expect(try box.run(["export", "--db", db, "-"]).stdout.contains(#""count":2"#))
        let put = try box.run(["put", "--db", db, "residents", "r2", #"{"fullName": "Li Lei"}"#])
        #expect(put.status != 0 && put.stderr.contains("cannot be written here"), "\(put)")
    }
}
