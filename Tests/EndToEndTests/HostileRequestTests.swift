import Foundation
import Testing

/// Hand-made HTTP requests against a running hub: each refusal has the right status and a JSON
/// error body, and none changes the hub's data.
@Suite("Hostile requests to the hub")
struct HostileRequestTests {
    /// Checks a refusal: `status`, a JSON body `{"error": code, "message": …}`.
    private func expectRefusal(
        _ response: RawResponse, _ status: Int, code: String? = nil, _ what: String, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(response.status == status, "\(what): \(response)", sourceLocation: sourceLocation)
        #expect(response.headers["content-type"]?.hasPrefix("application/json") == true, "\(what): \(response)", sourceLocation: sourceLocation)
        let body = response.jsonObject
        #expect(body?["error"] is String && body?["message"] is String, "\(what): not a JSON error body: \(response)", sourceLocation: sourceLocation)
        if let code { #expect(body?["error"] as? String == code, "\(what): \(response)", sourceLocation: sourceLocation) }
    }

    private func post(_ port: Int, token: String?, body: Data) async throws -> RawResponse {
        var headers = [("Content-Type", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        return try await RawHTTP.request(port: port, method: "POST", path: "/v1/changes", headers: headers, body: body)
    }

    @Test("Bad tokens get 401, garbage bodies 400, another node's name 403, 40 MB 413; the hub's data is unchanged")
    func refusalsLeaveTheHubUnchanged() async throws {
        try await withCluster(["hotline", "charity"]) { cluster in
            let hotline = cluster["hotline"]
            let port = cluster.hub.port
            try await hotline.put("hotline_calls", "call-0500", ["callerName": "Gao Yan", "status": "open"])
            try await hotline.put("residents", "res-0500", ["fullName": "Gao Yan"])
            try await hotline.sync()
            let hubBefore = try await cluster.hubDB.changes()
            // The hub writes what it notes of a station's activity within a second (and its times
            // are to the second): wait past that, so the comparison below sees what the refused
            // requests did, and nothing of the sync before them.
            try await Task.sleep(for: .milliseconds(2100))
            let infoBefore = JSON.canonical(try await cluster.hub.info())

            // A valid change taken from the station's own feed, to push under the wrong name.
            let feed = try JSON.object(try await hotline.changes())
            let change = try #require((feed["changes"] as? [[String: Any]])?.first { $0["collection"] as? String == "hotline_calls" })
            let wire = ["collection": change["collection"]!, "id": change["id"]!, "state": change["state"]!]
            let writer = try #require(try await hotline.info()["writer"] as? String)
            let validPush = Data(JSON.text(["node": "hotline", "writer": writer, "changes": [wire]]).utf8)

            // 401: no token, a malformed one, an unknown one, a right id with a wrong secret.
            let tokenID = String(hotline.token.split(separator: ".")[0])
            for bad in [nil, "garbage", "0123456789abcdef.nope", "\(tokenID).wrong-secret"] as [String?] {
                expectRefusal(try await post(port, token: bad, body: validPush), 401, code: "unauthorized", "push with token \(bad ?? "(none)")")
                let session = try await RawHTTP.request(
                    port: port, method: "GET", path: "/v1/session", headers: bad.map { [("Authorization", "Bearer \($0)")] } ?? [])
                expectRefusal(session, 401, code: "unauthorized", "session with token \(bad ?? "(none)")")
            }
            // 400: not JSON; an unknown collection.
            expectRefusal(try await post(port, token: hotline.token, body: Data("garbage".utf8)), 400, code: "bad_request", "garbage body")
            let unknown = #"{"node":"hotline","changes":[{"collection":"nope","id":"x","state":{}}]}"#
            expectRefusal(try await post(port, token: hotline.token, body: Data(unknown.utf8)), 400, "unknown collection")
            // 400: a bad cursor and a bad limit on pulls.
            let badCursor = try await RawHTTP.request(
                port: port, method: "GET", path: "/v1/changes?since=zzz&limit=10", headers: [("Authorization", "Bearer \(hotline.token)")])
            expectRefusal(badCursor, 400, "bad cursor")
            // 403: hotline's token pushing in charity's name, with a well-formed change.
            let impostor = Data(JSON.text(["node": "charity", "changes": [wire]]).utf8)
            expectRefusal(try await post(port, token: hotline.token, body: impostor), 403, code: "forbidden", "push as another node")
            // 413: a 40 MB body.
            let huge = Data(repeating: UInt8(ascii: " "), count: 40 << 20)
            expectRefusal(try await post(port, token: hotline.token, body: huge), 413, code: "too_large", "40 MB body")

            #expect(try await cluster.hubDB.changes() == hubBefore, "a refused request changed the hub's data")
            try await Task.sleep(for: .milliseconds(2100))
            #expect(JSON.canonical(try await cluster.hub.info()) == infoBefore, "a refused request noted activity")

            // The well-formed push itself is accepted (so the refusals above were about what was wrong).
            let accepted = try await post(port, token: hotline.token, body: validPush)
            #expect(accepted.status == 200, "\(accepted)")
            #expect((accepted.jsonObject?["results"] as? [[String: Any]])?.first?["result"] as? String == "unchanged", "\(accepted)")
            #expect(try await cluster.hubDB.changes() == hubBefore, "an unchanged push changed the hub's data")

            // A revoked token gets 401 on its next request, through the real client too.
            let revoke = try await cluster.hub.ok(["token", "revoke", "--db", cluster.hub.db, "hotline"])
            #expect(revoke.stdout.contains("revoked 1 token"), "\(revoke)")
            expectRefusal(try await post(port, token: hotline.token, body: validPush), 401, code: "token_revoked", "revoked token")
            try await hotline.put("residents", "res-0501", ["fullName": "Written after revocation"])
            let refused = try await hotline.trySync()
            #expect(!refused.succeeded && refused.stderr.contains("401"), "\(refused)")
            #expect(try await cluster.hubDB.find("residents", "res-0501") == nil)
            #expect(try await cluster.hubDB.changes() == hubBefore, "the hub's data changed after revocation")
        }
    }

    @Test("A station's own (non-relay) token cannot rewrite a value another node wrote")
    func ownTokenCannotForgeAnotherNodesValue() async throws {
        try await withCluster(["hotline", "civil-affairs"]) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            try await civil.put("residents", "res-0700", ["fullName": "Tang Wei", "idNumber": "110105-0700"])
            try await civil.sync()
            let hubBefore = try await cluster.hubDB.changes()

            // The hub's state of the record, as civil affairs wrote it.
            let feed = try JSON.object(hubBefore)
            let change = try #require((feed["changes"] as? [[String: Any]])?.first { $0["id"] as? String == "res-0700" })
            var state = try #require(change["state"] as? [String: Any])
            var fields = try #require(state["fields"] as? [String: Any])
            let written = try #require((fields["fullName"] as? [[Any]])?.first)
            let hlc = try #require(jsonInt(written[2]))
            // A push in hotline's own name with hotline's own token: one new write of hotline (so
            // the clock passes the origin check), but it changes civil affairs' value under civil
            // affairs' own dot (civil-affairs, 1), as if civil affairs had written it.
            var clock = try #require(state["clock"] as? [String: Any])
            clock["hotline"] = 1
            state["clock"] = clock
            state["exists"] = [["hotline", 1, hlc + 1, true]]
            fields["fullName"] = [[written[0], written[1], hlc, "FORGED by hotline"]]
            state["fields"] = fields
            let body = JSON.text(["node": "hotline", "changes": [["collection": "residents", "id": "res-0700", "state": state]]])
            let response = try await RawHTTP.request(
                port: cluster.hub.port, method: "POST", path: "/v1/changes",
                headers: [("Authorization", "Bearer \(hotline.token)"), ("Content-Type", "application/json")], body: Data(body.utf8))

            // Refused for that record (a collision: the push's other records would go on).
            #expect(response.status == 200, "\(response)")
            #expect(
                String(decoding: response.body, as: UTF8.self).contains(#""result":"collision""#),
                "a forged value under civil-affairs' dot was accepted: \(response)")
            #expect(try await cluster.hubDB.changes() == hubBefore, "the forged push changed the hub's data")
            let atHub = try await cluster.hubDB.get("residents", "res-0700")
            #expect(atHub["fullName"] as? String == "Tang Wei", "the hub shows \(atHub)")
            // Nothing forged reaches the node it would have been attributed to.
            try await civil.sync()
            let atCivil = try await civil.get("residents", "res-0700")
            #expect(atCivil["fullName"] as? String == "Tang Wei", "civil affairs now shows its own write as \(atCivil)")
        }
    }

    @Test("A station that syncs with another station's token is refused, and loses none of that station's records")
    func anotherStationsTokenLosesNothing() async throws {
        try await withCluster(["hotline", "charity"]) { cluster in
            let hotline = cluster["hotline"], charity = cluster["charity"]
            try await hotline.put("hotline_calls", "call-0800", ["callerName": "Yu Ping", "category": "charity", "status": "open"])
            try await hotline.sync()

            // A mix-up: the charity desk is configured with the hotline's token.
            let mixedUp = try await charity.trySync(token: hotline.token)
            #expect(!mixedUp.succeeded, "a sync with another station's token succeeded:\n\(mixedUp)")
            #expect(mixedUp.stderr.contains("the token belongs to hotline but this node is charity"), "\(mixedUp)")
            // With its own token it gets the hotline's call: the refused sync moved no checkpoint.
            let own = try await charity.sync()
            let received = try await charity.find("hotline_calls", "call-0800")
            #expect(own.pulled == 1, "\(own)")
            #expect(received != nil, "charity never received hotline_calls/call-0800")
        }
    }
}
