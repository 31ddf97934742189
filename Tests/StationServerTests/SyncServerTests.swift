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

/// The routes in process (`app.test(.router)`): status codes, JSON errors, and that a refused
/// request changes nothing.
@Suite struct SyncServerTests {
    let dir: String
    let hub: StationStore
    let token: String

    init() throws {
        dir = NSTemporaryDirectory() + "stationsync-server-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        hub = try StationStore.create(path: dir + "/hub.sqlite", node: "hub", schema: DefaultSchema.schema)
        let made = Tokens.make(station: "hotline", read: .all, write: .all, relay: false)
        try hub.addToken(made.stored)
        token = made.token
    }

    func app() -> some ApplicationProtocol {
        let service = SyncService(storage: hub, authentication: .tokens)
        return Application(router: SyncServer.router(service: service, logger: Logger(label: "test")))
    }

    var auth: HTTPFields { [.authorization: "Bearer \(token)"] }

    func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    func json(_ response: TestResponse) -> [String: JSONValue] {
        guard let o = (try? JSONParser.parse(bytes: Array(response.body.readableBytesView)))?.objectValue else {
            Issue.record("not a JSON object: \(String(buffer: response.body))")
            return [:]
        }
        return o
    }

    func state(_ node: String, _ field: String, _ value: String) -> String {
        #"{"clock":{"\#(node)":1},"exists":[["\#(node)",1,5,true]],"fields":{"\#(field)":[["\#(node)",1,5,"\#(value)"]]}}"#
    }

    @Test func healthNeedsNoTokenAndNamesTheNode() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/health", method: .get) { response in
                #expect(response.status == .ok)
                let o = json(response)
                #expect(o["node"] == "hub" && o["protocol"] == .int(Int64(PeerInfo.currentProtocol)) && o["database"] == .string(hub.databaseID))
            }
        }
    }

    @Test func pushThenPullRoundTrips() async throws {
        try await app().test(.router) { client in
            let push = #"{"node":"hotline","changes":[{"collection":"residents","id":"res-1","state":\#(state("hotline", "phone", "555"))}]}"#
            try await client.execute(uri: "/v1/changes", method: .post, headers: auth, body: body(push)) { response in
                #expect(response.status == .ok)
                let o = json(response)
                #expect(o["results"]?.arrayValue?.first?.objectValue?["result"] == "created")
            }
            // The same push again changes nothing.
            try await client.execute(uri: "/v1/changes", method: .post, headers: auth, body: body(push)) { response in
                #expect(json(response)["results"]?.arrayValue?.first?.objectValue?["result"] == "unchanged")
            }
            // hotline's own change is not echoed back to it…
            try await client.execute(uri: "/v1/changes?since=&limit=10", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
                #expect(json(response)["changes"]?.arrayValue?.isEmpty == true)
            }
        }
        // …but another station sees it.
        let other = Tokens.make(station: "charity", read: .all, write: .all, relay: false)
        try hub.addToken(other.stored)
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/changes?limit=10", method: .get, headers: [.authorization: "Bearer \(other.token)"]) { response in
                let o = json(response)
                #expect(o["changes"]?.arrayValue?.count == 1)
                #expect(o["more"] == false)
                #expect(o["next"] == .string("\(hub.databaseID).1"))
            }
        }
    }

    @Test(arguments: [
        (nil as String?, 401),
        ("Bearer nope", 401),
        ("Bearer 0123456789abcdef.wrongsecret", 401),
        ("Basic dXNlcjpwdw==", 401),
    ])
    func badOrMissingTokensAre401(authorization: String?, status: Int) async throws {
        try await app().test(.router) { client in
            var headers: HTTPFields = [:]
            if let authorization { headers[.authorization] = authorization }
            for (uri, method) in [("/v1/changes", HTTPRequest.Method.get), ("/v1/session", .get), ("/v1/schema", .get)] {
                try await client.execute(uri: uri, method: method, headers: headers) { response in
                    #expect(response.status.code == status)
                    #expect(json(response)["error"] == "unauthorized")
                }
            }
        }
    }

    @Test(arguments: [
        ("garbage", 400, "bad_request"),
        ("[]", 400, "bad_request"),
        (#"{"node":"hotline"}"#, 400, "bad_request"),
        (#"{"node":"hotline","changes":[{"collection":"nope","id":"x","state":{}}]}"#, 400, "unknown_collection"),
        (
            #"{"node":"hotline","changes":[{"collection":"residents","id":"x","state":{"clock":{"hotline":-1},"exists":[],"fields":{}}}]}"#, 400,
            "invalid_state"
        ),
        (
            #"{"node":"hotline","changes":[{"collection":"residents","id":"x","state":{"clock":{"hotline":99999999999999999},"exists":[["hotline",99999999999999999,1,true]],"fields":{}}}]}"#,
            400, "invalid_state"
        ),
        (
            #"{"node":"hotline","changes":[{"collection":"charity_stock","id":"x","state":{"clock":{"hotline":1},"exists":[["hotline",1,1,true]],"fields":{"quantity":[["hotline",1,1,"ten"]]}}}]}"#,
            400, "invalid_state"
        ),
        (#"{"node":"charity","changes":[]}"#, 403, "forbidden"),
        // Dropping the hub's own value of `before` without a write there.
        (
            #"{"node":"hotline","changes":[{"collection":"residents","id":"before","state":{"clock":{"hub":1,"hotline":1},"exists":[["hotline",1,1,true]],"fields":{}}}]}"#,
            403, "forbidden"
        ),
        (
            #"{"node":"hotline","changes":[{"collection":"residents","id":"'; DROP TABLE record; --","state":{"clock":{"hotline":1},"exists":[["hotline",1,1,true]],"fields":{"notes":[["hotline",1,1,"../../etc/passwd"]]}}},{"collection":"residents","id":"y","state":{"clock":{},"exists":[],"fields":{}}}]}"#,
            400, "invalid_state"
        ),
    ])
    func refusedPushesChangeNothing(text: String, status: Int, code: String) async throws {
        try hub.put("residents", "before", ["fullName": "Lin", "notes": "exists"])
        let before = try hub.changes(since: 0, limit: 100)
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/changes", method: .post, headers: auth, body: body(text)) { response in
                #expect(response.status.code == status, "\(text)")
                let o = json(response)
                #expect(o["error"] == .string(code), "\(o)")
                #expect(o["message"]?.stringValue?.isEmpty == false)
            }
        }
        #expect(try hub.changes(since: 0, limit: 100) == before)
    }

    /// A state holding writes of another node that the hub has not seen, from a token that may
    /// not relay: that change waits (200, `waiting`) and changes nothing; the others in the push go.
    @Test func othersUnseenWritesWaitAndChangeNothing() async throws {
        let text =
            #"{"node":"hotline","changes":[{"collection":"residents","id":"x","state":{"clock":{"civil-affairs":1},"exists":[["civil-affairs",1,1,true]],"fields":{}}},{"collection":"residents","id":"own","state":{"clock":{"hotline":1},"exists":[["hotline",1,1,true]],"fields":{}}}]}"#
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/changes", method: .post, headers: auth, body: body(text)) { response in
                #expect(response.status == .ok)
                let results = json(response)["results"]?.arrayValue?.compactMap { $0.objectValue?["result"]?.stringValue }
                #expect(results == ["waiting", "created"])
            }
        }
        #expect(try hub.record("residents", "x") == nil)
        #expect(try hub.record("residents", "own") != nil)
    }

    @Test func invalidCursorsAndLimitsAre400() async throws {
        try await app().test(.router) { client in
            for uri in [
                "/v1/changes?since=garbage", "/v1/changes?since=x.-1", "/v1/changes?limit=0", "/v1/changes?limit=100000", "/v1/changes?limit=abc",
            ] {
                try await client.execute(uri: uri, method: .get, headers: auth) { response in
                    #expect(response.status == .badRequest, "\(uri)")
                    #expect(json(response)["error"] != nil)
                }
            }
            // A cursor into another database means "from the start".
            try await client.execute(uri: "/v1/changes?since=otherdb.999", method: .get, headers: auth) { response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func unknownPathsAnswerJSON404() async throws {
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/../../etc/passwd", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(json(response)["error"] == "not_found")
            }
        }
    }

    @Test func readPermissionFiltersAndWritePermissionForbids() async throws {
        try hub.put("residents", "r1", ["fullName": "Lin", "notes": "private"])
        try hub.put("charity_stock", "rice", ["quantity": 3])
        let limited = Tokens.make(station: "charity", read: .only(["charity_stock"]), write: .only(["charity_stock"]), relay: false)
        try hub.addToken(limited.stored)
        let headers: HTTPFields = [.authorization: "Bearer \(limited.token)"]
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/changes", method: .get, headers: headers) { response in
                let changes = json(response)["changes"]?.arrayValue ?? []
                #expect(changes.compactMap { $0.objectValue?["collection"]?.stringValue } == ["charity_stock"])
            }
            let push = #"{"node":"charity","changes":[{"collection":"residents","id":"r2","state":\#(state("charity", "notes", "x"))}]}"#
            try await client.execute(uri: "/v1/changes", method: .post, headers: headers, body: body(push)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/v1/session", method: .get, headers: headers) { response in
                let o = json(response)
                #expect(o["station"] == "charity" && o["read"] == "charity_stock" && o["relay"] == false)
            }
        }
    }

    @Test func revokedTokensAre401() async throws {
        #expect(try hub.revokeTokens(station: "hotline") == 1)
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/session", method: .get, headers: auth) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func tokensAreStoredHashed() async throws {
        let stored = try #require(try hub.tokens().first)
        let secret = String(token.split(separator: ".")[1])
        #expect(stored.secretHash == Tokens.hash(secret))
        #expect(!stored.secretHash.isEmpty && stored.secretHash != Array(secret.utf8))
        let raw = try String(contentsOfFile: dir + "/hub.sqlite", encoding: .isoLatin1)
        #expect(!raw.contains(secret))
    }
}
