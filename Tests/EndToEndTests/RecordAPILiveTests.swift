import Foundation
import Testing

/// The records API on a real `station serve`: a program writes with a user's token, the write is
/// authored by that user, and it reaches another station through the hub.
@Suite("Records API, live")
struct RecordAPILiveTests {
    @Test("A program writes through station serve as a user; the write syncs to another station with its author")
    func aProgramsWriteReachesAnotherStation() async throws {
        try await withCluster(["charity-supermarket", "volunteer-services"]) { cluster in
            let charity = cluster["charity-supermarket"], volunteers = cluster["volunteer-services"]
            func user(_ args: String...) async throws -> CommandResult {
                let result = try await Command.run(try Binaries.station, ["user"] + args + ["--db", charity.db], directory: cluster.dir)
                try #require(result.succeeded, "\(result)")
                return result
            }
            let token = try await user("add", "Li Na").stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(token.hasPrefix("user_"), "\(token)")
            let listed = try JSON.array(try await user("list", "--json").stdout)
            #expect(listed.map { $0["name"] as? String } == ["Li Na"])
            let server = try await charity.serve(token: "lan-secret-of-charity")
            let auth = [("Authorization", "Bearer \(token)"), ("Content-Type", "application/json")]
            let put = try await RawHTTP.request(
                port: server.port, method: "PUT", path: "/v1/records/charity_stock/stk-7", headers: auth,
                body: Data(#"{"itemName": "Millet, 5 kg", "quantity": 12}"#.utf8))
            #expect(put.status == 200, "\(put)")
            let add = try await RawHTTP.request(
                port: server.port, method: "POST", path: "/v1/records/charity_stock/stk-7/add", headers: auth,
                body: Data(#"{"field": "quantity", "amount": -3}"#.utf8))
            #expect(add.status == 200, "\(add)")
            #expect((add.jsonObject?["fields"] as? [String: Any])?["quantity"] as? Int == 9, "\(add)")
            // The sync secret does not open the records API.
            let wrong = try await RawHTTP.request(
                port: server.port, method: "GET", path: "/v1/records/charity_stock", headers: [("Authorization", "Bearer lan-secret-of-charity")])
            #expect(wrong.status == 401, "\(wrong)")

            try await charity.sync()
            try await volunteers.sync()
            let history = try JSON.array(try await volunteers.ok(["history", "charity_stock", "stk-7", "--json"]).stdout)
            let authors = history.flatMap { ($0["writes"] as? [[String: Any]] ?? []).compactMap { $0["author"] as? String } }
            #expect(authors.contains("Li Na"), "\(JSON.canonical(history))")
            let record = try await volunteers.get("charity_stock", "stk-7")
            #expect(JSON.canonical(record.raw["fields"]).contains(#""quantity":9"#), "\(record)")
        }
    }
}
