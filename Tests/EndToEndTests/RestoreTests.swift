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

    @Test(
        "A station restored from a backup writes under a new incarnation: what it wrote after the restore stands beside what it lost, and what it lost comes back"
    )
    func aRestoredStationLosesNothingAndReusesNoDot() async throws {
        try await withCluster(["hotline", "civil-affairs"]) { cluster in
            let station = cluster["hotline"], other = cluster["civil-affairs"]
            try await station.put("residents", "r1", ["fullName": "Before the backup"])
            try await station.sync()
            let backup = cluster.path("hotline-backup.sqlite")
            try await Self.backUp(station.db, to: backup)
            try await station.put("residents", "r1", ["fullName": "After the backup"])
            try await station.put("residents", "r2", ["fullName": "Only after the backup"])
            try await station.sync()
            let writerBefore = try await station.info()["writer"] as? String

            try Self.restore(backup, over: station.db)
            try await station.put("residents", "r1", ["fullName": "Written after the restore"])
            let info = try await station.info()
            #expect(info["restoredFrom"] is String, "\(info)")
            #expect(info["writer"] as? String != writerBefore, "\(info)")
            let summary = try await station.sync()
            #expect((summary.pulled ?? 0) >= 2, "what the restore lost did not come back: \(summary)")
            try await other.sync()
            // r2, lost by the restore, is back; r1 holds both writes, visible as a conflict.
            #expect(try await station.get("residents", "r2").fields["fullName"] as? String == "Only after the backup")
            for node in [station, other] {
                let r1 = try await node.get("residents", "r1")
                let values = (r1.conflict(on: "fullName")?["values"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String }
                #expect(Set(values) == ["After the backup", "Written after the restore"], "\(node.name): \(r1)")
            }
        }
    }

    @Test(
        "A station made again under its name (a reinstall) gets its records back; its first push is refused until it takes over, and then its first writes stand beside the old ones"
    )
    func aReinstalledStationGetsItsRecordsBack() async throws {
        try await withCluster(["hotline"]) { cluster in
            let station = cluster["hotline"]
            for i in 1...3 { try await station.put("residents", "r\(i)", ["fullName": "Resident \(i)"]) }
            try await station.sync()
            let oldWriter = try #require(try await station.info()["writer"] as? String)
            for suffix in ["", "-wal", "-shm", ".watermark"] { try? FileManager.default.removeItem(atPath: station.db + suffix) }
            try await station.ok(["init", "--node", "hotline"])
            try await station.put("residents", "r1", ["fullName": "Typed on the new laptop"])
            // Another database is hotline at the hub: refused, with what to do; nothing lost here.
            let refused = try await station.trySync()
            #expect(!refused.succeeded && refused.stderr.contains("409") && refused.stderr.contains("station sync --take-over"), "\(refused)")
            #expect(try await station.get("residents", "r1").fields["fullName"] as? String == "Typed on the new laptop")
            let hubInfo = try await cluster.hub.info()
            let writers = try #require(hubInfo["writers"] as? [[String: Any]], "\(hubInfo)")
            #expect(writers.contains { $0["writer"] as? String == oldWriter && $0["status"] as? String == "live" }, "\(writers)")
            #expect(writers.contains { $0["status"] as? String == "refused" && ($0["refusals"] as? Int ?? 0) == 1 }, "\(writers)")
            let text = try await cluster.hub.ok(["info", "--db", cluster.hub.db]).stdout
            #expect(text.contains("refused") && text.contains(oldWriter), "\(text)")

            let took = try await station.trySync(extra: ["--take-over"])
            #expect(took.succeeded, "\(took)")
            let summary = SyncSummary(raw: try JSON.object(took.stdout))
            #expect(summary.pulled == 3, "\(summary)")
            #expect(try await Self.ids(station) == ["r1", "r2", "r3"])
            let r1 = try await station.get("residents", "r1")
            let values = (r1.conflict(on: "fullName")?["values"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String }
            #expect(Set(values) == ["Resident 1", "Typed on the new laptop"], "\(r1)")
            let after = try #require(try await cluster.hub.info()["writers"] as? [[String: Any]])
            #expect(after.contains { $0["writer"] as? String == oldWriter && $0["status"] as? String == "retired" }, "\(after)")
            // From now on a plain sync does.
            try await station.put("residents", "r4", ["fullName": "Resident 4"])
            #expect(try await station.sync().pushed == 1)
        }
    }

    @Test(
        "A database copied to a second device follows its original at the hub (a move); the original is refused from then on, loses nothing, and can take over again"
    )
    func aCopiedDatabaseWritesUnderItsOwnIncarnation() async throws {
        try await withCluster(["hotline"]) { cluster in
            let station = cluster["hotline"]
            try await station.put("residents", "r1", ["fullName": "Shared"])
            try await station.sync()
            let copyDB = cluster.path("second-device.sqlite")
            for suffix in ["", "-wal", ".watermark"] where FileManager.default.fileExists(atPath: station.db + suffix) {
                try FileManager.default.copyItem(atPath: station.db + suffix, toPath: copyDB + suffix)
            }
            let device = try await Command.run(
                try Binaries.station, ["put", "--db", copyDB, "residents", "r1", #"{"fullName": "From the second device"}"#], directory: cluster.dir)
            #expect(device.succeeded, "\(device)")
            try await station.put("residents", "r1", ["fullName": "From the first device"])
            try await station.sync()
            func syncCopy(_ extra: [String] = []) async throws -> CommandResult {
                try await Command.run(
                    try Binaries.station, ["sync", "--db", copyDB, "--peer", cluster.hub.url, "--token", station.token, "--json"] + extra,
                    directory: cluster.dir)
            }
            let second = try await syncCopy()
            #expect(second.succeeded, "the copy follows its original: \(second)")
            // The original is retired: refused, with what to do; its write stays here.
            try await station.put("residents", "r2", ["fullName": "Typed on the old machine"])
            let refused = try await station.trySync()
            #expect(!refused.succeeded && refused.stderr.contains("replaced this one") && refused.stderr.contains("--take-over"), "\(refused)")
            #expect(try await station.get("residents", "r2").fields["fullName"] as? String == "Typed on the old machine")
            // Taking over brings it; the copy is refused from then on. Nothing collided or was lost.
            let took = try await station.trySync(extra: ["--take-over"])
            #expect(took.succeeded, "\(took)")
            let late = try await Command.run(
                try Binaries.station, ["put", "--db", copyDB, "residents", "r3", #"{"fullName": "Late on the copy"}"#], directory: cluster.dir)
            #expect(late.succeeded, "\(late)")
            let copyRefused = try await syncCopy()
            #expect(!copyRefused.succeeded && copyRefused.stderr.contains("409"), "\(copyRefused)")
            let r1 = try await station.get("residents", "r1")
            let values = (r1.conflict(on: "fullName")?["values"] as? [[String: Any]] ?? []).compactMap { $0["value"] as? String }
            #expect(Set(values) == ["From the first device", "From the second device"], "\(r1)")
            #expect(try await Self.ids(station) == ["r1", "r2"])
        }
    }
}

extension Station {
    /// `station info --json`.
    func info(sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try JSON.object(try await ok(["info", "--json"], sourceLocation: sourceLocation).stdout, sourceLocation: sourceLocation)
    }
}
