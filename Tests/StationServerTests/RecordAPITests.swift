import Foundation
import Hummingbird
import HTTPTypes
import HummingbirdTesting
import Logging
import StationCore
import StationSeeds
import StationServer
import StationStore
import StationSync
import Testing

/// The records API of `station serve` in process: a user's token opens it (a sync token does
/// not), writes are authored by the user, refusals are coded and change nothing.
@Suite struct RecordAPITests {
    let dir: String
    let station: StationStore
    let userToken: String
    let syncSecret = "lan-secret-for-peers"

    init() throws {
        dir = NSTemporaryDirectory() + "stationsync-records-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        station = try StationStore.create(path: dir + "/charity.sqlite", node: "charity", schema: DefaultSchema.schema, role: .station)
        userToken = try station.addUser("Li Na").token
    }

    func app() -> some ApplicationProtocol {
        let service = SyncService(storage: station, authentication: .sharedToken(syncSecret))
        return Application(router: SyncServer.router(service: service, records: station, logger: Logger(label: "test")))
    }

    var auth: HTTPFields { [.authorization: "Bearer \(userToken)", .contentType: "application/json"] }

    func json(_ response: TestResponse) -> JSONValue {
        (try? JSONParser.parse(bytes: Array(response.body.readableBytesView))) ?? .string("not JSON: \(String(buffer: response.body))")
    }

    func body(_ text: String) -> ByteBuffer { ByteBuffer(string: text) }

    @Test func aUserWritesReadsAndFindsRecords() async throws {
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/v1/records/charity_stock/stk-1", method: .put, headers: auth,
                body: body(#"{"itemName": "Rice, 10 kg bag", "quantity": 20, "pointsPrice": 30, "shelf": "A1"}"#)
            ) { response in
                #expect(response.status == .ok, "\(String(buffer: response.body))")
                #expect(json(response).objectValue?["fields"]?.objectValue?["quantity"] == 20)
                #expect(response.headers[HTTPField.Name("X-StationSync-Changed")!] == "true")
            }
            try await client.execute(
                uri: "/v1/records/charity_stock/stk-1/add", method: .post, headers: auth, body: body(#"{"field": "quantity", "amount": -2}"#)
            ) { response in
                #expect(json(response).objectValue?["fields"]?.objectValue?["quantity"] == 18)
            }
            // PATCH sets the given fields; PUT makes the record exactly the given ones (counters kept).
            try await client.execute(
                uri: "/v1/records/charity_stock/stk-1", method: .patch, headers: auth, body: body(#"{"pointsPrice": 28}"#)
            ) { response in
                let fields = json(response).objectValue?["fields"]?.objectValue
                #expect(fields?["pointsPrice"] == 28 && fields?["shelf"] == "A1")
            }
            try await client.execute(
                uri: "/v1/records/charity_stock/stk-1", method: .put, headers: auth, body: body(#"{"itemName": "Rice", "pointsPrice": 28}"#)
            ) { response in
                let fields = json(response).objectValue?["fields"]?.objectValue
                #expect(fields?["shelf"] == nil && fields?["quantity"] == 18 && fields?["itemName"] == "Rice", "\(json(response))")
            }
            // A list with a condition and an order, and a search.
            for i in 2...6 {
                try await client.execute(
                    uri: "/v1/records/charity_stock/stk-\(i)", method: .put, headers: auth,
                    body: body(#"{"itemName": "Oil \#(i)", "quantity": \#(i)}"#)
                ) { _ in }
            }
            try await client.execute(uri: "/v1/records/charity_stock?where=quantity%3C5&sort=-quantity&limit=2", method: .get, headers: auth) {
                response in
                let o = json(response).objectValue
                #expect(o?["records"]?.arrayValue?.map { $0.objectValue?["id"] } == ["stk-4", "stk-3"], "\(json(response))")
                #expect(o?["next"]?.stringValue != nil)
                #expect(o?["plan"]?.stringValue?.contains("index on quantity") == true)
            }
            try await client.execute(uri: "/v1/records/charity_stock?search=oil", method: .get, headers: auth) { response in
                #expect(json(response).objectValue?["records"]?.arrayValue?.count == 5, "\(json(response))")
            }
            // The history names the user.
            try await client.execute(uri: "/v1/records/charity_stock/stk-1/history", method: .get, headers: auth) { response in
                let entries = json(response).arrayValue ?? []
                #expect(entries.count == 4)
                #expect(
                    entries.allSatisfy { $0.objectValue?["writes"]?.arrayValue?.first?.objectValue?["author"] == "Li Na" }, "\(json(response))")
            }
            // The change feed, from the start, then waiting for what comes next.
            var next: Int64 = 0
            try await client.execute(uri: "/v1/records/_changes?since=0&limit=1000", method: .get, headers: auth) { response in
                let o = json(response).objectValue
                #expect(o?["records"]?.arrayValue?.count == 6)
                next = o?["next"]?.intValue ?? 0
            }
            try await client.execute(uri: "/v1/records/_changes?since=\(next)&wait=0.3", method: .get, headers: auth) { response in
                #expect(json(response).objectValue?["records"]?.arrayValue?.isEmpty == true)
            }
            try await client.execute(uri: "/v1/records/charity_stock/stk-2", method: .delete, headers: auth) { response in
                #expect(json(response).objectValue?["deleted"] == true)
            }
            try await client.execute(uri: "/v1/records/_changes?since=\(next)&wait=5", method: .get, headers: auth) { response in
                #expect(json(response).objectValue?["records"]?.arrayValue?.map { $0.objectValue?["id"] } == ["stk-2"])
            }
        }
    }

    @Test func refusalsAreCodedAndChangeNothing() async throws {
        try station.put("charity_stock", "stk-1", ["itemName": "Rice", "quantity": 1])
        let before = try station.lastSequence()
        try await app().test(.router) { client in
            let cases: [(String, HTTPRequest.Method, String?, Int, String)] = [
                ("/v1/records/charity_stock/stk-1", .patch, #"{"quantiy": 3}"#, 400, "unknownField"),
                ("/v1/records/charity_stock/stk-1", .patch, #"{"quantity": "many"}"#, 400, "wrongType"),
                ("/v1/records/charity_stock/stk-1", .patch, "[1]", 400, "invalidRequest"),
                ("/v1/records/charity_stock/stk-1", .patch, "{not json", 400, "invalidJSON"),
                ("/v1/records/charity_stock/stk-1/add", .post, #"{"field": "quantity", "amount": -5}"#, 400, "outOfBounds"),
                ("/v1/records/charity_stock/stk-9/add", .post, #"{"field": "quantity", "amount": 1}"#, 404, "recordNotFound"),
                ("/v1/records/charity_stock/stk-9", .get, nil, 404, "recordNotFound"),
                ("/v1/records/nothing_here/x", .get, nil, 404, "unknownCollection"),
                ("/v1/records/charity_stock?where=quantity~1", .get, nil, 400, "invalidQuery"),
                ("/v1/records/charity_stock?limit=0", .get, nil, 400, "invalidRequest"),
                ("/v1/records/_changes?wait=999", .get, nil, 400, "invalidRequest"),
                ("/v1/records/_changes?since=99&wait=30", .get, nil, 400, "invalidCursor"),
                ("/v1/records/_conflicts/0123456789abcdef/resolve", .post, #"{"accept": true}"#, 404, "conflictNotFound"),
                ("/v1/records/_conflicts?status=bogus", .get, nil, 400, "invalidRequest"),
                ("/v1/records/charity_stock/stk-1/add", .post, #"{"field": "quantity", "amount": 1, "create": "yes"}"#, 400, "invalidRequest"),
                ("/v1/records/charity_stock/stk-1/add", .post, #"{"field": "quantity", "amount": 1, "extra": true}"#, 400, "invalidRequest"),
                ("/v1/records/charity_stock/a%ZZb", .get, nil, 400, "invalidRequest"),
                ("/v1/records/charity_stock?search=" + String(repeating: "a", count: 65), .get, nil, 400, "invalidQuery"),
            ]
            for (uri, method, text, status, code) in cases {
                try await client.execute(uri: uri, method: method, headers: auth, body: text.map(body)) { response in
                    #expect(response.status.code == status, "\(method) \(uri): \(String(buffer: response.body))")
                    #expect(json(response).objectValue?["error"] == .string(code), "\(method) \(uri): \(json(response))")
                }
            }
        }
        #expect(try station.lastSequence() == before)
    }

    @Test func pathsArePercentDecodedAndTheSchemeIsAnyCase() async throws {
        try await app().test(.router) { client in
            let lower: HTTPFields = [.authorization: "bearer \(userToken)"]
            try await client.execute(
                uri: "/v1/records/charity_stock/caf%C3%A9%20b", method: .put, headers: lower, body: body(#"{"itemName": "x", "quantity": 1}"#)
            ) { response in
                #expect(response.status == .ok, "\(json(response))")
                #expect(json(response).objectValue?["id"] == .string("caf\u{E9} b"))
            }
            // Adding 0 says it changed nothing.
            try await client.execute(
                uri: "/v1/records/charity_stock/caf%C3%A9%20b/add", method: .post, headers: lower, body: body(#"{"field": "quantity", "amount": 0}"#)
            ) { response in
                #expect(response.headers[HTTPField.Name("X-StationSync-Changed")!] == "false")
            }
        }
        #expect(try station.record("charity_stock", "caf\u{E9} b") != nil)
    }

    @Test func onlyAUsersTokenOpensIt() async throws {
        try await app().test(.router) { client in
            for header in [nil, "Bearer \(syncSecret)", "Bearer user_nope", "Basic bGk6bmE="] {
                var headers: HTTPFields = [:]
                if let header { headers[.authorization] = header }
                try await client.execute(uri: "/v1/records/charity_stock", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized, "\(header ?? "none")")
                    #expect(json(response).objectValue?["error"] == "unauthorized")
                }
            }
            // …and a user's token does not open the sync routes.
            try await client.execute(uri: "/v1/changes", method: .get, headers: [.authorization: "Bearer \(userToken)"]) { response in
                #expect(response.status == .unauthorized)
            }
            // A removed user's token stops working.
            try station.removeUser("Li Na")
            try await client.execute(uri: "/v1/records/charity_stock", method: .get, headers: auth) { response in
                #expect(response.status == .unauthorized)
            }
        }
    }

    @Test func aConflictIsResolvedByTheUser() async throws {
        try station.put("charity_stock", "stk-1", ["itemName": "Rice", "quantity": 1])
        // A concurrent write from another station: the itemName register holds both.
        let other = try StationStore.create(path: dir + "/hotline.sqlite", node: "hotline", schema: DefaultSchema.schema)
        let here = try #require(try station.record("charity_stock", "stk-1")).state
        try other.write { tx in _ = try tx.merge("charity_stock", "stk-1", here, from: "charity") }
        try other.put("charity_stock", "stk-1", ["itemName": "Rice (hotline)"], author: "Zhang Wei")
        try station.put("charity_stock", "stk-1", ["itemName": "Rice (charity)"])
        let theirs = try #require(try other.record("charity_stock", "stk-1")).state
        try station.write { tx in _ = try tx.merge("charity_stock", "stk-1", theirs, from: "hotline") }
        try await app().test(.router) { client in
            var id = ""
            try await client.execute(uri: "/v1/records/_conflicts", method: .get, headers: auth) { response in
                let list = json(response).arrayValue ?? []
                #expect(list.count == 1, "\(json(response))")
                id = list.first?.objectValue?["id"]?.stringValue ?? ""
                let authors = list.first?.objectValue?["values"]?.arrayValue?.compactMap { $0.objectValue?["author"]?.stringValue }
                #expect(authors == ["Zhang Wei"], "\(json(response))")
            }
            try await client.execute(uri: "/v1/records/_conflicts/\(id)/resolve", method: .post, headers: auth, body: body(#"{"choose": 1}"#)) {
                response in
                #expect(response.status == .ok, "\(json(response))")
                #expect(json(response).objectValue?["resolution"]?.objectValue?["person"] == "Li Na")
            }
        }
    }
}
