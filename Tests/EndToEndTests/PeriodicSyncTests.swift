import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

@Suite("Periodic sync")
struct PeriodicSyncTests {
    /// Polls `condition` every 100 ms for up to `timeout` seconds; returns the seconds it took, or nil.
    private func eventually(within timeout: Double, _ condition: () async throws -> Bool) async throws -> Double? {
        let start = Date()
        while Date().timeIntervalSince(start) < timeout {
            if try await condition() { return Date().timeIntervalSince(start) }
            try await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    @Test("`station sync --every 1` keeps syncing, rides out the hub being down, catches up when it is back, and stops with exit 0 on SIGINT")
    func periodicSyncKeepsGoing() async throws {
        try await withCluster(["hotline", "civil-affairs"]) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            let port = cluster.hub.port
            let periodic = try cluster.launch(
                "periodic", executable: try Binaries.station,
                ["sync", "--db", civil.db, "--peer", cluster.hub.url, "--token", civil.token, "--every", "1", "--json"])

            // The first round says what it did (it started over with a hub new to it); the
            // rounds after it, with nothing to move, say nothing.
            let first = try await eventually(within: 10) { !periodic.stdout.isEmpty }
            #expect(first != nil, "the first round printed nothing:\n\(periodic.result)")
            try await Task.sleep(for: .milliseconds(2500))
            #expect(periodic.stdout.split(separator: "\n").count == 1, "rounds with nothing to move printed lines:\n\(periodic.stdout)")

            // A write made elsewhere after it started shows up here within a few seconds.
            try await hotline.put("hotline_calls", "call-0900", ["callerName": "Xu Hua", "status": "open"])
            try await hotline.sync()
            let arrival = try await eventually(within: 10) { try await civil.find("hotline_calls", "call-0900") != nil }
            #expect(arrival != nil, "the periodic sync did not bring call-0900 within 10 s:\n\(periodic.result)")

            // The hub goes down: the periodic sync keeps running and logs failures.
            await cluster.hub.stop()
            try await civil.put("residents", "res-0900", ["fullName": "Written while the hub is down"])
            try await hotline.put("hotline_calls", "call-0901", ["callerName": "Written while the hub is down"])
            let failureLogged = try await eventually(within: 15) { periodic.stderr.contains("failed; trying again 1.0 s after each attempt") }
            #expect(failureLogged != nil, "no failure logged while the hub was down:\n\(periodic.result)")
            #expect(periodic.isRunning, "the periodic sync stopped when the hub went down:\n\(periodic.result)")
            // One line for the outage, not one per attempt or per retried request.
            try await Task.sleep(for: .seconds(3))
            #expect(periodic.stderr.components(separatedBy: "failed; trying again").count == 2, "\(periodic.stderr)")
            #expect(!periodic.stderr.contains("retrying GET"), "\(periodic.stderr)")

            // The hub comes back on the same port: both directions catch up.
            try await cluster.hub.start(port: port)
            try await hotline.sync()
            let caughtUp = try await eventually(within: 15) {
                let pulled = try await civil.find("hotline_calls", "call-0901") != nil
                let pushed = try await cluster.hubDB.find("residents", "res-0900") != nil
                return pulled && pushed
            }
            #expect(caughtUp != nil, "the periodic sync did not catch up after the hub came back:\n\(periodic.result)")
            // (Its earlier sync may already have pulled it, if the periodic sync pushed first.)
            try await hotline.sync()
            #expect(try await hotline.get("residents", "res-0900")["fullName"] as? String == "Written while the hub is down")

            let back = try await eventually(within: 5) { periodic.stderr.contains("works again after") }
            #expect(back != nil, "no line said the sync works again:\n\(periodic.stderr)")

            // Quiet while nothing moves: no "pushed 0, pulled 0" line every second.
            try await Task.sleep(for: .milliseconds(1500))
            let printed = periodic.stdout.split(separator: "\n").count
            try await Task.sleep(for: .milliseconds(3500))
            #expect(periodic.stdout.split(separator: "\n").count == printed, "idle rounds printed lines:\n\(periodic.stdout)")

            // SIGINT stops it cleanly.
            let (stopped, inTime) = await periodic.stop(with: SIGINT)
            #expect(inTime && stopped.succeeded, "SIGINT did not stop the periodic sync with exit 0:\n\(stopped)")
            #expect(stopped.stderr.contains("stopped"), "\(stopped)")

            // It printed a JSON summary for the syncs that moved something, before and after the outage.
            let summaries = try stopped.stdout.split(separator: "\n").map { SyncSummary(raw: try JSON.object(String($0))) }
            #expect(summaries.count >= 2 && summaries.allSatisfy { $0.peer == "hub" }, "\(stopped.stdout)")
            #expect(summaries.contains { ($0.pushed ?? 0) >= 1 }, "the write made while the hub was down was never pushed: \(stopped.stdout)")
        }
    }
}
