import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StationCore
import StationSeeds
import StationServer
import StationStore
import StationSync
import Testing

/// Replays Protocol/examples/http/*.json in order against a fresh hub: every documented request
/// gets exactly the documented answer. `$DATABASE` and `$SCHEMA` stand for the hub's database id
/// and schema fingerprint; `"token": "hotline"` sends a token of that station.
@Suite struct ProtocolReplayTests {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Protocol/examples/http")

    @Test func theDocumentedExchangesHold() async throws {
        let dir = NSTemporaryDirectory() + "stationsync-replay-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // A stopped clock: the session's `time` is the documented one.
        let hub = try StationStore.create(path: dir + "/hub.sqlite", node: "hub", schema: DefaultSchema.schema, clock: { 1_796_083_200_000 })
        var tokens: [String: String] = [:]
        for station in ["hotline", "charity"] {
            let made = Tokens.make(station: station, read: .all, write: .all, relay: false)
            try hub.addToken(made.stored)
            tokens[station] = made.token
        }
        let substitutions = ["$DATABASE": hub.databaseID, "$SCHEMA": hub.schema.fingerprint]
        @Sendable func substitute(_ text: String) -> String {
            substitutions.reduce(text) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
        }
        let tokensByStation = tokens
        let files = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files.count >= 10)
        let app = Application(router: SyncServer.router(service: SyncService(storage: hub, authentication: .tokens), logger: Logger(label: "replay")))
        try await app.test(.router) { client in
            for file in files {
                let text = substitute(try String(contentsOf: Self.folder.appendingPathComponent(file), encoding: .utf8))
                let example = try #require(try JSONParser.parse(text).objectValue)
                let request = try #require(example["request"]?.objectValue)
                let expected = try #require(example["response"]?.objectValue)
                var headers: HTTPFields = [:]
                if let station = request["token"]?.stringValue { headers[.authorization] = "Bearer \(tokensByStation[station]!)" }
                for (name, value) in request["headers"]?.objectValue ?? [:] {
                    if name == "Authorization", let v = value.stringValue { headers[.authorization] = v }
                }
                var body: ByteBuffer?
                if let b = request["body"] { body = ByteBuffer(string: b.canonicalText) }
                if let raw = request["rawBody"]?.stringValue { body = ByteBuffer(string: raw) }
                let method: HTTPRequest.Method = request["method"]?.stringValue == "POST" ? .post : .get
                try await client.execute(uri: request["path"]!.stringValue!, method: method, headers: headers, body: body) { response in
                    #expect(Int64(response.status.code) == expected["status"]?.intValue, "\(file)")
                    let got = try? JSONParser.parse(bytes: Array(response.body.readableBytesView))
                    #expect(got == expected["body"], "\(file): got \(got?.canonicalText ?? String(buffer: response.body))")
                }
            }
        }
    }
}
