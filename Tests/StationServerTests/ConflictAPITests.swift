import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import StationCore
import StationSeeds
import StationServer
import StationStore
import StationSync
import Testing

/// The hub's conflict API and the operator's dashboard, in process.
@Suite struct ConflictAPITests {
    let dir: String
    let hub: StationStore
    let station: String
    let limited: String
    let operatorToken: String
    let conflictID: String

    init() throws {
        dir = NSTemporaryDirectory() + "stationsync-conflicts-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        hub = try StationStore.create(path: dir + "/hub.sqlite", node: "hub", schema: DefaultSchema.schema)
        let s = Tokens.make(station: "hotline", read: .all, write: .all, relay: false)
        let l = Tokens.make(station: "charity", read: .only(["charity_stock"]), write: .all, relay: false)
        let o = Tokens.make(station: "center", read: .all, write: .all, relay: false, isOperator: true)
        for t in [s, l, o] { try hub.addToken(t.stored) }
        station = s.token
        limited = l.token
        operatorToken = o.token
        // Two concurrent manual edits of a mediation case's status, merged at the hub.
        let c = try DefaultSchema.schema.collection("mediation_cases")
        var base = RecordState()
        try base.put(["status": "open"], by: "hotline", at: HLCTimestamp(wall: 1_000, logical: 0), in: c, id: "med-1")
        var a = base, b = base
        try a.put(["status": "session_postponed"], by: "hotline", at: HLCTimestamp(wall: 2_000, logical: 0), in: c, id: "med-1")
        try b.put(["status": "agreement_reached"], by: "civil-affairs", at: HLCTimestamp(wall: 3_000, logical: 0), in: c, id: "med-1")
        try hub.write { tx in
            try tx.merge("mediation_cases", "med-1", a, from: "hotline")
            try tx.merge("mediation_cases", "med-1", b, from: "civil-affairs")
        }
        conflictID = try #require(try hub.conflictReports().first?.id)
    }

    func app(secure: Bool = false) -> some ApplicationProtocol {
        Application(
            router: SyncServer.router(
                service: SyncService(storage: hub, authentication: .tokens), hub: hub, secureCookies: secure, logger: Logger(label: "test")))
    }

    /// A signed-in browser: its session cookie and the CSRF token its page carries.
    struct Browser {
        var cookie: String
        var csrf: String
    }

    /// Signs in with `token` and reads the page's CSRF token.
    func signIn(_ client: some TestClientProtocol, _ token: String) async throws -> Browser {
        let cookie = try await client.execute(
            uri: "/ui/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=\(token)")
        ) { r in
            #expect(r.status == .found)
            return String((r.headers[.setCookie] ?? "").split(separator: ";")[0])
        }
        let page = try await client.execute(uri: "/ui", method: .get, headers: [.cookie: cookie]) { text($0) }
        let csrf = try #require(page.range(of: #"name="csrf" value=""#).map { String(page[$0.upperBound...].prefix { $0 != "\"" }) }, "\(page)")
        return Browser(cookie: cookie, csrf: csrf)
    }

    /// POSTs a dashboard form.
    func post(
        _ client: some TestClientProtocol, _ uri: String, _ form: String, _ browser: Browser, origin: String? = nil
    ) async throws -> TestResponse {
        var headers: HTTPFields = [.cookie: browser.cookie, .contentType: "application/x-www-form-urlencoded"]
        if let origin { headers[HTTPField.Name("Origin")!] = origin }
        return try await client.execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: form)) { $0 }
    }

    func json(_ r: TestResponse) -> JSONValue { (try? JSONParser.parse(bytes: Array(r.body.readableBytesView))) ?? .null }
    func text(_ r: TestResponse) -> String { String(buffer: r.body) }

    @Test func listAndShowMatchTheCLIShapes() async throws {
        let id = conflictID
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/conflicts", method: .get, headers: [.authorization: "Bearer \(station)"]) { r in
                #expect(r.status == .ok)
                let first = json(r).arrayValue?.first?.objectValue
                #expect(first?["id"] == .string(id) && first?["status"] == "open" && first?["policy"] == "manual")
                #expect(first?["origins"] == ["civil-affairs", "hotline"])
            }
            try await client.execute(uri: "/v1/conflicts/\(id)", method: .get, headers: [.authorization: "Bearer \(station)"]) { r in
                let o = json(r).objectValue
                #expect(o?["values"]?.arrayValue?.compactMap { $0.objectValue?["value"] } == ["agreement_reached", "session_postponed"])
                #expect(o?["resolution"] == .null)
            }
            try await client.execute(uri: "/v1/conflicts?status=resolved", method: .get, headers: [.authorization: "Bearer \(station)"]) { r in
                #expect(json(r) == .array([]))
            }
        }
    }

    @Test func permissionsAndBadInput() async throws {
        let id = conflictID
        try await app().test(.router) { client in
            try await client.execute(uri: "/v1/conflicts", method: .get) { r in #expect(r.status == .unauthorized) }
            try await client.execute(uri: "/v1/conflicts", method: .get, headers: [.authorization: "Bearer \(limited)"]) { r in
                #expect(json(r) == .array([]))  // charity may not read mediation cases
            }
            try await client.execute(uri: "/v1/conflicts/\(id)", method: .get, headers: [.authorization: "Bearer \(limited)"]) { r in
                #expect(r.status == .notFound)
            }
            try await client.execute(uri: "/v1/conflicts?collection=mediation_cases", method: .get, headers: [.authorization: "Bearer \(limited)"]) {
                r in
                #expect(r.status == .forbidden)
            }
            try await client.execute(uri: "/v1/conflicts?collection=nope", method: .get, headers: [.authorization: "Bearer \(station)"]) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/v1/conflicts?status=maybe", method: .get, headers: [.authorization: "Bearer \(station)"]) { r in
                #expect(r.status == .badRequest)
            }
            try await client.execute(uri: "/v1/conflicts/0000000000000000", method: .get, headers: [.authorization: "Bearer \(station)"]) { r in
                #expect(r.status == .notFound && json(r).objectValue?["error"] == "not_found")
            }
        }
    }

    @Test func theDashboardNeedsAnOperatorAndResolves() async throws {
        let id = conflictID
        let op = operatorToken
        let stationToken = station
        try await app().test(.router) { client in
            try await client.execute(uri: "/ui", method: .get) { r in
                #expect(r.status == .ok && text(r).contains("Sign in") && !text(r).contains(id))
            }
            try await client.execute(
                uri: "/ui/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"],
                body: ByteBuffer(string: "token=\(stationToken)")
            ) { r in
                #expect(r.status == .unauthorized)  // a station's token is not an operator's
            }
            let browser = try await signIn(client, op)
            let cookie = browser.cookie
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: cookie]) { r in
                let page = text(r)
                #expect(page.contains("data-conflict=\"\(id)\"") && page.contains("agreement_reached") && page.contains("session_postponed"))
                #expect(page.contains("data-station=\"hotline\"") && page.contains("data-collection=\"mediation_cases\""))
                #expect(!page.contains("<script"))
            }
            #expect(try await post(client, "/ui/conflicts/\(id)/resolve", "action=choose&index=1&csrf=\(browser.csrf)", browser).status == .found)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: cookie]) { r in
                #expect(text(r).contains("Open conflicts (0)") && text(r).contains("class=\"resolved\" data-conflict=\"\(id)\""))
            }
        }
        let report = try #require(try hub.conflictReport(id: id))
        #expect(report.status == .resolved && report.resolution?.how == .choose && report.resolution?.by.node == "hub")
        #expect(report.resolution?.person == "center", "the operator's name is recorded")
        #expect(try hub.record("mediation_cases", "med-1")?.view.fields["status"] == "session_postponed")
    }

    @Test("The dashboard shows the stations that more than one database pushed as: live, retired, refused")
    func theDashboardShowsStationDatabases() async throws {
        try hub.write { tx in
            try tx.claimWriter(WriterClaim(node: "hotline", writer: "hotline.aaaa"))
            try tx.claimWriter(WriterClaim(node: "labor", writer: "labor.llll"))
            try tx.claimWriter(WriterClaim(node: "hotline", writer: "hotline.bbbb", lineage: ["hotline.aaaa"]))
        }
        #expect(throws: WriterRefusal.self) { try hub.write { tx in try tx.claimWriter(WriterClaim(node: "hotline", writer: "hotline.cccc")) } }
        let live = try #require(try hub.nodeWriters().first { $0.writer == "hotline.bbbb" })
        let refusal = WriterRefusal(claim: WriterClaim(node: "hotline", writer: "hotline.cccc"), live: live, wasRetired: false)
        await hub.noteRefusedWriter(refusal)
        let op = operatorToken
        try await app().test(.router) { client in
            let browser = try await signIn(client, op)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: browser.cookie]) { r in
                let page = text(r)
                #expect(page.contains("id=\"writers\""))
                #expect(page.contains("data-writer=\"hotline.bbbb\" data-status=\"live\""))
                #expect(page.contains("data-writer=\"hotline.aaaa\" data-status=\"retired\""))
                #expect(page.contains("data-writer=\"hotline.cccc\" data-status=\"refused\""))
                #expect(!page.contains("labor.llll"), "a station with one database is not listed")
            }
        }
    }

    @Test("A form over 64 KiB gets 413, before sign-in too, not a 500")
    func anOversizedFormIs413() async throws {
        let big = "token=" + String(repeating: "a", count: 70 * 1024)
        try await app().test(.router) { client in
            try await client.execute(
                uri: "/ui/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: big)
            ) { r in
                #expect(r.status == .contentTooLarge, "\(r.status)")
            }
        }
    }

    @Test func pageTextIsEscaped() async throws {
        try hub.put("residents", "<script>alert(1)</script>", ["fullName": "Lin", "notes": "<b>x</b>"])
        let c = try DefaultSchema.schema.collection("residents")
        var other = try #require(try hub.record("residents", "<script>alert(1)</script>")?.state)
        try other.put(
            ["notes": "<img src=x onerror=alert(2)>"], by: "hotline", at: HLCTimestamp(wall: 1, logical: 0), in: c, id: "<script>alert(1)</script>")
        var mine = try #require(try hub.record("residents", "<script>alert(1)</script>")?.state)
        try mine.put(["notes": "<i>y</i>"], by: "civil-affairs", at: HLCTimestamp(wall: 2, logical: 0), in: c, id: "<script>alert(1)</script>")
        try hub.write { tx in
            try tx.merge("residents", "<script>alert(1)</script>", other, from: "hotline")
            try tx.merge("residents", "<script>alert(1)</script>", mine, from: nil)
        }
        let op = operatorToken
        try await app().test(.router) { client in
            let cookie = try await signIn(client, op).cookie
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: cookie]) { r in
                let page = text(r)
                #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
                #expect(!page.contains("<script>") && !page.contains("<img src=x"))
            }
        }
    }

    /// Issue 12, finding 4: a real web sign-in.
    @Test("The cookie holds a session id, not the token; Secure under HTTPS; sign-out and revocation end the session")
    func theCookieHoldsASessionNotTheToken() async throws {
        let op = operatorToken
        try await app(secure: true).test(.router) { client in
            let setCookie = try await client.execute(
                uri: "/ui/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=\(op)")
            ) { $0.headers[.setCookie] ?? "" }
            #expect(setCookie.contains("HttpOnly") && setCookie.contains("SameSite=Strict") && setCookie.contains("; Secure"), "\(setCookie)")
            #expect(!setCookie.contains(op) && !setCookie.contains(String(op.split(separator: ".")[1])), "the cookie holds the token")
        }
        try await app().test(.router) { client in
            let browser = try await signIn(client, op)
            #expect(!browser.cookie.contains(String(op.split(separator: ".")[1])))
            // The session id is stored hashed.
            let id = String(browser.cookie.split(separator: "=")[1])
            #expect(try hub.operatorSession(idHash: id) == nil)
            #expect(try await post(client, "/ui/logout", "csrf=wrong", browser).status == .forbidden)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: browser.cookie]) { r in
                #expect(!text(r).contains("Sign in"), "a sign-out without the CSRF token ends nothing")
            }
            #expect(try await post(client, "/ui/logout", "csrf=\(browser.csrf)", browser).status == .found)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: browser.cookie]) { r in
                #expect(text(r).contains("Sign in"), "signed out, the old cookie opens nothing")
            }
            let again = try await signIn(client, op)
            #expect(try hub.revokeTokens(station: "center") == 1)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: again.cookie]) { r in
                #expect(text(r).contains("Sign in"), "a revoked token's session is over")
            }
        }
    }

    @Test("Every POST needs the session's CSRF token and, from a browser, the page's own origin")
    func postsNeedTheCSRFTokenAndTheOwnOrigin() async throws {
        let id = conflictID
        let op = operatorToken
        try await app().test(.router) { client in
            let browser = try await signIn(client, op)
            for (form, origin) in [
                ("action=accept", nil),  // no CSRF token
                ("action=accept&csrf=wrong", nil),
                ("action=accept&csrf=\(browser.csrf)", "http://evil.example"),
            ] {
                let r = try await post(client, "/ui/conflicts/\(id)/resolve", form, browser, origin: origin)
                #expect(r.status == .forbidden, "\(form) from \(origin ?? "no origin")")
            }
            #expect(try hub.conflictReport(id: id)?.status == .open)
            // A cross-site sign-in (login CSRF) is refused too.
            try await client.execute(
                uri: "/ui/login", method: .post,
                headers: [.contentType: "application/x-www-form-urlencoded", HTTPField.Name("Origin")!: "http://evil.example"],
                body: ByteBuffer(string: "token=\(op)")
            ) { r in #expect(r.status == .forbidden) }
            let ok = try await post(client, "/ui/conflicts/\(id)/resolve", "action=accept&csrf=\(browser.csrf)", browser, origin: "http://localhost")
            #expect(ok.status == .found)
            #expect(try hub.conflictReport(id: id)?.status == .resolved)
        }
    }

    @Test("No notice comes from the URL")
    func noNoticeFromTheURL() async throws {
        let op = operatorToken
        try await app().test(.router) { client in
            let browser = try await signIn(client, op)
            try await client.execute(uri: "/ui?msg=Your%20account%20is%20suspended", method: .get, headers: [.cookie: browser.cookie]) { r in
                #expect(!text(r).contains("suspended") && !text(r).contains("id=\"flash\""))
            }
        }
    }

    @Test("An operator token's read and write lists limit what the page shows and resolves")
    func theOperatorsListsLimitThePage() async throws {
        let id = conflictID
        let stockOnly = Tokens.make(station: "shop", read: .only(["charity_stock"]), write: .only(["charity_stock"]), relay: false, isOperator: true)
        let readOnly = Tokens.make(station: "viewer", read: .all, write: .only(["charity_stock"]), relay: false, isOperator: true)
        try hub.addToken(stockOnly.stored)
        try hub.addToken(readOnly.stored)
        try await app().test(.router) { client in
            let shop = try await signIn(client, stockOnly.token)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: shop.cookie]) { r in
                let page = text(r)
                #expect(!page.contains(id) && !page.contains("agreement_reached") && !page.contains("data-collection=\"mediation_cases\""))
                #expect(page.contains("data-collection=\"charity_stock\""))
            }
            #expect(try await post(client, "/ui/conflicts/\(id)/resolve", "action=accept&csrf=\(shop.csrf)", shop).status == .found)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: shop.cookie]) { r in
                #expect(text(r).contains("no conflict \(id)"), "\(text(r))")
            }
            let viewer = try await signIn(client, readOnly.token)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: viewer.cookie]) { r in
                let page = text(r)
                #expect(page.contains("data-conflict=\"\(id)\"") && !page.contains("/ui/conflicts/\(id)/resolve"))
                #expect(page.contains("may not write mediation_cases"))
            }
            #expect(try await post(client, "/ui/conflicts/\(id)/resolve", "action=accept&csrf=\(viewer.csrf)", viewer).status == .found)
            try await client.execute(uri: "/ui", method: .get, headers: [.cookie: viewer.cookie]) { r in
                #expect(text(r).contains("may not write mediation_cases"))
            }
        }
        #expect(try hub.conflictReport(id: id)?.status == .open)
    }
}
