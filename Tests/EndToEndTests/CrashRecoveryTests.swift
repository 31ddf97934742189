import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("Interrupted syncs")
struct CrashRecoveryTests {
    static let records = 30_000
    /// The killed sync's batch size: 600 requests to push them all, so the push is still running
    /// when the polls (a `hub info` process each, slow on a loaded machine) see the target.
    static let killedBatch = 50

    @Test("Killing a station in the middle of a large sync, then syncing again, leaves every record at the hub exactly once")
    func killedMidSyncThenResumed() async throws {
        try await withCluster(["charity"]) { cluster in
            let charity = cluster["charity"]
            let file = cluster.path("stock.jsonl")
            var lines = ""
            lines.reserveCapacity(Self.records * 90)
            for i in 0..<Self.records {
                lines +=
                    #"{"id":"stk-\#(String(format: "%05d", i))","itemName":"Item \#(i)","unit":"box","quantity":\#(i % 97),"shelf":"A\#(i % 40)"}"#
                    + "\n"
            }
            try Data(lines.utf8).write(to: URL(fileURLWithPath: file))
            let imported = try await charity.ok(["import", "charity_stock", file])
            #expect(imported.stdout.contains("imported \(Self.records) records"), "\(imported)")

            // Start the sync, wait until the hub holds a random share of the records (up to a
            // sixth: a poll runs `hub info`, and the push must not finish between two polls), then
            // SIGKILL it there. A fixed delay after the first batch raced a fast push to its end.
            let target = Int.random(in: 1...(Self.records / 6))
            let sync = try cluster.launch(
                "sync", executable: try Binaries.station,
                ["sync", "--db", charity.db, "--peer", cluster.hub.url, "--token", charity.token, "--json", "--batch-size", "\(Self.killedBatch)"])
            var landed = 0
            let deadline = Date().addingTimeInterval(60)
            while landed < target, sync.isRunning, Date() < deadline {
                try await Task.sleep(for: .milliseconds(5))
                landed = try await cluster.hub.aliveCount("charity_stock") ?? 0
            }
            sync.send(SIGKILL)
            #expect(await sync.waitForExit(timeout: 10))
            let killed = sync.result
            #expect(killed.signaled && killed.status == SIGKILL, "the sync finished before it could be killed:\n\(killed)")
            // A request in flight when the client died may still land: let the hub finish it.
            try await Task.sleep(for: .milliseconds(300))
            let atHub = try await cluster.hub.aliveCount("charity_stock") ?? -1
            #expect(atHub > 0 && atHub < Self.records, "not killed mid-sync: the hub held \(atHub) of \(Self.records)")

            if let sqlite3 = Binaries.sqlite3 {
                let check = try await Command.run(sqlite3, [charity.db, "PRAGMA integrity_check"], directory: cluster.dir)
                #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "station database after SIGKILL:\n\(check)")
            }

            // Again, to completion: it resumes from its checkpoint. Sent twice at most: the two
            // batches in flight and the one whose checkpoint was being saved (killedBatch changes each).
            let resumed = try await charity.sync()
            let pushed = try #require(resumed.pushed)
            #expect(
                pushed >= Self.records - atHub && pushed <= Self.records - atHub + 3 * Self.killedBatch,
                "resumed sync pushed \(pushed), with \(atHub) of \(Self.records) already at the hub: \(resumed)")
            #expect(resumed.startedOver == false, "\(resumed)")

            #expect(try await cluster.hub.aliveCount("charity_stock") == Self.records)
            let info = try await cluster.hub.info()
            let counts = try #require(info["counts"] as? [String: Any])
            for (collection, value) in counts where collection != "charity_stock" {
                #expect(jsonInt((value as? [String: Any])?["alive"]) == 0, "\(collection): \(value)")
            }
            let again = try await charity.sync()
            #expect(again.pushed == 0 && again.pulled == 0, "\(again)")

            // Spot checks through the CLI, and the whole tables through sqlite3 when it is installed.
            for i in [0, 1, Self.records / 2, Self.records - 1] {
                let id = "stk-" + String(format: "%05d", i)
                let record = try await cluster.hubDB.get("charity_stock", id)
                #expect(record["itemName"] as? String == "Item \(i)" && jsonInt(record["quantity"]) == i % 97, "\(record)")
                #expect(record.nodeClock == #"{"charity":1}"#, "\(record)")
            }
            if let sqlite3 = Binaries.sqlite3 {
                let check = try await Command.run(sqlite3, [cluster.hub.db, "PRAGMA integrity_check"], directory: cluster.dir)
                #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "ok", "hub database:\n\(check)")
                let sql = """
                    ATTACH '\(charity.db)' AS station;
                    SELECT count(*), count(DISTINCT h.id), sum(h.state = s.state) FROM main.record h
                      JOIN station.record s ON s.collection = h.collection AND s.id = h.id WHERE h.collection = 'charity_stock';
                    """
                let compare = try await Command.run(sqlite3, ["-readonly", cluster.hub.db, sql], directory: cluster.dir)
                #expect(
                    compare.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "\(Self.records)|\(Self.records)|\(Self.records)",
                    "hub records matching the station's (count|distinct|same state):\n\(compare)")
            }
        }
    }
}
