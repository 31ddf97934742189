import Foundation
import Testing

/// `station serve --hub URL`: one process per station serves its page's API and LAN peers and
/// keeps syncing with the hub, soon after each change: a record written through one station's
/// records API shows in another station's change feed without anyone running `station sync`.
@Suite("One process per station")
struct OneProcessPerStationTests {
    @Test("A write through one station's API reaches another station's feed through the hub, by the servers' own syncing")
    func aWriteReachesAnotherStationByItself() async throws {
        try await withCluster(["charity-supermarket", "volunteer-services"]) { cluster in
            let charity = cluster["charity-supermarket"], volunteers = cluster["volunteer-services"]
            var tokens: [String: String] = [:]
            var servers: [String: Server] = [:]
            for station in [charity, volunteers] {
                let added = try await Command.run(
                    try Binaries.station, ["user", "add", "Clerk of \(station.name)", "--db", station.db], directory: cluster.dir)
                try #require(added.succeeded, "\(added)")
                tokens[station.name] = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                servers[station.name] = try await cluster.startServer(
                    "\(station.name)-serve", executable: try Binaries.station,
                    [
                        "serve", "--db", station.db, "--listen", "127.0.0.1:0", "--hub", cluster.hub.url, "--hub-token", station.token,
                        "--every", "1",
                    ])
            }
            func auth(_ name: String) -> [(String, String)] { [("Authorization", "Bearer \(tokens[name]!)"), ("Content-Type", "application/json")] }
            let start = try await RawHTTP.request(
                port: servers[volunteers.name]!.port, method: "GET", path: "/v1/records/_changes?since=0", headers: auth(volunteers.name))
            var since = (start.jsonObject?["next"] as? Int) ?? 0
            var seen: [Double] = []
            for i in 1...5 {
                let t0 = Date()
                let put = try await RawHTTP.request(
                    port: servers[charity.name]!.port, method: "PUT", path: "/v1/records/charity_stock/stk-\(i)", headers: auth(charity.name),
                    body: Data(#"{"itemName": "Rice \#(i)", "quantity": \#(i)}"#.utf8))
                #expect(put.status == 200, "\(put)")
                var found = false
                while !found, Date().timeIntervalSince(t0) < 20 {
                    let feed = try await RawHTTP.request(
                        port: servers[volunteers.name]!.port, method: "GET", path: "/v1/records/_changes?since=\(since)&wait=10",
                        headers: auth(volunteers.name), timeout: 15)
                    since = (feed.jsonObject?["next"] as? Int) ?? since
                    found = ((feed.jsonObject?["records"] as? [[String: Any]]) ?? []).contains { $0["id"] as? String == "stk-\(i)" }
                }
                #expect(found, "stk-\(i) did not reach volunteer-services within 20 s")
                seen.append(Date().timeIntervalSince(t0))
            }
            // Who wrote it came along.
            let history = try JSON.array(try await volunteers.ok(["history", "charity_stock", "stk-1", "--json"]).stdout)
            let authors = history.flatMap { ($0["writes"] as? [[String: Any]] ?? []).compactMap { $0["author"] as? String } }
            #expect(authors == ["Clerk of charity-supermarket"], "\(JSON.canonical(history))")
            print("write to visible at another station: " + seen.map { String(format: "%.2f s", $0) }.joined(separator: ", "))
        }
    }

    @Test("A station whose hub token is refused goes on serving its programs; SIGTERM ends a waiting long poll at once")
    func aRefusedTokenStopsTheSyncingNotTheStation() async throws {
        try await withCluster(["charity-supermarket"]) { cluster in
            let charity = cluster["charity-supermarket"]
            let added = try await Command.run(try Binaries.station, ["user", "add", "Li Na", "--db", charity.db], directory: cluster.dir)
            try #require(added.succeeded, "\(added)")
            let token = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let server = try await cluster.startServer(
                "charity-serve", executable: try Binaries.station,
                [
                    "serve", "--db", charity.db, "--listen", "127.0.0.1:0", "--token", "lan-secret", "--hub", cluster.hub.url,
                    "--hub-token", "0123456789abcdef.not-the-token", "--every", "1",
                ])
            try await Task.sleep(for: .seconds(2))
            let auth = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
            let put = try await RawHTTP.request(
                port: server.port, method: "PUT", path: "/v1/records/charity_stock/stk-1", headers: auth,
                body: Data(#"{"itemName": "Rice", "quantity": 3}"#.utf8))
            #expect(put.status == 200, "the station stopped serving after the hub refused its token: \(put)")
            // A long poll waiting at shutdown is answered, and the process ends well within the
            // shutdown's 15 s.
            let next =
                (try await RawHTTP.request(port: server.port, method: "GET", path: "/v1/records/_changes", headers: auth)).jsonObject?["next"] as? Int
                ?? 0
            let poll = Task {
                try await RawHTTP.request(
                    port: server.port, method: "GET", path: "/v1/records/_changes?since=\(next)&wait=50", headers: auth, timeout: 60)
            }
            try await Task.sleep(for: .milliseconds(500))
            let t0 = Date()
            let stopped = await server.process.stop(with: SIGTERM, grace: 10)
            #expect(stopped.exitedInTime && Date().timeIntervalSince(t0) < 5, "station serve took \(Date().timeIntervalSince(t0)) s to stop")
            let answer = try await poll.value
            #expect(answer.status == 200, "the waiting long poll: \(answer)")
            #expect(stopped.result.stderr.contains("stopped:"), "no line says the syncing stopped: \(stopped.result.stderr.suffix(2000))")
        }
    }
}
