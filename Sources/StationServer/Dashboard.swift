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
            let page = try await render(storage: storage, signedIn: signedIn, flash: flash)
            return html(page, status: .ok)
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
                token.revokedAt == nil, token.isOperator,
                let read = try? AccessList(parsing: token.read), let write = try? AccessList(parsing: token.write)
            else { return nil }
            let principal = Principal(station: token.station, read: read, write: write, relay: token.relay, isOperator: true)
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
        html(
            HTML.page(
                title: "StationSync hub: refused",
                body:
                    "<header><h1>StationSync hub</h1></header><main><section><h2>Refused</h2><p class=\"err\" id=\"refused\">This request did not come from the dashboard's own page. <a href=\"/ui\">Back to the dashboard</a></p></section></main>"
            ),
            status: .forbidden)
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
        HTML.page(
            title: "StationSync hub: sign in",
            body: """
                <header><h1>StationSync hub</h1></header>
                <main><section><h2>Sign in</h2>
                \(error.map { "<div class=\"flash error\" id=\"login-error\">\(HTML.escape($0))</div>" } ?? "")
                <form method="post" action="/ui/login">
                <p>Operator token (made with <code>hub token add NAME --operator</code>):</p>
                <p><input type="password" name="token" id="token" autocomplete="off" autofocus> <button type="submit" id="sign-in">Sign in</button></p>
                </form></section></main>
                """)
    }

    static func render(storage: any HubStorage, signedIn: SignedIn, flash: String?) async throws -> String {
        let principal = signedIn.principal
        let csrf = "<input type=\"hidden\" name=\"csrf\" value=\"\(HTML.escape(signedIn.session.csrf))\">"
        let last = try await storage.lastSequence()
        let activity = try await storage.stationActivity()
        let stations = Set(try await storage.tokens().filter { $0.revokedAt == nil && !$0.isOperator }.map(\.station)).union(activity.map(\.station))
            .sorted()
        // The token's read list limits what the page shows; its write list what it resolves.
        let open = try await storage.conflictReports(collection: nil, status: .open).filter { principal.read.allows($0.collection) }
        let resolved = try await storage.conflictReports(collection: nil, status: .resolved).filter { principal.read.allows($0.collection) }
            .sorted { ($0.resolution?.time ?? .zero) > ($1.resolution?.time ?? .zero) }.prefix(20)
        let counts = try await storage.counts()

        var b = ""
        b += "<header><h1>StationSync hub <span class=\"tag\">\(HTML.escape(storage.node.rawValue))</span></h1>"
        b +=
            "<form method=\"post\" action=\"/ui/logout\">\(csrf)<span>\(HTML.escape(signedIn.name))</span> <button class=\"secondary\" type=\"submit\">Sign out</button></form></header><main>"
        if let flash { b += "<div class=\"flash\" id=\"flash\">\(HTML.escape(flash))</div>" }

        b +=
            "<section id=\"stations\"><h2>Stations</h2><table><tr><th>Station</th><th>Last sync</th><th>Behind</th><th>Pushed here</th><th>Clock</th></tr>"
        for name in stations {
            let a = activity.first { $0.station == name }
            var behind = "never synced"
            var cls = "err"
            if let a, a.lastPullAt != nil {
                let n = try await storage.changeCount(after: a.pulledThrough)
                behind = n == 0 ? "up to date" : "\(n) change\(n == 1 ? "" : "s")"
                cls = n == 0 ? "ok" : "warn"
            }
            b += "<tr class=\"station\" data-station=\"\(HTML.escape(name))\"><td>\(HTML.escape(name))</td>"
            b += "<td>\(HTML.escape(a.map { ConflictDisplay.ago($0.lastSeenAt) } ?? "never"))</td>"
            let clock = ClockOffset.status(a?.clockOffset)
            let clockClass = clock == "ok" ? "ok" : clock == "unknown" ? "meta" : "warn"
            b += "<td class=\"\(cls)\">\(HTML.escape(behind))</td><td>\(a?.pushedChanges ?? 0)</td>"
            b += "<td class=\"\(clockClass) clock\">\(HTML.escape(clock))</td></tr>"
        }
        b += "</table><p class=\"meta\">The hub's change feed is at #\(last).</p></section>"

        // Nodes that more than one database pushed as (a restore, a copy, a reinstall, a token on
        // two devices): which one is live, which were retired or refused, and why.
        let writers = try await storage.nodeWriters()
        let eventful = Set(writers.filter { $0.status != .live }.map(\.node))
        if !eventful.isEmpty {
            b +=
                "<section id=\"writers\"><h2>Station databases</h2><p class=\"meta\">One database writes as each station; another one pushing as it is refused until it takes over (<code>station sync --take-over</code>).</p>"
            b += "<table><tr><th>Station</th><th>Database (writer)</th><th>Status</th><th>Since</th><th>Why</th><th>Refused pushes</th></tr>"
            for w in writers where eventful.contains(w.node) {
                let cls = w.status == .live ? "ok" : w.status == .refused ? "err" : "meta"
                let since =
                    w.status == .retired
                    ? (w.retiredAt ?? "") : w.status == .refused ? (w.lastRefusedAt ?? w.firstSeenAt) : (w.lastPushAt ?? w.firstSeenAt)
                let why =
                    w.status == .retired ? "replaced by \(w.retiredBy ?? "?")" : w.status == .refused ? "another database is live" : (w.reason ?? "")
                b +=
                    "<tr class=\"writer\" data-writer=\"\(HTML.escape(w.writer))\" data-status=\"\(w.status.rawValue)\"><td>\(HTML.escape(w.node))</td><td>\(HTML.escape(w.writer))</td>"
                b +=
                    "<td class=\"\(cls)\">\(w.status.rawValue)</td><td>\(HTML.escape(since))</td><td>\(HTML.escape(why))</td><td>\(w.refusals)</td></tr>"
            }
            b += "</table></section>"
        }

        b += "<section id=\"conflicts\"><h2>Open conflicts (\(open.count))</h2>"
        if open.isEmpty { b += "<p class=\"ok\">No open conflicts.</p>" }
        for c in open {
            let writable = principal.write.allows(c.collection)
            b += "<div class=\"conflict\(c.automatic ? " auto" : "")\" id=\"conflict-\(c.id)\" data-conflict=\"\(c.id)\">"
            b += "<div><strong>\(HTML.escape(c.collection))/\(HTML.escape(c.recordID))</strong> · field <strong>\(HTML.escape(c.field))</strong>"
            b +=
                "<span class=\"tag\">\(HTML.escape(c.policy))</span><span class=\"tag\">\(c.automatic ? "decided automatically" : "waits for a person")</span>"
            b += "<span class=\"meta\"> id \(c.id)</span></div><div class=\"meta\">\(HTML.escape(c.rule))</div><div class=\"values\">"
            for (i, v) in c.values.enumerated() {
                b +=
                    "<div class=\"value\(i == 0 ? " decision" : "")\" data-index=\"\(i)\"><div class=\"meta\">[\(i)] from <strong>\(HTML.escape(v.dot.node.station))</strong> · write \(HTML.escape(v.dot.description)) · \(HTML.escape(ConflictDisplay.time(v.time)))\(i == 0 && c.status == .open ? (c.automatic ? " · <strong>automatic decision</strong>" : " · <strong>shown until resolved</strong>") : "")</div>"
                b += "<pre>\(HTML.escape(ConflictDisplay.value(v.value, field: c.field)))</pre>"
                if writable {
                    b +=
                        "<form method=\"post\" action=\"/ui/conflicts/\(c.id)/resolve\">\(csrf)<input type=\"hidden\" name=\"action\" value=\"choose\"><input type=\"hidden\" name=\"index\" value=\"\(i)\"><button type=\"submit\" class=\"secondary\">Keep this</button></form>"
                }
                b += "</div>"
            }
            b += "</div>"
            if writable {
                b +=
                    "<form method=\"post\" action=\"/ui/conflicts/\(c.id)/resolve\" style=\"display:inline\">\(csrf)<input type=\"hidden\" name=\"action\" value=\"accept\"><button type=\"submit\">\(c.automatic ? "Accept the automatic decision" : "Keep the shown value")</button></form> "
                if c.field != Conflict.existenceField {
                    let hint = c.policy == FieldPolicy.counter.rawValue ? "the count, e.g. 97" : "new value as JSON, e.g. \"closed\""
                    b +=
                        "<form method=\"post\" action=\"/ui/conflicts/\(c.id)/resolve\" style=\"display:inline\">\(csrf)<input type=\"hidden\" name=\"action\" value=\"value\"><input type=\"text\" name=\"value\" placeholder='\(HTML.escape(hint))'> <button type=\"submit\" class=\"secondary\">Write this value</button></form>"
                }
            } else {
                b += "<p class=\"meta\">Your token may not write \(HTML.escape(c.collection)): resolve it with an operator token that may.</p>"
            }
            b += "</div>"
        }
        b += "</section>"

        b += "<section id=\"resolved\"><h2>Recently resolved</h2>"
        if resolved.isEmpty {
            b += "<p class=\"meta\">None yet.</p>"
        } else {
            b += "<table><tr><th>Record</th><th>Field</th><th>How</th><th>By</th><th>When</th><th>Kept</th></tr>"
            for c in resolved {
                let r = c.resolution!
                b +=
                    "<tr class=\"resolved\" data-conflict=\"\(c.id)\"><td>\(HTML.escape(c.collection))/\(HTML.escape(c.recordID))</td><td>\(HTML.escape(c.field))</td><td>\(r.how.rawValue)</td>"
                b +=
                    "<td>\(HTML.escape(r.person.map { "\($0) (\(r.by.node.station))" } ?? r.by.node.station))</td><td>\(HTML.escape(ConflictDisplay.time(r.time)))</td><td>\(HTML.escape(ConflictDisplay.value(r.result, field: c.field)))</td></tr>"
            }
            b += "</table>"
        }
        b += "</section>"

        b += "<section id=\"collections\"><h2>Records per collection</h2><table><tr><th>Collection</th><th>Records</th><th>Deleted</th></tr>"
        for name in storage.schema.collectionNames where principal.read.allows(name) {
            let n = counts[name] ?? (0, 0)
            b += "<tr data-collection=\"\(name)\"><td>\(HTML.escape(name))</td><td>\(n.alive)</td><td>\(n.deleted)</td></tr>"
        }
        b += "</table></section></main>"
        return HTML.page(title: "StationSync hub" + (storage.node.rawValue == "hub" ? "" : " \(storage.node.rawValue)"), body: b)
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
