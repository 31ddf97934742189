import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StationCore
import StationSync
import Synchronization

/// The records API of a station (`station serve`), for its own programs and page: records read and
/// written as reads show them, queries, search, history, conflicts and a change feed. Every
/// request carries a user's token (`station user add NAME`), never a sync token, and every write is
/// authored by that user. Errors are the protocol's JSON body with the core's codes
/// (`{"error": "unknownField", "message": …}`). Described in Protocol/openapi.yaml.
///
/// Names starting with `_` are no collection's (`[a-z][a-z0-9_]*`), so `/v1/records/_changes`
/// and `/v1/records/_conflicts` sit beside the collections.
enum RecordRoutes {
    /// Most records a page holds.
    static let maxLimit = 1000
    /// Longest a change-feed request waits for a change (`wait=`), in seconds.
    static let maxWait = 60.0
    /// Largest request body.
    static let maxBodyBytes = 16 << 20
    /// Most change-feed requests waiting at once (`wait=`); past it, one is answered at once, as
    /// with no wait: a program that leaks them cannot take the connections other local programs
    /// (all on loopback, one address) need.
    static let maxWaiting = 16

    static func add(to router: Router<StationRequestContext>, records: any LocalRecords, limits: SyncServer.Limits) {
        let group = router.group("/v1/records").add(middleware: UserAuthentication(records: records))
        let waiting = Waiting()

        group.get("/_changes") { request, context in
            _ = try context.signedInUser()
            let query = request.uri.queryParameters
            let since = try integer(query["since"], name: "since", default: 0, range: 0...Int64.max)
            let limit = Int(try integer(query["limit"], name: "limit", default: 100, range: 1...Int64(maxLimit)))
            let wait = try seconds(query["wait"])
            // A point past the feed's end is no point of this station's feed (another database's,
            // or this one replaced): said at once, not waited on.
            let last = try await call { try await records.lastSequence() }
            guard since <= last else {
                throw apiError(
                    400, "invalidCursor", "since \(since) is past the end of this station's feed (\(last)): start again from 0")
            }
            var answer = try await call { try await records.changedRecords(since: since, limit: limit) }
            if answer.records.isEmpty, wait > 0, waiting.enter() {
                defer { waiting.leave() }
                // Long poll: the feed's end is read again every 200 ms (a write by another process,
                // the command line, shows too) until something is new, the wait is over or the
                // server shuts down (then it answers what it has: nothing new).
                let deadline = ContinuousClock.now + .milliseconds(Int(wait * 1000))
                var end = try await call { try await records.lastSequence() }
                while end <= since, ContinuousClock.now < deadline, !Task.isShuttingDownGracefully, !Task.isCancelled {
                    try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(200)) }
                    end = try await call { try await records.lastSequence() }
                }
                if end > since { answer = try await call { try await records.changedRecords(since: since, limit: limit) } }
            }
            return SyncServer.json(
                .object(["records": .array(answer.records.map(\.json)), "next": .int(answer.next)]), request: request, limits: limits)
        }

        group.get("/_conflicts") { request, context in
            _ = try context.signedInUser()
            let query = request.uri.queryParameters
            let status: ConflictReport.Status?
            do { status = try ConflictRoutes.parseStatus(query["status"].map(String.init)) } catch {
                throw apiError(400, "invalidRequest", "status must be open, resolved or all")
            }
            let collection = query["collection"].map(String.init)
            if let collection { _ = try collectionSchema(collection, in: records) }
            let reports = try await call { try await records.conflictReports(collection: collection, status: status) }
            return SyncServer.json(.array(reports.map(\.json)), request: request, limits: limits)
        }

        group.post("/_conflicts/:conflict/resolve") { request, context in
            let user = try context.signedInUser()
            let id = try parameter(context, "conflict")
            let body = try await object(request)
            let choice: RecordState.ResolutionChoice
            switch (body["choose"], body["value"], body["accept"]) {
            case (let index?, nil, nil):
                guard let i = index.intValue else { throw apiError(400, "invalidRequest", "choose must be the index of a value") }
                choice = .choose(Int(i))
            case (nil, let value?, nil): choice = .value(value)
            case (nil, nil, .bool(true)?): choice = .accept
            default: throw apiError(400, "invalidRequest", "give exactly one of {\"choose\": INDEX}, {\"value\": JSON}, {\"accept\": true}")
            }
            let report = try await call { try await records.resolveConflict(id: id, choice, person: user.name) }
            return SyncServer.json(report.json, request: request, limits: limits)
        }

        group.get("/:collection") { request, context in
            _ = try context.signedInUser()
            let collection = try collectionSchema(try parameter(context, "collection"), in: records)
            let query = request.uri.queryParameters
            let limit = Int(try integer(query["limit"], name: "limit", default: 100, range: 1...Int64(maxLimit)))
            let after = query["after"].map(String.init)
            let page: QueryPage
            if let text = query["search"].map(String.init) {
                page = try await call { try await records.searchRecords(collection.name, text, after: after, limit: limit) }
            } else {
                var conditions: [RecordQuery.Condition] = []
                for text in query.getAll("where") {
                    do { conditions.append(try RecordQuery.Condition(parsing: text)) } catch { throw APIError(error) }
                }
                var find = RecordQuery(conditions: conditions)
                if let sort = query["sort"].map(String.init), !sort.isEmpty {
                    find.descending = sort.hasPrefix("-")
                    find.sortField = find.descending ? String(sort.dropFirst()) : sort
                }
                var start: RecordQuery.Position?
                if let after {
                    do { start = try RecordQuery.Position(cursor: after) } catch { throw APIError(error) }
                }
                page = try await call { try await records.findRecords(collection.name, find, after: start, limit: limit) }
            }
            return SyncServer.json(
                .object([
                    "records": .array(page.records.map(\.json)), "next": page.next.map { .string($0) } ?? .null, "plan": .string(page.plan),
                ]), request: request, limits: limits)
        }

        group.get("/:collection/:id") { request, context in
            _ = try context.signedInUser()
            let (collection, id) = try key(context, records)
            guard let record = try await call({ try await records.record(collection, id) }) else {
                throw apiError(404, "recordNotFound", "\(collection)/\(id) does not exist on this node")
            }
            return SyncServer.json(record.json, request: request, limits: limits)
        }

        for (method, replacing) in [(HTTPRequest.Method.put, true), (.patch, false)] {
            group.on("/:collection/:id", method: method) { request, context in
                let user = try context.signedInUser()
                let (collection, id) = try key(context, records)
                let values = try await object(request)
                let written = try await call {
                    try await records.writeRecord(collection, id, values, replacing: replacing, author: user.name)
                }
                return try await recordResponse(collection, id, records, request: request, limits: limits, changed: written.changed)
            }
        }

        group.delete("/:collection/:id") { request, context in
            let user = try context.signedInUser()
            let (collection, id) = try key(context, records)
            let deleted = try await call { try await records.deleteRecord(collection, id, author: user.name) }
            return try await recordResponse(collection, id, records, request: request, limits: limits, changed: deleted != nil)
        }

        group.post("/:collection/:id/add") { request, context in
            let user = try context.signedInUser()
            let (collection, id) = try key(context, records)
            let body = try await object(request)
            guard let field = body["field"]?.stringValue else { throw apiError(400, "invalidRequest", "\"field\" must name a counter field") }
            guard let amount = body["amount"]?.intValue else { throw apiError(400, "invalidRequest", "\"amount\" must be an integer") }
            if let extra = body.keys.sorted().first(where: { !["field", "amount", "create"].contains($0) }) {
                throw apiError(400, "invalidRequest", "unknown key \"\(extra.prefix(64))\" (the body takes field, amount and create)")
            }
            if let given = body["create"], given.boolValue == nil { throw apiError(400, "invalidRequest", "\"create\" must be true or false") }
            let create = body["create"]?.boolValue ?? false
            _ = try await call {
                try await records.addToCounter(collection, id, field: field, amount: amount, create: create, author: user.name)
            }
            return try await recordResponse(collection, id, records, request: request, limits: limits, changed: amount != 0)
        }

        group.get("/:collection/:id/history") { request, context in
            _ = try context.signedInUser()
            let (collection, id) = try key(context, records)
            let query = request.uri.queryParameters
            let after = try integer(query["after"], name: "after", default: 0, range: 0...Int64.max)
            let limit = Int(try integer(query["limit"], name: "limit", default: 100, range: 1...Int64(maxLimit)))
            let entries = try await call { try await records.recordHistory(collection, id, after: after, limit: limit) }
            return SyncServer.json(.array(entries.map(\.json)), request: request, limits: limits)
        }
    }

    // MARK: - Parts of requests

    /// The record a route names, its collection known.
    static func key(_ context: StationRequestContext, _ records: any LocalRecords) throws(APIError) -> (String, String) {
        let collection = try collectionSchema(try parameter(context, "collection"), in: records).name
        let id = try parameter(context, "id")
        do { try Names.checkRecordID(id, collection: collection) } catch { throw APIError(error) }
        return (collection, id)
    }

    /// A path parameter, percent-decoded (`caf%C3%A9` is the record `café`, as every HTTP client
    /// sends it); a malformed escape is refused.
    static func parameter(_ context: StationRequestContext, _ name: String) throws(APIError) -> String {
        let raw = context.parameters.get(name) ?? ""
        guard let decoded = raw.removingPercentEncoding else {
            throw apiError(400, "invalidRequest", "the \(name) in the path holds a malformed %-escape: \(String(raw.prefix(64)))")
        }
        return decoded
    }

    static func collectionSchema(_ name: String, in records: any LocalRecords) throws(APIError) -> CollectionSchema {
        do { return try records.schema.collection(name) } catch { throw APIError(error, status: 404) }
    }

    /// The record after a write: 200 with it, `X-StationSync-Changed: false` when the write
    /// changed nothing (a put of what the record shows).
    static func recordResponse(
        _ collection: String, _ id: String, _ records: any LocalRecords, request: Request, limits: SyncServer.Limits, changed: Bool
    ) async throws -> Response {
        guard let record = try await call({ try await records.record(collection, id) }) else {
            throw apiError(404, "recordNotFound", "\(collection)/\(id) does not exist on this node")
        }
        var response = SyncServer.json(record.json, request: request, limits: limits)
        response.headers[changedHeader] = changed ? "true" : "false"
        return response
    }

    static let changedHeader = HTTPField.Name("X-StationSync-Changed")!

    /// The request's body: a JSON object.
    static func object(_ request: Request) async throws -> [String: JSONValue] {
        var buffer = try await SyncServer.collectBody(request, max: maxBodyBytes, within: 60)
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes: bytes)
        } catch {
            throw apiError(400, "invalidJSON", "the body is not JSON: \(error)")
        }
        guard let object = value.objectValue else { throw apiError(400, "invalidRequest", "the body must be a JSON object") }
        return object
    }

    static func integer(_ text: Substring?, name: String, default value: Int64, range: ClosedRange<Int64>) throws(APIError) -> Int64 {
        guard let text else { return value }
        guard let n = Int64(text), range.contains(n) else {
            throw apiError(
                400, "invalidRequest", "\(name) must be an integer from \(range.lowerBound) to \(range.upperBound), not \"\(text.prefix(32))\"")
        }
        return n
    }

    static func seconds(_ text: Substring?) throws(APIError) -> Double {
        guard let text else { return 0 }
        guard let s = Double(text), s >= 0, s <= maxWait else {
            throw apiError(400, "invalidRequest", "wait must be a number of seconds from 0 to \(Int(maxWait)), not \"\(text.prefix(32))\"")
        }
        return s
    }

    /// Runs a storage call, its refusals as the API's errors.
    static func call<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as CoreError {
            throw APIError(error)
        }
    }

    static func apiError(_ status: Int, _ code: String, _ message: String) -> APIError {
        APIError(status: status, code: code, message: message)
    }
}

/// How many change-feed requests wait (``RecordRoutes/maxWaiting``).
final class Waiting: Sendable {
    private let count = Mutex(0)

    /// Takes a place if one is free.
    func enter() -> Bool {
        count.withLock { n in
            guard n < RecordRoutes.maxWaiting else { return false }
            n += 1
            return true
        }
    }

    func leave() { count.withLock { $0 -= 1 } }
}

/// A refusal of the records API: its status and the JSON error body with a code of the core's
/// kind (`recordNotFound`, `unknownField`, `wrongType`, …), naming the record or field.
struct APIError: Error, HTTPResponseError {
    var httpStatus: Int
    var code: String
    var message: String

    init(status: Int, code: String, message: String) {
        self.httpStatus = status
        self.code = code
        self.message = message
    }

    /// A core refusal: 404 for what is not there, else 400 (the request asked for what the record
    /// or its schema refuses); `status` overrides.
    init(_ error: CoreError, status: Int? = nil) {
        let notThere: Set<CoreError.Code> = [.recordNotFound, .conflictNotFound, .unknownCollection]
        self.init(status: status ?? (notThere.contains(error.code) ? 404 : 400), code: error.code.rawValue, message: error.message)
    }

    /// A core refusal as above; any other error is the node's own failure (500).
    init(_ error: any Error, status: Int? = nil) {
        if let core = error as? CoreError {
            self.init(core, status: status)
        } else {
            self.init(status: 500, code: "internal", message: "internal error")
        }
    }

    var status: HTTPResponse.Status { HTTPResponse.Status(code: httpStatus) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        SyncServer.errorResponse(status: httpStatus, code: code, message: message)
    }
}

/// Finds the user a records-API request is from: `Authorization: Bearer TOKEN`, a user's token
/// (`station user add NAME`). Anything else is 401 before the request is read further.
struct UserAuthentication: RouterMiddleware {
    typealias Context = StationRequestContext
    let records: any LocalRecords

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The scheme's name in any case (RFC 7235).
        guard let header = request.headers[.authorization], header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            throw APIError(
                status: 401, code: "unauthorized",
                message: "the records API needs a user's token (Authorization: Bearer TOKEN; station user add NAME)")
        }
        let token = String(header.dropFirst("Bearer ".count))
        guard let user = try await records.user(holdingToken: token) else {
            throw APIError(status: 401, code: "unauthorized", message: "no user of this station holds that token (station user list)")
        }
        var context = context
        context.user = user
        return try await next(request, context)
    }
}
