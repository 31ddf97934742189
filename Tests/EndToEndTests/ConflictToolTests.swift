import Foundation
import Testing

/// `station conflicts …` and `hub conflicts …` (list, show, resolve) on real processes: a conflict
/// is named and reported the same way on every node, and a resolution made at one station reaches
/// every node through the hub.
@Suite("Conflict tool across nodes")
struct ConflictToolTests {
    static let stations = ["hotline", "civil-affairs"]

    @Test("A manual conflict found at a station is at the hub after sync: same id, and `show --json` is equal on every node")
    func manualConflictIsTheSameEverywhere() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            let id = try await makeStatusConflict(cluster, record: "med-0201")
            let tools = [hotline.conflictTool, civil.conflictTool, cluster.hub.conflictTool]

            var lists: Set<String> = []
            for tool in tools {
                let listed = try await tool.list()
                #expect(listed.count == 1, "\(tool.name): one open conflict expected: \(JSON.canonical(listed))")
                let entry = try #require(listed.first, "\(tool.name): no open conflict listed")
                #expect(entry["id"] as? String == id, "\(tool.name): \(JSON.canonical(entry))")
                #expect(entry["collection"] as? String == "mediation_cases", "\(tool.name): \(JSON.canonical(entry))")
                #expect(entry["record"] as? String == "med-0201", "\(tool.name): \(JSON.canonical(entry))")
                #expect(entry["field"] as? String == "status", "\(tool.name): \(JSON.canonical(entry))")
                #expect(entry["policy"] as? String == "manual", "\(tool.name): \(JSON.canonical(entry))")
                #expect(entry["status"] as? String == "open", "\(tool.name): \(JSON.canonical(entry))")
                #expect(jsonBool(entry["automatic"]) == false, "\(tool.name): \(JSON.canonical(entry))")
                #expect(Set(entry["origins"] as? [String] ?? []) == ["hotline", "civil-affairs"], "\(tool.name): \(JSON.canonical(entry))")
                lists.insert(JSON.canonical(listed))
            }
            #expect(lists.count == 1, "list --json differs between nodes: \(lists)")

            // The id is the one `get --json` gives the record's conflict on each node.
            for node in [hotline, civil, cluster.hubDB] {
                let record = try await node.get("mediation_cases", "med-0201")
                #expect(record.conflict(on: "status")?["id"] as? String == id, "\(node.name): \(record)")
                #expect(record.conflicted == true, "\(node.name): \(record)")
            }

            let shows = try await showEverywhere(id, tools)
            let show = shows[0].report
            #expect(show["id"] as? String == id)
            #expect(show["status"] as? String == "open")
            #expect(show["policy"] as? String == "manual")
            #expect(jsonBool(show["automatic"]) == false)
            #expect(show["field"] as? String == "status")
            #expect(show["resolution"] is NSNull, "an open conflict has resolution null: \(JSON.canonical(show))")
            let values = try #require(show["values"] as? [[String: Any]], "values must be an array: \(JSON.canonical(show))")
            #expect(values.count == 2, "\(JSON.canonical(show))")
            #expect(Set(values.compactMap { $0["value"] as? String }) == ["in_mediation", "referred"], "\(JSON.canonical(show))")
            #expect(values.compactMap { $0["node"] as? String } == show["origins"] as? [String], "origins follow values: \(JSON.canonical(show))")
            for v in values {
                #expect((jsonInt(v["counter"]) ?? 0) >= 1 && (jsonInt(v["time"]) ?? 0) > 0, "\(JSON.canonical(v))")
            }
            #expect(jsonInt(show["since"]) == values.compactMap { jsonInt($0["time"]) }.min(), "since is the earliest write: \(JSON.canonical(show))")
            let decision = try #require(show["decision"] as? [String: Any], "no decision: \(JSON.canonical(show))")
            #expect(jsonInt(decision["index"]) == 0, "\(JSON.canonical(decision))")
            #expect(JSON.canonical(decision["value"]) == JSON.canonical(values[0]["value"]), "\(JSON.canonical(show))")
            #expect((decision["rule"] as? String)?.hasPrefix("manual") == true, "\(JSON.canonical(decision))")

            // Reads show the decision until someone resolves it.
            for node in [hotline, civil, cluster.hubDB] {
                let record = try await node.get("mediation_cases", "med-0201")
                #expect(JSON.canonical(record["status"]) == JSON.canonical(decision["value"]), "\(node.name): \(record)")
            }
        }
    }

    @Test("`resolve --choose 1` at one station resolves the conflict on every node after syncs")
    func chooseReachesEveryNode() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            let id = try await makeStatusConflict(cluster, record: "med-0202")
            let tools = [hotline.conflictTool, civil.conflictTool, cluster.hub.conflictTool]
            let before = try await hotline.conflictTool.show(id)
            let values = try #require(before["values"] as? [[String: Any]])
            try #require(values.count == 2, "\(JSON.canonical(before))")
            let chosen = values[1]["value"]

            let printed = try await hotline.conflictTool.resolve(id, ["--choose", "1"])
            #expect(printed["status"] as? String == "resolved", "\(JSON.canonical(printed))")
            // Not synced yet: the hub still holds the conflict open.
            #expect(try await cluster.hub.conflictTool.list().map { $0["id"] as? String } == [id])

            try await hotline.sync()
            try await civil.sync()

            for tool in tools {
                let open = try await tool.list()
                #expect(open.isEmpty, "\(tool.name): no open conflict expected after the resolution: \(JSON.canonical(open))")
                let resolved = try await tool.list(status: "resolved")
                #expect(resolved.count == 1, "\(tool.name): \(JSON.canonical(resolved))")
                #expect(resolved.first?["id"] as? String == id, "\(tool.name): \(JSON.canonical(resolved))")
                #expect(resolved.first?["status"] as? String == "resolved", "\(tool.name): \(JSON.canonical(resolved))")
            }
            let shows = try await showEverywhere(id, tools)
            let show = shows[0].report
            #expect(show["status"] as? String == "resolved", "\(JSON.canonical(show))")
            #expect(
                JSON.canonical(show["values"]) == JSON.canonical(before["values"]),
                "the competing values are kept as they were: \(JSON.canonical(show))")
            let resolution = try #require(show["resolution"] as? [String: Any], "no resolution: \(JSON.canonical(show))")
            #expect(resolution["how"] as? String == "choose", "\(JSON.canonical(resolution))")
            #expect(resolution["by"] as? String == "hotline", "\(JSON.canonical(resolution))")
            #expect(JSON.canonical(resolution["result"]) == JSON.canonical(chosen), "\(JSON.canonical(resolution))")
            #expect(JSON.canonical(printed) == JSON.canonical(show), "what resolve printed is what show prints everywhere")

            var views: Set<String> = []
            for node in [hotline, civil, cluster.hubDB] {
                let record = try await node.get("mediation_cases", "med-0202")
                #expect(JSON.canonical(record["status"]) == JSON.canonical(chosen), "\(node.name): \(record)")
                #expect(record.conflicted == false, "\(node.name): \(record)")
                #expect(record.conflicts.isEmpty, "\(node.name): \(record)")
                views.insert(record.replicatedView)
            }
            #expect(views.count == 1, "the nodes disagree: \(views)")
        }
    }

    @Test("`--value` writes a new value to a manual conflict, `--accept` keeps an lww decision; both reach every node")
    func valueAndAcceptReachEveryNode() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            let caseID = try await makeStatusConflict(cluster, record: "med-0203")

            try await hotline.put(
                "hotline_calls", "call-0203", ["callerName": "He Jun", "category": "noise", "summary": "neighbours at night", "notes": "first call"])
            try await hotline.sync()
            try await civil.sync()
            // Offline at both: `notes` is last-writer-wins.
            try await hotline.put("hotline_calls", "call-0203", ["notes": "called back, no answer"])
            try await civil.put("hotline_calls", "call-0203", ["notes": "mediation room will call"])
            try await hotline.sync()
            try await civil.sync()
            try await hotline.sync()

            let open = try await civil.conflictTool.list()
            #expect(Set(open.compactMap { $0["policy"] as? String }) == ["manual", "lww"], "\(JSON.canonical(open))")
            let notesEntry = try #require(open.first { $0["field"] as? String == "notes" }, "no notes conflict: \(JSON.canonical(open))")
            let notesID = try #require(notesEntry["id"] as? String)
            #expect(jsonBool(notesEntry["automatic"]) == true, "\(JSON.canonical(notesEntry))")
            let notesBefore = try await hotline.conflictTool.show(notesID)
            let decided = try #require((notesBefore["values"] as? [[String: Any]])?.first?["value"] as? String, "\(JSON.canonical(notesBefore))")
            #expect(try await hotline.get("hotline_calls", "call-0203")["notes"] as? String == decided)

            let byValue = try await civil.conflictTool.resolve(caseID, ["--value", #""agreement_reached""#])
            #expect((byValue["resolution"] as? [String: Any])?["how"] as? String == "value", "\(JSON.canonical(byValue))")
            let byAccept = try await hotline.conflictTool.resolve(notesID, ["--accept"])
            #expect((byAccept["resolution"] as? [String: Any])?["how"] as? String == "accept", "\(JSON.canonical(byAccept))")

            try await civil.sync()
            try await hotline.sync()
            try await civil.sync()

            let tools = [hotline.conflictTool, civil.conflictTool, cluster.hub.conflictTool]
            for tool in tools {
                #expect(try await tool.list().isEmpty, "\(tool.name): nothing should stay open")
                let resolved = try await tool.list(status: "resolved")
                #expect(Set(resolved.compactMap { $0["id"] as? String }) == [caseID, notesID], "\(tool.name): \(JSON.canonical(resolved))")
            }
            let caseShow = try await showEverywhere(caseID, tools)[0].report
            let caseResolution = try #require(caseShow["resolution"] as? [String: Any], "\(JSON.canonical(caseShow))")
            #expect(caseResolution["how"] as? String == "value", "\(JSON.canonical(caseResolution))")
            #expect(caseResolution["by"] as? String == "civil-affairs", "\(JSON.canonical(caseResolution))")
            #expect(caseResolution["result"] as? String == "agreement_reached", "\(JSON.canonical(caseResolution))")
            let notesShow = try await showEverywhere(notesID, tools)[0].report
            let notesResolution = try #require(notesShow["resolution"] as? [String: Any], "\(JSON.canonical(notesShow))")
            #expect(notesResolution["how"] as? String == "accept", "\(JSON.canonical(notesResolution))")
            #expect(notesResolution["by"] as? String == "hotline", "\(JSON.canonical(notesResolution))")
            #expect(notesResolution["result"] as? String == decided, "accept keeps values[0]: \(JSON.canonical(notesResolution))")

            for node in [hotline, civil, cluster.hubDB] {
                let mediation = try await node.get("mediation_cases", "med-0203")
                #expect(mediation["status"] as? String == "agreement_reached", "\(node.name): \(mediation)")
                #expect(mediation.conflicted == false && mediation.conflicts.isEmpty, "\(node.name): \(mediation)")
                let call = try await node.get("hotline_calls", "call-0203")
                #expect(call["notes"] as? String == decided, "\(node.name): \(call)")
                #expect(call.conflicts.isEmpty, "\(node.name): \(call)")
            }
        }
    }

    @Test("A delete-versus-update conflict is listed and `--choose` of the delete deletes the record everywhere")
    func chooseTheDelete() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            try await civil.put("residents", "res-0204", ["fullName": "Gao Yan", "phone": "555-0204"])
            try await civil.sync()
            try await hotline.sync()
            // Offline: the hotline deletes the resident, civil affairs updates the phone.
            try await hotline.delete("residents", "res-0204")
            try await civil.put("residents", "res-0204", ["phone": "555-0205"])
            try await hotline.sync()
            try await civil.sync()
            try await hotline.sync()

            let tools = [hotline.conflictTool, civil.conflictTool, cluster.hub.conflictTool]
            var id = ""
            for tool in tools {
                let open = try await tool.list()
                #expect(open.count == 1, "\(tool.name): \(JSON.canonical(open))")
                let entry = try #require(open.first, "\(tool.name): nothing listed")
                #expect(entry["field"] as? String == "_deleted", "\(tool.name): \(JSON.canonical(entry))")
                #expect(entry["policy"] as? String == "update-wins", "\(tool.name): \(JSON.canonical(entry))")
                #expect(jsonBool(entry["automatic"]) == true, "\(tool.name): \(JSON.canonical(entry))")
                if id.isEmpty { id = entry["id"] as? String ?? "" }
                #expect(entry["id"] as? String == id, "\(tool.name): \(JSON.canonical(entry))")
            }
            for node in [hotline, civil, cluster.hubDB] {
                #expect(try await node.get("residents", "res-0204").deleted == false, "\(node.name): update-wins keeps it alive")
            }
            let before = try await showEverywhere(id, tools)[0].report
            let values = try #require(before["values"] as? [[String: Any]], "\(JSON.canonical(before))")
            #expect(values.map { jsonBool($0["value"]) } == [false, true], "the update (shown) first, then the delete: \(JSON.canonical(before))")
            let deleteIndex = try #require(values.firstIndex { jsonBool($0["value"]) == true }, "no delete among \(JSON.canonical(before))")
            #expect(values[deleteIndex]["node"] as? String == "hotline", "\(JSON.canonical(before))")

            let text = try await civil.conflictTool.showText(id)
            #expect(text.contains("delete") && text.contains("update"), "the human form names the delete and the update:\n\(text)")

            try await civil.conflictTool.resolve(id, ["--choose", String(deleteIndex)])
            try await civil.sync()
            try await hotline.sync()

            for tool in tools {
                #expect(try await tool.list().isEmpty, "\(tool.name)")
                #expect(try await tool.list(status: "resolved").compactMap { $0["id"] as? String } == [id], "\(tool.name)")
            }
            let show = try await showEverywhere(id, tools)[0].report
            let resolution = try #require(show["resolution"] as? [String: Any], "\(JSON.canonical(show))")
            #expect(resolution["how"] as? String == "choose", "\(JSON.canonical(resolution))")
            #expect(resolution["by"] as? String == "civil-affairs", "\(JSON.canonical(resolution))")
            #expect(jsonBool(resolution["result"]) == true, "true: deleted: \(JSON.canonical(resolution))")

            var views: Set<String> = []
            for node in [hotline, civil, cluster.hubDB] {
                let record = try await node.get("residents", "res-0204")
                #expect(record.deleted == true, "\(node.name): the chosen delete should hold: \(record)")
                #expect(record.conflicts.isEmpty, "\(node.name): \(record)")
                views.insert(record.replicatedView)
                let listed = try JSON.array(try await node.ok(["list", "residents", "--json"]).stdout)
                #expect(listed.isEmpty, "\(node.name): a deleted resident is not listed: \(JSON.canonical(listed))")
            }
            #expect(views.count == 1, "the nodes disagree: \(views)")
        }
    }

    @Test("Resolving a field conflict in a record that also holds a delete-versus-update conflict leaves that conflict visible")
    func fieldResolutionKeepsTheDeleteConflictVisible() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            try await civil.put("residents", "res-0207", ["fullName": "Qin Hua", "address": "1 Elm Lane"])
            try await civil.sync()
            try await hotline.sync()
            // Offline: civil affairs corrects the address and then deletes the resident; the hotline
            // records another address (`address` is manual in residents, which are update-wins).
            try await civil.put("residents", "res-0207", ["address": "2 Oak Road"])
            try await civil.delete("residents", "res-0207")
            try await hotline.put("residents", "res-0207", ["address": "3 Pine Street"])
            try await civil.sync()
            try await hotline.sync()
            try await civil.sync()

            let open = try await hotline.conflictTool.list()
            let addressID = try #require(open.first { $0["field"] as? String == "address" }?["id"] as? String, "\(JSON.canonical(open))")
            let deletedID = try #require(open.first { $0["field"] as? String == "_deleted" }?["id"] as? String, "\(JSON.canonical(open))")
            let chosen = try #require((try await hotline.conflictTool.show(addressID)["values"] as? [[String: Any]])?.first?["value"] as? String)

            try await hotline.conflictTool.resolve(addressID, ["--choose", "0"])
            try await hotline.sync()
            try await civil.sync()

            for tool in [hotline.conflictTool, civil.conflictTool, cluster.hub.conflictTool] {
                let all = try await tool.list(status: "all")
                #expect(
                    all.contains { $0["id"] as? String == addressID && $0["status"] as? String == "resolved" }, "\(tool.name): \(JSON.canonical(all))"
                )
                // The resolution write replaces the existence register too, which ends the
                // delete-versus-update conflict; its history says so (resolved by that write).
                let resolvedIDs = Set(all.filter { $0["status"] as? String == "resolved" }.compactMap { $0["id"] as? String })
                #expect(resolvedIDs.contains(deletedID), "\(tool.name): the _deleted conflict \(deletedID) vanished: \(JSON.canonical(all))")
            }
            for node in [hotline, civil, cluster.hubDB] {
                let record = try await node.get("residents", "res-0207")
                #expect(record.deleted == false && record["address"] as? String == chosen, "\(node.name): \(record)")
            }
        }
    }

    @Test("Refused resolutions say why on stderr, exit non-zero and change nothing")
    func refusedResolutionsChangeNothing() async throws {
        try await withCluster(Self.stations) { cluster in
            let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
            let id = try await makeStatusConflict(cluster, record: "med-0205")
            let tool = civil.conflictTool
            let feed = try await civil.changes()

            func refused(_ args: [String], status: Int32? = nil, saying words: [String], _ what: String) async throws {
                let result = try await tool.run("resolve", args)
                #expect(!result.succeeded, "\(what): expected a refusal:\n\(result)")
                if let status { #expect(result.status == status, "\(what): exit \(status) expected:\n\(result)") }
                #expect(result.stdout.isEmpty, "\(what): nothing on stdout:\n\(result)")
                for word in words {
                    #expect(result.stderr.contains(word), "\(what): stderr should say \(word):\n\(result)")
                }
                #expect(try await civil.changes() == feed, "\(what) changed the database")
            }

            try await refused(["0123456789abcdef", "--choose", "0"], saying: ["no conflict 0123456789abcdef"], "an unknown id")
            try await refused(["0123456789abcdef", "--accept"], saying: ["no conflict"], "an unknown id with --accept")
            try await refused([id, "--choose", "5"], saying: [id, "5"], "--choose 5 of 2 values")
            try await refused([id, "--choose=-1"], saying: ["-1"], "--choose -1")
            try await refused([id, "--value", "mediated"], saying: ["--value"], "--value that is not JSON")
            try await refused([id, "--choose", "1", "--accept"], status: 64, saying: ["exactly one"], "--choose with --accept")
            try await refused([id, "--choose", "0", "--value", #""closed""#], status: 64, saying: ["exactly one"], "--choose with --value")
            try await refused([id, "--value", #""closed""#, "--accept"], status: 64, saying: ["exactly one"], "--value with --accept")
            try await refused([id], status: 64, saying: ["exactly one"], "no choice")
            let unknownShow = try await tool.run("show", ["0123456789abcdef"])
            #expect(!unknownShow.succeeded && unknownShow.stderr.contains("no conflict"), "\(unknownShow)")
            #expect(try await tool.list().map { $0["id"] as? String } == [id], "still open")

            // Resolved once; a second resolution is refused here, and at the other nodes once synced.
            try await tool.resolve(id, ["--choose", "0"])
            let resolvedFeed = try await civil.changes()
            let again = try await tool.run("resolve", [id, "--choose", "1"])
            #expect(!again.succeeded && again.stdout.isEmpty, "\(again)")
            #expect(again.stderr.contains("already resolved"), "\(again)")
            #expect(try await civil.changes() == resolvedFeed, "a refused second resolution changed the database")

            try await civil.sync()
            try await hotline.sync()
            for (node, other) in [(hotline, hotline.conflictTool), (cluster.hubDB, cluster.hub.conflictTool)] {
                let before = try await node.changes()
                let result = try await other.run("resolve", [id, "--accept"])
                #expect(!result.succeeded && result.stderr.contains("already resolved"), "\(other.name):\n\(result)")
                #expect(try await node.changes() == before, "\(other.name): a refused resolution changed the database")
            }
        }
    }

    @Test("The human `conflicts show` lists each value with its origin and write, marks the automatic decision, and has no ANSI codes in a pipe")
    func humanShow() async throws {
        try await withCluster(Self.stations + ["family-planning"]) { cluster in
            let hotline = cluster["hotline"], planning = cluster["family-planning"]
            let caseID = try await makeStatusConflict(cluster, record: "med-0206")

            // A node name longer than the table's columns: family-planning (15 characters).
            try await planning.put(
                "family_planning_services", "fps-0206", ["residentId": "res-0206", "serviceType": "check-up", "status": "scheduled"])
            try await planning.sync()
            try await hotline.sync()
            try await planning.put("family_planning_services", "fps-0206", ["status": "completed"])
            try await hotline.put("family_planning_services", "fps-0206", ["status": "cancelled"])
            try await planning.sync()
            try await hotline.sync()
            try await planning.sync()
            let planningID = try #require(
                try await planning.conflictTool.list(collection: "family_planning_services").first?["id"] as? String, "no conflict at family-planning"
            )

            for (id, tools) in [
                (caseID, [hotline.conflictTool, cluster["civil-affairs"].conflictTool, cluster.hub.conflictTool]),
                (planningID, [planning.conflictTool, hotline.conflictTool, cluster.hub.conflictTool]),
            ] {
                let report = try await tools[0].show(id)
                var texts: Set<String> = []
                for tool in tools {
                    let text = try await tool.showText(id)
                    print("--- \(tool.program) conflicts show \(id)   (at \(tool.name))\n\(text)")
                    try checkHumanShow(text, report, at: tool.name)
                    // The hint names the tool it was shown by (`station` or `hub`); the rest is the same everywhere.
                    #expect(text.contains("resolve with: \(tool.program) conflicts resolve \(id)"), "\(text)")
                    texts.insert(text.replacingOccurrences(of: "resolve with: \(tool.program) conflicts", with: "resolve with: conflicts"))
                }
                #expect(texts.count == 1, "the human form differs between nodes: \(texts)")
            }

            // Resolved: the human form says by whom and what was kept.
            try await hotline.conflictTool.resolve(caseID, ["--choose", "1"])
            let resolved = try await hotline.conflictTool.showText(caseID)
            print("--- station conflicts show \(caseID)   (at hotline, after resolve --choose 1)\n\(resolved)")
            #expect(!resolved.contains("\u{1B}"), "ANSI escape codes in a pipe:\n\(resolved)")
            #expect(resolved.contains("(resolved)") && resolved.contains("resolved by hotline") && resolved.contains("(choose)"), "\(resolved)")
            let list = try await hotline.conflictTool.ok("list", ["--status", "all"]).stdout
            #expect(!list.contains("\u{1B}"), "ANSI escape codes in a pipe:\n\(list)")
            #expect(list.contains(caseID) && list.contains(planningID), "\(list)")
        }
    }
}

// MARK: - Helpers

/// `mediation_cases/RECORD` made at civil affairs and synced to the hotline; then, with no sync in
/// between, civil affairs sets the manual field `status` to "in_mediation" and the hotline to
/// "referred"; then civil affairs, the hotline and civil affairs again sync, so both stations and
/// the hub hold the join. Returns the conflict's id as the hotline lists it.
private func makeStatusConflict(_ cluster: Cluster, record: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
    let hotline = cluster["hotline"], civil = cluster["civil-affairs"]
    try await civil.put(
        "mediation_cases", record, ["partyA": "Liu", "partyB": "Chen", "disputeType": "noise", "status": "open"],
        sourceLocation: sourceLocation)
    try await civil.sync(sourceLocation: sourceLocation)
    try await hotline.sync(sourceLocation: sourceLocation)
    try await civil.put("mediation_cases", record, ["status": "in_mediation"], sourceLocation: sourceLocation)
    try await hotline.put("mediation_cases", record, ["status": "referred"], sourceLocation: sourceLocation)
    try await civil.sync(sourceLocation: sourceLocation)
    try await hotline.sync(sourceLocation: sourceLocation)
    try await civil.sync(sourceLocation: sourceLocation)
    let listed = try await hotline.conflictTool.list(collection: "mediation_cases", sourceLocation: sourceLocation)
    let ids = listed.filter { $0["record"] as? String == record }.compactMap { $0["id"] as? String }
    try #require(ids.count == 1, "one conflict expected on mediation_cases/\(record): \(JSON.canonical(listed))", sourceLocation: sourceLocation)
    return ids[0]
}

/// `conflicts show ID --json` on every node, required equal (as parsed objects) on all of them.
private func showEverywhere(
    _ id: String, _ tools: [ConflictTool], sourceLocation: SourceLocation = #_sourceLocation
) async throws
    -> [(node: String, report: [String: Any])]
{
    var shows: [(node: String, report: [String: Any])] = []
    for tool in tools { shows.append((tool.name, try await tool.show(id, sourceLocation: sourceLocation))) }
    let (firstNode, first) = shows[0]
    for (node, report) in shows.dropFirst() {
        #expect(
            jsonEqual(report, first),
            "show \(id) --json differs:\n\(firstNode): \(JSON.canonical(first))\n\(node): \(JSON.canonical(report))", sourceLocation: sourceLocation)
    }
    return shows
}

/// Checks the human form of `conflicts show` against the JSON report: one row per value, in the
/// same order, with the value, its origin node, its write `(node,counter)` and time; the first row
/// marked as the automatic decision; no ANSI escape codes (stdout is a file).
private func checkHumanShow(_ text: String, _ report: [String: Any], at node: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(!text.contains("\u{1B}"), "\(node): ANSI escape codes although stdout is not a terminal:\n\(text)", sourceLocation: sourceLocation)
    let id = report["id"] as? String ?? "?"
    #expect(
        text.contains("conflict \(id)") && text.contains("policy \(report["policy"] as? String ?? "?")"), "\(node):\n\(text)",
        sourceLocation: sourceLocation)
    if jsonBool(report["automatic"]) == false {
        #expect(text.contains("waits for a person"), "\(node): a manual conflict waits for a person:\n\(text)", sourceLocation: sourceLocation)
    }
    let values = try #require(report["values"] as? [[String: Any]], sourceLocation: sourceLocation)
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    let iso = ISO8601DateFormatter()
    iso.formatOptions = [.withInternetDateTime]
    let marker = jsonBool(report["automatic"]) == false ? "shown until resolved" : "automatic decision"
    #expect(
        lines.filter { $0.contains(marker) }.count == 1, "\(node): one row marked \(marker):\n\(text)",
        sourceLocation: sourceLocation)
    for (i, v) in values.enumerated() {
        let row = try #require(lines.first { $0.hasPrefix("  \(i)  ") }, "\(node): no row for value \(i):\n\(text)", sourceLocation: sourceLocation)
        let origin = v["node"] as? String ?? "?"
        let write = "(\(v["writer"] as? String ?? "?"),\(jsonInt(v["counter"]) ?? -1))"
        let ms = jsonInt(v["time"]) ?? 0
        let time =
            iso.string(from: Date(timeIntervalSince1970: Double(ms / 1000))).replacingOccurrences(of: "Z", with: "")
            + "." + String(String(ms % 1000 + 1000).dropFirst()) + "Z"
        #expect(row.contains(JSON.canonical(v["value"])), "\(node): row \(i) lacks its value:\n\(text)", sourceLocation: sourceLocation)
        #expect(row.contains(time), "\(node): row \(i) lacks its time \(time):\n\(text)", sourceLocation: sourceLocation)
        #expect(
            row.contains(marker) == (i == 0), "\(node): only row 0 is marked \(marker):\n\(text)",
            sourceLocation: sourceLocation)
        #expect(row.contains(" \(origin) "), "\(node): row \(i) lacks its origin \(origin):\n\(row)", sourceLocation: sourceLocation)
        #expect(row.contains(write), "\(node): row \(i) lacks its write \(write):\n\(row)", sourceLocation: sourceLocation)
    }
}

/// Deep equality of parsed JSON (objects, arrays, strings, numbers, booleans, null), telling
/// booleans from numbers and integers from doubles apart.
private func jsonEqual(_ a: Any?, _ b: Any?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (is NSNull, is NSNull): return true
    case (let x as [String: Any], let y as [String: Any]):
        return x.count == y.count && x.allSatisfy { key, value in y[key].map { jsonEqual(value, $0) } ?? false }
    case (let x as [Any], let y as [Any]):
        return x.count == y.count && zip(x, y).allSatisfy { jsonEqual($0, $1) }
    case (let x as String, let y as String): return x == y
    case (let x as NSNumber, let y as NSNumber):
        return String(cString: x.objCType) == String(cString: y.objCType) && x == y
    default: return false
    }
}
