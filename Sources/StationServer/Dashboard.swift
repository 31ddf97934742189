import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import StationCore
import StationHub
import StationSync

/// The operator's dashboard at `/ui`: every station with its last sync and how far behind it is,
/// the open conflicts with their values side by side (resolvable from the page), recently
/// resolved conflicts, and record counts per collection. Plain server-rendered HTML, no external
/// assets.
///
/// A real web sign-in: an operator token (`hub token add NAME --operator`) opens a server-side
/// session (``OperatorSession``); the cookie holds only the session's random id (HttpOnly,
/// SameSite=Strict, `Secure` under HTTPS), the hub a hash of it. Every POST needs the session's
/// CSRF token and, from a browser, this page's own origin. Notices come from the session, never
/// from the URL. The token's read and write lists limit what the page shows and resolves, and
/// every resolution records the operator's name.
enum Dashboard {
    static let cookie = "stationsync_session"
    /// How long a session lasts (12 hours).
    static let sessionLifetime = 12 * 3600

    /// A signed-in operator: the session, its hashed id, and what the token allows.
    struct SignedIn {
        var idHash: String
        var session: OperatorSession
        var principal: Principal
        /// The operator's name (the token's station name).
        var name: String
    }

    static func add(to router: Router<StationRequestContext>, service: SyncService, storage: any HubStorage, secureCookies: Bool, logger: Logger) {
        router.get("/") { _, _ in Response.redirect(to: "/ui", type: .normal) }
        router.get("/ui") { request, _ in
            guard let signedIn = try await signedIn(request, storage) else { return html(loginPage(error: nil), status: .ok) }
            let flash = signedIn.session.flash
            if flash != nil { try await storage.setOperatorFlash(idHash: signedIn.idHash, nil) }
            var query: [String: String] = [:]
            for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
            let page = try await render(storage: storage, signedIn: signedIn, flash: flash, filter: ConflictFilter(query))
            return html(page, status: .ok)
        }
        // Accepts every automatic decision the filter holds (every page of it) that the token may
        // write: one resolution write per conflict, each recorded with the operator's name.
        router.post("/ui/conflicts/accept-all") { request, _ in
            guard sameOrigin(request, secure: secureCookies) else { return forbidden() }
            guard let signedIn = try await signedIn(request, storage) else {
                return html(loginPage(error: "Please sign in again."), status: .unauthorized)
            }
            let form = HTML.form(try await body(request))
            guard validCSRF(form, signedIn) else { return forbidden() }
            let filter = ConflictFilter(form)
            let now = UInt64(Date().timeIntervalSince1970 * 1000)
            // A collection this hub does not hold has no conflicts: the filter holds none.
            let known = filter.collection.map { storage.schema.collections[$0] != nil } ?? true
            let held = known ? try await storage.conflictReports(collection: filter.collection, status: .open) : []
            let chosen = held.filter {
                $0.automatic && signedIn.principal.read.allows($0.collection) && signedIn.principal.write.allows($0.collection)
                    && filter.holds($0, now: now)
            }
            var accepted = 0
            var failed: [String] = []
            for c in chosen {
                do {
                    try await storage.resolveConflict(id: c.id, .accept, person: signedIn.name)
                    accepted += 1
                } catch {
                    failed.append("\(c.collection)/\(c.recordID) \(c.field): \(error)")
                }
            }
            logger.info(
                "automatic decisions accepted from the dashboard", metadata: ["accepted": "\(accepted)", "operator": "\(signedIn.name)"])
            let message =
                "Accepted \(accepted) automatic decision\(accepted == 1 ? "" : "s") (one resolution write each, by \(signedIn.name))."
                + (failed.isEmpty ? "" : " Not accepted: " + failed.prefix(5).joined(separator: "; "))
            try await storage.setOperatorFlash(idHash: signedIn.idHash, String(message.prefix(2000)))
            return Response.redirect(to: filter.query(page: 1), type: .found)
        }
        router.post("/ui/login") { request, _ in
            guard sameOrigin(request, secure: secureCookies) else { return forbidden() }
            let form = HTML.form(try await body(request))
            let token = (form["token"] ?? "").trimmingCharacters(in: .whitespaces)
            guard let principal = try? await service.authenticate(authorization: "Bearer \(token)"), principal.isOperator,
                let tokenID = token.split(separator: ".").first.map(String.init)
            else {
                return html(loginPage(error: "That is not a valid operator token."), status: .unauthorized)
            }
            let id = Tokens.randomSecret()
            try await storage.createOperatorSession(idHash: hash(id), tokenID: tokenID, csrf: Tokens.randomSecret(), lifetime: sessionLifetime)
            logger.info("operator signed in to the dashboard", metadata: ["operator": "\(principal.station ?? "?")", "token": "\(tokenID)"])
            var response = Response.redirect(to: "/ui", type: .found)
            response.headers[.setCookie] =
                "\(cookie)=\(id); Path=/ui; HttpOnly; SameSite=Strict; Max-Age=\(sessionLifetime)\(secureCookies ? "; Secure" : "")"
            return response
        }
        router.post("/ui/logout") { request, _ in
            guard sameOrigin(request, secure: secureCookies) else { return forbidden() }
            let form = HTML.form(try await body(request))
            if let signedIn = try await signedIn(request, storage) {
                guard validCSRF(form, signedIn) else { return forbidden() }
                try await storage.endOperatorSession(idHash: signedIn.idHash)
            }
            var response = Response.redirect(to: "/ui", type: .found)
            response.headers[.setCookie] = "\(cookie)=; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=0\(secureCookies ? "; Secure" : "")"
            return response
        }
        router.post("/ui/conflicts/:id/resolve") { request, context in
            guard sameOrigin(request, secure: secureCookies) else { return forbidden() }
            guard let signedIn = try await signedIn(request, storage) else {
                return html(loginPage(error: "Please sign in again."), status: .unauthorized)
            }
            let form = HTML.form(try await body(request))
            guard validCSRF(form, signedIn) else { return forbidden() }
            let id = context.parameters.get("id") ?? ""
            let message: String
            do {
                let choice: RecordState.ResolutionChoice
                switch form["action"] {
                case "choose":
                    guard let index = form["index"].flatMap({ Int($0) }) else { throw SyncError(.badRequest, "no value chosen") }
                    choice = .choose(index)
                case "accept":
                    choice = .accept
                case "value":
                    choice = .value(try JSONParser.parse(form["value"] ?? ""))
                default:
                    throw SyncError(.badRequest, "unknown action")
                }
                // What the token may not read does not exist for it; what it may read but not
                // write, it may not resolve.
                guard let held = try await storage.conflictReport(id: id), signedIn.principal.read.allows(held.collection) else {
                    throw SyncError(.notFound, "no conflict \(id)")
                }
                guard signedIn.principal.write.allows(held.collection) else {
                    throw SyncError(.forbidden, "your token may not write \(held.collection)")
                }
                let report = try await storage.resolveConflict(id: id, choice, person: signedIn.name)
                message =
                    "Resolved \(report.collection)/\(report.recordID) \(report.field): kept "
                    + (report.resolution.map { ConflictDisplay.value($0.result, field: report.field) } ?? "?")
                    + ". Stations receive it at their next sync."
                logger.info("conflict resolved from the dashboard", metadata: ["conflict": "\(id)", "operator": "\(signedIn.name)"])
            } catch {
                message = "Could not resolve \(id.prefix(32)): \(error)"
            }
            try await storage.setOperatorFlash(idHash: signedIn.idHash, String(message.prefix(2000)))
            return Response.redirect(to: "/ui", type: .found)
        }
    }

    /// The operator signed in on this request's cookie, or nil: a live session whose token is a
    /// live operator token.
    static func signedIn(_ request: Request, _ storage: any HubStorage) async throws -> SignedIn? {
        guard let id = request.cookies[cookie]?.value, !id.isEmpty, id.utf8.count <= 128 else { return nil }
        let idHash = hash(id)
        do {
            guard let session = try await storage.operatorSession(idHash: idHash), let token = try await storage.token(id: session.tokenID),
                token.revokedAt == nil, token.isOperator
            else { return nil }
            let principal = Principal(station: token.station, read: token.read, write: token.write, relay: token.relay, isOperator: true)
            return SignedIn(idHash: idHash, session: session, principal: principal, name: token.station)
        }
    }

    /// Whether a POST comes from this dashboard's own pages: a browser says where a request comes
    /// from (`Origin`, `Sec-Fetch-Site`); a cross-site one is refused. (A request without them, from
    /// a program, still needs the session's CSRF token.)
    static func sameOrigin(_ request: Request, secure: Bool) -> Bool {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" { return false }
        guard let origin = request.headers[HTTPField.Name("Origin")!] else { return true }
        guard let host = request.head.authority ?? request.headers[HTTPField.Name("Host")!] else { return false }
        return origin == "\(secure ? "https" : "http")://\(host)"
    }

    static func validCSRF(_ form: [String: String], _ signedIn: SignedIn) -> Bool {
        guard let given = form["csrf"] else { return false }
        return Tokens.constantTimeEqual(Array(given.utf8), Array(signedIn.session.csrf.utf8))
    }

    static func forbidden() -> Response {
        html(DashboardTemplates.page("refused", title: "StationSync hub: refused", [String: String]()), status: .forbidden)
    }

    /// SHA-256 of a session id, hex: what the hub stores.
    static func hash(_ id: String) -> String {
        Tokens.hash(id).map { String(format: "%02x", $0) }.joined()
    }

    /// A form's body, at most 64 KiB: more is 413 (not a 500), before anyone is signed in too.
    static func body(_ request: Request) async throws -> [UInt8] {
        do {
            var buffer = try await request.body.collect(upTo: 64 * 1024)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch is NIOTooManyBytesError {
            throw HTTPError(.contentTooLarge, message: "A form on this page is at most 64 KiB.")
        }
    }

    static func html(_ page: String, status: HTTPResponse.Status) -> Response {
        let bytes = Array(page.utf8)
        return Response(
            status: status,
            headers: [.contentType: "text/html; charset=utf-8", .contentLength: String(bytes.count), .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    static func loginPage(error: String?) -> String {
        DashboardTemplates.page("login", title: "StationSync hub: sign in", LoginView(error: error))
    }

    struct LoginView {
        var error: String?
    }

    /// The signed-in page (templates ``DashboardTemplates``; the view below holds every text it shows).
    static func render(
        storage: any HubStorage, signedIn: SignedIn, flash: String?, filter: ConflictFilter = ConflictFilter()
    ) async throws
        -> String
    {
        let principal = signedIn.principal
        let activity = try await storage.stationActivity()
        let stations = Set(try await storage.tokens().filter { $0.revokedAt == nil && !$0.isOperator }.map(\.station)).union(activity.map(\.station))
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        // The token's read list limits what the page shows; its write list what it resolves.
        let allOpen = try await storage.conflictReports(collection: nil, status: .open).filter { principal.read.allows($0.collection) }
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let open = allOpen.filter { filter.holds($0, now: now) }
        let resolved = try await storage.conflictReports(collection: nil, status: .resolved).filter { principal.read.allows($0.collection) }
            .sorted { ($0.resolution?.time ?? .zero) > ($1.resolution?.time ?? .zero) }.prefix(20)
        let counts = try await storage.counts()
        // Nodes that more than one database pushed as (a restore, a copy, a reinstall, a token on
        // two devices): which one is live, which were retired or refused, and why.
        let writers = try await storage.nodeWriters()
        let eventful = Set(writers.filter { $0.status != .live }.map(\.node))

        var view = DashboardView(
            node: storage.node.rawValue, operatorName: signedIn.name, csrf: signedIn.session.csrf, flash: flash,
            lastSequence: try await storage.lastSequence())
        for name in stations {
            let a = activity.first { $0.station.hasSameBytes(as: name) }
            var row = DashboardView.StationRow(
                name: name, lastSeen: a.map { ConflictDisplay.ago($0.lastSeenAt) } ?? "never", pushed: a?.pushedChanges ?? 0)
            if let a, a.lastPullAt != nil {
                let n = try await storage.changeCount(after: a.pulledThrough)
                row.behind = n == 0 ? "up to date" : "\(n) change\(n == 1 ? "" : "s")"
                row.behindClass = n == 0 ? "ok" : "warn"
                row.lag = Int64(n)
            }
            row.clock = ClockOffset.status(a?.clockOffset)
            row.clockClass = row.clock == "ok" ? "ok" : row.clock == "unknown" ? "meta" : "warn"
            view.stations.append(row)
        }
        if filter.stationsByLag { view.stations.sort { $0.lag != $1.lag ? $0.lag > $1.lag : $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) } }
        view.sortLink = filter.query(stationsByLag: !filter.stationsByLag)
        view.sortLabel = filter.stationsByLag ? "by name" : "most behind first"
        view.writers = writers.filter { eventful.contains($0.node) }.map(DashboardView.WriterRow.init)
        view.hasWriters = !view.writers.isEmpty
        view.openCount = open.count
        view.allOpenCount = allOpen.count
        view.filtered = !filter.isEmpty
        let pages = max(1, (open.count + ConflictFilter.pageSize - 1) / ConflictFilter.pageSize)
        let page = min(filter.page, pages)
        let shown = open.dropFirst((page - 1) * ConflictFilter.pageSize).prefix(ConflictFilter.pageSize)
        view.conflicts = shown.map { DashboardView.ConflictView($0, writable: principal.write.allows($0.collection), csrf: signedIn.session.csrf) }
        view.pageNote = open.count > ConflictFilter.pageSize ? "page \(page) of \(pages), \(ConflictFilter.pageSize) a page" : nil
        view.previousPage = page > 1 ? filter.query(page: page - 1) : nil
        view.nextPage = page < pages ? filter.query(page: page + 1) : nil
        let acceptable = open.filter { $0.automatic && principal.write.allows($0.collection) }.count
        view.acceptAll = acceptable > 0 ? DashboardView.AcceptAll(count: acceptable, filter: filter, csrf: signedIn.session.csrf) : nil
        view.filterCollections = storage.schema.collectionNames.filter { principal.read.allows($0) }.map {
            DashboardView.Choice(value: $0, label: $0, selected: filter.collection.map($0.hasSameBytes) ?? false)
        }
        view.filterStations = stations.map { DashboardView.Choice(value: $0, label: $0, selected: filter.station.map($0.hasSameBytes) ?? false) }
        view.filterPolicies = ConflictPolicy.allCases.map {
            DashboardView.Choice(value: $0.rawValue, label: $0.rawValue, selected: filter.policy == $0)
        }
        view.filterAges = ConflictFilter.Age.allCases.map { DashboardView.Choice(value: $0.rawValue, label: $0.label, selected: filter.age == $0) }
        view.resolved = resolved.map(DashboardView.ResolvedRow.init)
        view.hasResolved = !view.resolved.isEmpty
        view.collections = storage.schema.collectionNames.filter { principal.read.allows($0) }.map { name in
            let n = counts[name] ?? (0, 0)
            return DashboardView.CollectionRow(name: name, alive: n.alive, deleted: n.deleted)
        }
        return DashboardTemplates.page(
            "dashboard", title: "StationSync hub" + (storage.node.rawValue == "hub" ? "" : " \(storage.node.rawValue)"), view)
    }
}

/// Everything the dashboard page shows, as the `dashboard` template reads it.
struct DashboardView {
    var node: String
    var operatorName: String
    var csrf: String
    var flash: String?
    var lastSequence: Int64
    var stations: [StationRow] = []
    var writers: [WriterRow] = []
    var hasWriters = false
    var openCount = 0
    /// Open conflicts the token may read, whatever the filter.
    var allOpenCount = 0
    var filtered = false
    var conflicts: [ConflictView] = []
    var pageNote: String?
    var previousPage: String?
    var nextPage: String?
    var acceptAll: AcceptAll?
    var filterCollections: [Choice] = []
    var filterStations: [Choice] = []
    var filterPolicies: [Choice] = []
    var filterAges: [Choice] = []
    var sortLink = "/ui?sort=lag"
    var sortLabel = "most behind first"

    /// An option of a filter's list.
    struct Choice {
        var value: String
        var label: String
        var selected: Bool
    }

    /// The "accept every automatic decision in this filter" form: the filter, sent back.
    struct AcceptAll {
        var count: Int
        var collection: String
        var station: String
        var policy: String
        var age: String
        var csrf: String

        init(count: Int, filter: ConflictFilter, csrf: String) {
            self.count = count
            collection = filter.collection ?? ""
            station = filter.station ?? ""
            policy = filter.policy?.rawValue ?? ""
            age = filter.age?.rawValue ?? ""
            self.csrf = csrf
        }
    }
    var resolved: [ResolvedRow] = []
    var hasResolved = false
    var collections: [CollectionRow] = []

    struct StationRow {
        var name: String
        var lastSeen: String
        var behind = "never synced"
        var behindClass = "err"
        var pushed: Int64
        var clock = "unknown"
        var clockClass = "meta"
        /// Changes behind, for sorting (never synced: the most).
        var lag = Int64.max

        init(name: String, lastSeen: String, pushed: Int64) {
            self.name = name
            self.lastSeen = lastSeen
            self.pushed = pushed
        }
    }

    struct WriterRow {
        var node: String
        var writer: String
        var status: String
        var statusClass: String
        var since: String
        var why: String
        var refusals: Int

        init(_ w: NodeWriter) {
            node = w.node
            writer = w.writer
            status = w.status.rawValue
            statusClass = w.status == .live ? "ok" : w.status == .refused ? "err" : "meta"
            since =
                w.status == .retired
                ? (w.retiredAt ?? "") : w.status == .refused ? (w.lastRefusedAt ?? w.firstSeenAt) : (w.lastPushAt ?? w.firstSeenAt)
            why = w.status == .retired ? "replaced by \(w.retiredBy ?? "?")" : w.status == .refused ? "another database is live" : (w.reason ?? "")
            refusals = w.refusals
        }
    }

    struct ConflictView {
        var conflictID: String
        var collection: String
        var recordID: String
        var field: String
        var policy: String
        var automatic: Bool
        var kind: String
        var rule: String
        var values: [ValueView]
        var writable: Bool
        var acceptLabel: String
        /// What the "write this value" form suggests; nil: no such form (the existence of a record).
        var valueHint: String?

        init(_ c: ConflictReport, writable: Bool, csrf: String) {
            conflictID = c.id
            collection = c.collection
            recordID = c.recordID
            field = c.field
            policy = c.policy.rawValue
            automatic = c.automatic
            kind = c.automatic ? "decided automatically" : "waits for a person"
            rule = c.rule
            self.writable = writable
            acceptLabel = c.automatic ? "Accept the automatic decision" : "Keep the shown value"
            valueHint =
                c.field == Conflict.existenceField
                ? nil : c.policy == .counter ? "the count, e.g. 97" : "new value as JSON, e.g. \"closed\""
            values = c.values.enumerated().map { i, v in
                ValueView(
                    conflictID: c.id, index: i, station: v.dot.node.station, author: v.author, dot: v.dot.description,
                    time: ConflictDisplay.time(v.time),
                    text: ConflictDisplay.value(v.value, field: c.field), isDecision: i == 0,
                    decisionNote: i == 0 && c.status == .open ? (c.automatic ? "automatic decision" : "shown until resolved") : nil,
                    writable: writable, csrf: csrf)
            }
        }
    }

    struct ValueView {
        var conflictID: String
        var index: Int
        var station: String
        /// Who wrote the value, when the write said.
        var author: String?
        var dot: String
        var time: String
        var text: String
        var isDecision: Bool
        var decisionNote: String?
        var writable: Bool
        var csrf: String
    }

    struct ResolvedRow {
        var conflictID: String
        var collection: String
        var recordID: String
        var field: String
        var how: String
        var by: String
        var time: String
        var kept: String

        init(_ c: ConflictReport) {
            let r = c.resolution!
            conflictID = c.id
            collection = c.collection
            recordID = c.recordID
            field = c.field
            how = r.how.rawValue
            by = r.person.map { "\($0) (\(r.by.node.station))" } ?? r.by.node.station
            time = ConflictDisplay.time(r.time)
            kept = ConflictDisplay.value(r.result, field: c.field)
        }
    }

    struct CollectionRow {
        var name: String
        var alive: Int
        var deleted: Int
    }
}

/// How conflict values and times read on the dashboard.
enum ConflictDisplay {
    static func value(_ v: JSONValue, field: String) -> String {
        if field == Conflict.existenceField, let b = v.boolValue { return b ? "delete" : "update (keep the record)" }
        if case .string(let s) = v { return s }
        return v.canonicalText
    }

    static func time(_ t: HLCTimestamp) -> String {
        let f = ISO8601DateFormatter()
        return f.string(from: Date(timeIntervalSince1970: Double(t.wall) / 1000))
    }

    /// "3 min ago" from SQLite's `YYYY-MM-DD HH:MM:SS` (UTC).
    static func ago(_ sqliteTime: String) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        guard let date = f.date(from: sqliteTime) else { return sqliteTime }
        let s = max(0, Int(Date().timeIntervalSince(date)))
        let text = s < 60 ? "\(s) s ago" : s < 3600 ? "\(s / 60) min ago" : s < 86_400 ? "\(s / 3600) h ago" : "\(s / 86_400) days ago"
        return "\(text) (\(sqliteTime) UTC)"
    }
}
