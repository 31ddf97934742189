import Foundation
import Testing

@Suite("Graceful shutdown")
struct ShutdownTests {
    @Test("SIGTERM right after a sync: `hub serve` exits 0 and has written the station's activity (the server drains, then the notes are written)")
    func theHubWritesActivityWhenStopped() async throws {
        try await withCluster(["hotline"]) { cluster in
            let hotline = cluster["hotline"]
            try await hotline.put("hotline_calls", "call-1000", ["callerName": "Lin Mei", "status": "open"])
            try await hotline.sync()
            // At once: the hub writes its activity notes within a second of a sync, or when it stops.
            await cluster.hub.stop()
            let info = try await cluster.hub.info()
            let stations = try #require(info["stations"] as? [[String: Any]], "\(info)")
            let seen = try #require(stations.first { $0["station"] as? String == "hotline" }, "hotline's activity is missing: \(info)")
            #expect(seen["lastPushAt"] is String && seen["pushedChanges"] as? Int == 1, "\(seen)")
        }
    }
}
