import Foundation
import Testing

/// Issue 11, findings 2 and 6: databases put back from a backup (`sqlite3 FILE '.backup COPY'`),
/// with the real executables.
@Suite("Restored databases")
struct RestoreTests {
    static func backUp(_ db: String, to copy: String) async throws {
        let sqlite3 = try #require(Binaries.sqlite3, "the sqlite3 tool is needed (apt-get install sqlite3)")
        let result = try await Command.run(sqlite3, [db, ".backup '\(copy)'"], directory: (db as NSString).deletingLastPathComponent)
        try #require(result.succeeded, "\(result)")
    }

    /// Puts `copy` back in place of `db` (the WAL and shared-memory files of the old one go).
    static func restore(_ copy: String, over db: String) throws {
        let fm = FileManager.default
        for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: db + suffix) }
        try fm.copyItem(atPath: copy, toPath: db)
    }

    static func ids(_ station: Station) async throws -> [String] {
        let out = try await station.ok(["list", "residents", "--json"]).stdout
        let records = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [[String: Any]], "\(out)")
        return records.compactMap { $0["id"] as? String }.sorted()
    }

    @Test("A hub restored from a backup is noticed: stations push and pull everything again, and nothing is missing anywhere")
    func aRestoredHubGetsBackWhatItsBackupLacked() async throws {
        try await withCluster(["hotline", "civil-affairs", "labor"]) { cluster in
            let alpha = cluster["hotline"], beta = cluster["civil-affairs"], gamma = cluster["labor"]
            for i in 1...3 { try await alpha.put("residents", "a\(i)", ["fullName": "Resident a\(i)"]) }
            try await alpha.sync()
            try await beta.sync()
            let backup = cluster.path("hub-backup.sqlite")
            try await Self.backUp(cluster.hub.db, to: backup)
            for i in 4...7 { try await alpha.put("residents", "a\(i)", ["fullName": "Resident a\(i)"]) }
            try await alpha.sync()
            try await beta.sync()

            await cluster.hub.stop()
            try Self.restore(backup, over: cluster.hub.db)
            try await cluster.hub.start()
            let info = try await cluster.hub.info()
            #expect(info["restoredFrom"] is String, "hub info does not say it was restored: \(info)")

            for i in 1...5 { try await gamma.put("residents", "g\(i)", ["fullName": "Resident g\(i)"]) }
            try await gamma.sync()
            let again = try await alpha.sync()
            #expect(again.startedOver == true, "\(again)")
            try await beta.sync()
            try await gamma.sync()
            try await alpha.sync()

            let all = ((1...7).map { "a\($0)" } + (1...5).map { "g\($0)" }).sorted()
            #expect(try await cluster.hub.aliveCount("residents") == all.count)
            for station in [alpha, beta, gamma] {
                #expect(try await Self.ids(station) == all, "\(station.name)")
            }
        }
    }

    @Test("A station restored from a backup that writes again under a dot it had used is refused loudly (dot_collision), never shadowed")
    func aRestoredStationsReusedDotIsRefusedNotShadowed() async throws {
        try await withCluster(["hotline"]) { cluster in
            let station = cluster["hotline"]
            try await station.put("residents", "r1", ["fullName": "Before the backup"])
            try await station.sync()
            let backup = cluster.path("hotline-backup.sqlite")
            try await Self.backUp(station.db, to: backup)
            try await station.put("residents", "r1", ["fullName": "After the backup"])
            try await station.sync()

            try Self.restore(backup, over: station.db)
            try await station.put("residents", "r1", ["fullName": "Written after the restore"])
            let result = try await station.trySync()
            #expect(!result.succeeded, "the sync passed: \(result)")
            #expect(result.stderr.contains("dot_collision") && result.stderr.contains("residents/r1"), "\(result)")
            // Both versions are where they were: the hub's and the station's.
            let hub = try await cluster.hub.run(["conflicts", "list", "--db", cluster.hub.db])  // the hub still answers
            #expect(hub.succeeded, "\(hub)")
            let sqlite3 = try #require(Binaries.sqlite3)
            let atHub = try await Command.run(sqlite3, ["-readonly", cluster.hub.db, "SELECT state FROM record WHERE id = 'r1'"], directory: cluster.dir)
            #expect(atHub.stdout.contains("After the backup"), "\(atHub)")
            #expect(try await station.get("residents", "r1").fields["fullName"] as? String == "Written after the restore")
        }
    }
}
