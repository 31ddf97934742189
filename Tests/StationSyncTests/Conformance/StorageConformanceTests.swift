import Foundation
import StationCore
import StationHub
import StationMemory
import StationStore
import StationSync
import StationTestSupport
import Testing

/// What every storage backend must do behind the engine's and the hub's ports, run on each
/// (SQLite and memory; the hub's PostgreSQL store joins them): the change feed and its pages,
/// atomic merges with their cursor, the merge outcomes and refusals, writer claims, checkpoints,
/// waiting records and own versions, the schema, tokens, activity, sessions and conflicts.
@Suite("Storage conformance")
struct StorageConformanceTests {
    static let writer: NodeID = "labor.w1"

    /// A version of `cases/id` written by `node` (a node other than the receiver).
    static func version(
        _ id: String, by node: NodeID = "labor", _ values: [String: JSONValue], after base: RecordState? = nil, at time: UInt64 = 1_700_000_000_000
    )
        throws -> IncomingChange
    {
        var state = base ?? RecordState()
        let c = try syncSchema.collection("cases")
        try state.put(values, by: node, at: HLCTimestamp(wall: time, logical: 0), in: c, id: id)
        return IncomingChange(collection: "cases", id: id, state: state)
    }

    /// Review of issue 14, F8: a caller that catches one backend's error catches every backend's.
    @Test(arguments: Backend.allCases)
    func aMissingRecordIsTheSameErrorOnEveryBackend(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline")
        try store.put("cases", "a", ["notes": "kept"])
        let before = try store.everyRow()
        #expect { try store.delete("cases", "nope") } throws: { ($0 as? CoreError)?.code == .recordNotFound }
        #expect { try store.forget([RecordKey("cases", "nope")]) } throws: { error in
            (error as? ForgetRefusal).map { $0.code == .recordNotFound && $0.key == RecordKey("cases", "nope") } ?? false
        }
        #expect { try store.forget([RecordKey("cases", "a")]) } throws: { ($0 as? ForgetRefusal)?.code == .holdsOwnWrites }
        await #expect { try await store.resolveConflict(id: "0000000000000000", .accept, person: nil) } throws: {
            ($0 as? CoreError)?.code == .conflictNotFound
        }
        #expect(try store.everyRow() == before)
    }

    @Test(arguments: Backend.allCases)
    func anEmptyStoreHasNothing(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hub")
        #expect(try await store.lastSequence() == 0)
        let batch = try await store.changes(since: 0, limit: 10, excludingSource: nil, collections: nil, maxBytes: Limits.pageBytes)
        #expect(batch == ChangeBatch(changes: [], nextSince: 0, hasMore: false))
        #expect(try await store.checkpoint(peer: "x") == Checkpoint(pushed: 0, pulled: ""))
        #expect(try await store.waitingCount(peer: "x") == 0)
        #expect(try await store.hasOwnVersions() == false)
        #expect(try await store.conflictedRecordCount() == 0)
        #expect(try await store.state(of: RecordKey("cases", "a")) == nil)
        #expect(try await store.nodeWriters().isEmpty)
        #expect(try await store.stationActivity().isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func theFeedHoldsEachRecordOnceAtItsLatestChange(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline")
        try store.put("cases", "a", ["notes": "one"])
        try store.put("cases", "b", ["notes": "two"])
        try store.put("cases", "a", ["notes": "three"])
        try store.add("stock", "s", field: "quantity", amount: 5)
        #expect(try await store.lastSequence() == 4)
        let all = try await store.changes(since: 0, limit: 10, excludingSource: nil, collections: nil, maxBytes: Limits.pageBytes)
        #expect(all.changes.map { "\($0.collection)/\($0.id)@\($0.seq)" } == ["cases/b@2", "cases/a@3", "stock/s@4"])
        #expect(all.nextSince == 4 && !all.hasMore)
        #expect(all.changes.allSatisfy { $0.source == nil })
        // A put of what the record shows writes nothing.
        #expect(try store.put("cases", "b", ["notes": "two"]).changed == false)
        #expect(try await store.lastSequence() == 4)

        // Pages by count: the cursor is the last change's, and more follow.
        let first = try await store.changes(since: 0, limit: 2, excludingSource: nil, collections: nil, maxBytes: Limits.pageBytes)
        #expect(first.changes.map(\.seq) == [2, 3] && first.hasMore && first.nextSince == 3)
        let rest = try await store.changes(since: first.nextSince, limit: 2, excludingSource: nil, collections: nil, maxBytes: Limits.pageBytes)
        #expect(rest.changes.map(\.seq) == [4] && !rest.hasMore && rest.nextSince == 4)
        // Pages by bytes: the first change always goes, and the page ends at the change that reaches the bytes.
        let tiny = try await store.changes(since: 0, limit: 10, excludingSource: nil, collections: nil, maxBytes: 1)
        #expect(tiny.changes.map(\.seq) == [2] && tiny.hasMore && tiny.nextSince == 2)
        // Of some collections only; with nothing more matching, the cursor moves past the skipped.
        let stock = try await store.changes(since: 0, limit: 10, excludingSource: nil, collections: ["stock"], maxBytes: Limits.pageBytes)
        #expect(stock.changes.map(\.id) == ["s"] && stock.nextSince == 4 && !stock.hasMore)
        let cases = try await store.changes(since: 0, limit: 1, excludingSource: nil, collections: ["cases"], maxBytes: Limits.pageBytes)
        #expect(cases.changes.map(\.id) == ["b"] && cases.hasMore && cases.nextSince == 2)
        let none = try await store.changes(since: 4, limit: 10, excludingSource: nil, collections: ["cases"], maxBytes: Limits.pageBytes)
        #expect(none == ChangeBatch(changes: [], nextSince: 4, hasMore: false))
    }

    @Test(arguments: Backend.allCases)
    func mergesSayWhatTheyDidAndRememberTheirSource(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline")
        let a = try Self.version("a", ["notes": "from labor"])
        let results = try await store.apply([a], from: "labor", cursor: nil, claim: nil, check: nil)
        #expect(results == [.created])
        #expect(try await store.apply([a], from: "labor", cursor: nil, claim: nil, check: nil) == [.unchanged])
        let later = try Self.version("a", ["notes": "later"], after: a.state, at: 1_700_000_000_100)
        #expect(try await store.apply([later], from: "labor", cursor: nil, claim: nil, check: nil) == [.applied])
        // What came from labor is not served back to it; a join is new to it.
        #expect(try await store.changes(since: 0, limit: 10, excludingSource: "labor", collections: nil, maxBytes: Limits.pageBytes).changes.isEmpty)
        try store.put("cases", "a", ["status": "open"])
        let concurrent = try Self.version("a", ["visits": 1], after: later.state, at: 1_700_000_000_200)
        #expect(try await store.apply([concurrent], from: "labor", cursor: nil, claim: nil, check: nil) == [.merged])
        let toLabor = try await store.changes(since: 0, limit: 10, excludingSource: "labor", collections: nil, maxBytes: Limits.pageBytes)
        #expect(toLabor.changes.map(\.id) == ["a"] && toLabor.changes[0].source == nil)
        let held = try #require(try await store.state(of: RecordKey("cases", "a")))
        #expect(held.view(in: try syncSchema.collection("cases"), id: "a").fields["visits"] == 1)
        #expect(held.view(in: try syncSchema.collection("cases"), id: "a").fields["status"] == "open")
    }

    @Test(arguments: Backend.allCases)
    func aBatchIsKeptWholeWithItsCursorOrNotAtAll(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline")
        let a = try Self.version("a", ["notes": "a"])
        let b = try Self.version("b", ["notes": "b"])
        _ = try await store.apply([a, b], from: "hub", cursor: "db1.2", claim: nil, check: nil)
        #expect(try await store.checkpoint(peer: "hub").pulled == "db1.2")
        let before = try store.snapshot()
        let sequenceBefore = try await store.lastSequence()

        // A check that refuses the whole request (not a left-out record) keeps nothing, the cursor included.
        let c = try Self.version("c", ["notes": "c"])
        let d = try Self.version("d", ["notes": "d"])
        await #expect(throws: SyncError.self) {
            _ = try await store.apply(
                [c, d], from: "hub", cursor: "db1.4", claim: nil,
                check: { change, _ in if change.id == "d" { throw SyncError(.forbidden, "refused") } })
        }
        #expect(try store.snapshot() == before)
        #expect(try await store.lastSequence() == sequenceBefore)
        #expect(try await store.checkpoint(peer: "hub").pulled == "db1.2")
        // A record left out leaves only itself out.
        let results = try await store.apply(
            [c, d], from: "hub", cursor: "db1.4", claim: nil,
            check: { change, _ in if change.id == "d" { throw SyncError(.unseenWrites, "waits") } })
        #expect(results == [.created, .waiting])
        #expect(try await store.checkpoint(peer: "hub").pulled == "db1.4")
        #expect(try store.record("cases", "c") != nil && store.record("cases", "d") == nil)
    }

    @Test(arguments: Backend.allCases)
    func aVersionClaimingWritesThisDatabaseNeverMadeIsLeftOut(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline", incarnation: "h1")
        try store.put("cases", "a", ["notes": "mine"])
        let held = try #require(try await store.state(of: RecordKey("cases", "a")))
        // A version with two writes of this database, which made one.
        let forged = try Self.version("a", by: store.writer, ["notes": "forged"], after: held, at: 1_700_000_000_500)
        let honest = try Self.version("b", ["notes": "honest"])
        let sequenceBefore = try await store.lastSequence()
        #expect(try await store.apply([forged, honest], from: "rogue", cursor: nil, claim: nil, check: nil) == [.collision, .created])
        #expect(try await store.state(of: RecordKey("cases", "a")) == held)
        #expect(try await store.lastSequence() == sequenceBefore + 1)
    }

    @Test(arguments: Backend.allCases)
    func twoWritesUnderOneDotCollideAndBothStay(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hub")
        let one = try Self.version("a", ["notes": "one"])
        let other = try Self.version("a", ["notes": "other"])
        _ = try await store.apply([one], from: "labor", cursor: nil, claim: nil, check: nil)
        #expect(try await store.apply([other], from: "labor", cursor: nil, claim: nil, check: nil) == [.collision])
        #expect(try await store.state(of: RecordKey("cases", "a")) == one.state)
    }

    @Test(arguments: Backend.allCases)
    func idsAreTheirBytes(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline")
        try store.put("cases", "caf\u{E9}", ["notes": "nfc"])
        try store.put("cases", "cafe\u{301}", ["notes": "nfd"])
        #expect(try store.records(in: "cases", includeDeleted: false).count == 2)
        #expect(try store.record("cases", "caf\u{E9}")?.view.fields["notes"] == "nfc")
        #expect(try store.record("cases", "cafe\u{301}")?.view.fields["notes"] == "nfd")
        // In byte order: "cafe" + U+0301 (0x65 …) before "caf" + U+00E9 (0xC3 …).
        #expect(
            try store.records(in: "cases", includeDeleted: false).map { Array($0.id.utf8) } == [Array("cafe\u{301}".utf8), Array("caf\u{E9}".utf8)])
    }

    @Test(arguments: Backend.allCases)
    func oneNodeOneLiveDatabase(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let hub = try f.make("hub")
        let first = WriterClaim(node: "hotline", writer: "hotline.a")
        _ = try await hub.apply([], from: "hotline.a", cursor: nil, claim: first, check: nil)
        #expect(try await hub.nodeWriters().map { "\($0.writer):\($0.status)" } == ["hotline.a:live"])
        // Another database of the node is refused, and the refusal changes nothing.
        let second = WriterClaim(node: "hotline", writer: "hotline.b")
        await #expect(throws: WriterRefusal.self) {
            _ = try await hub.apply([try Self.version("x", ["notes": "x"])], from: "hotline.b", cursor: nil, claim: second, check: nil)
        }
        #expect(try hub.record("cases", "x") == nil)
        await hub.noteRefusedWriter(WriterRefusal(claim: second, live: try #require(try await hub.nodeWriters().first), wasRetired: false))
        #expect(try await hub.nodeWriters().map { "\($0.writer):\($0.status):\($0.refusals)" } == ["hotline.a:live:0", "hotline.b:refused:1"])
        // A restored copy of the live one follows it; a take-over takes the node.
        _ = try await hub.apply(
            [], from: "hotline.c", cursor: nil, claim: WriterClaim(node: "hotline", writer: "hotline.c", lineage: ["hotline.a"]), check: nil)
        _ = try await hub.apply(
            [], from: "hotline.b", cursor: nil, claim: WriterClaim(node: "hotline", writer: "hotline.b", takeOver: true), check: nil)
        let writers = try await hub.nodeWriters()
        #expect(
            writers.map { "\($0.writer):\($0.status)" } == ["hotline.b:live", "hotline.a:retired", "hotline.c:retired"]
                || writers.map { "\($0.writer):\($0.status)" } == ["hotline.b:live", "hotline.c:retired", "hotline.a:retired"])
        #expect(writers.first { $0.writer == "hotline.c" }?.retiredBy == "hotline.b")
        #expect(writers.first?.reason?.contains("took over") == true)
        // A copy of a retired one does not take the node back.
        await #expect(throws: WriterRefusal.self) {
            _ = try await hub.apply(
                [], from: "hotline.d", cursor: nil, claim: WriterClaim(node: "hotline", writer: "hotline.d", lineage: ["hotline.a"]), check: nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func aNodesHistoryKeepsItsLastPastDatabases(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let hub = try f.make("hub")
        for i in 0..<(NodeWriter.keptPastWriters + 5) {
            _ = try await hub.apply(
                [], from: NodeID(unchecked: "hotline.w\(i)"), cursor: nil,
                claim: WriterClaim(node: "hotline", writer: "hotline.w\(i)", takeOver: true), check: nil)
        }
        let writers = try await hub.nodeWriters()
        #expect(writers.count == NodeWriter.keptPastWriters + 1)
        #expect(writers.first?.writer == "hotline.w\(NodeWriter.keptPastWriters + 4)")
    }

    @Test(arguments: Backend.allCases)
    func checkpointsAndWaitingRecords(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline")
        for id in ["b", "a", "c"] { try store.put("cases", id, ["notes": .string(id)]) }
        try await store.setPushed(3, peer: "hub")
        try await store.setPeerMayRelay(false, peer: "hub")
        try await store.setPeerProvenByToken(true, peer: "hub")
        var checkpoint = try await store.checkpoint(peer: "hub")
        #expect(checkpoint.pushed == 3 && checkpoint.byToken == true && checkpoint.updatedAt != nil)
        try await store.updateWaiting(peer: "hub", waiting: [RecordKey("cases", "c"), RecordKey("cases", "a"), RecordKey("cases", "b")], taken: [])
        #expect(try await store.waitingCount(peer: "hub") == 3)
        #expect(try await store.waitingChanges(peer: "hub", after: nil, limit: 2).map(\.id) == ["a", "b"])
        #expect(try await store.waitingChanges(peer: "hub", after: RecordKey("cases", "b"), limit: 2).map(\.id) == ["c"])
        try await store.updateWaiting(peer: "hub", waiting: [], taken: [RecordKey("cases", "a")])
        #expect(try await store.waitingChanges(peer: "hub", after: nil, limit: 10).map(\.id) == ["b", "c"])
        // What the positions moved past, kept with them; pulling again keeps the push position.
        let left = LeftBehind(unsent: ["stock"], pullWaiting: ["extra": []])
        try await store.updateLeftBehind(peer: "hub", LeftBehind.Update(unsent: ["stock"], pullWaiting: ["extra": []]))
        #expect(try await store.checkpoint(peer: "hub").leftBehind == left)
        let rest = LeftBehind(unsent: ["stock"])
        try await store.rewind(peer: "hub", pushed: nil, pullAgain: true, update: LeftBehind.Update(declared: ["extra": []]))
        checkpoint = try await store.checkpoint(peer: "hub")
        #expect(checkpoint.pushed == 3 && checkpoint.pulled == "" && checkpoint.leftBehind == rest)
        try await store.rewind(peer: "hub", pushed: 0, pullAgain: false, update: LeftBehind.Update(sendable: ["stock"]))
        checkpoint = try await store.checkpoint(peer: "hub")
        #expect(checkpoint.pushed == 0 && checkpoint.leftBehind.isEmpty)
        // A reset that sends back stores it; one that does not leaves it set.
        try await store.resetCheckpoint(peer: "hub", peerDatabase: "db1", sendsBack: true)
        #expect(try await store.checkpoint(peer: "hub").leftBehind == LeftBehind(sendsBack: true))
        try await store.updateLeftBehind(peer: "hub", LeftBehind.Update(sentBack: "db1"))
        // Starting over with a replaced peer: everything goes again, nothing waits, nothing is left behind.
        try await store.resetCheckpoint(peer: "hub", peerDatabase: "db2")
        checkpoint = try await store.checkpoint(peer: "hub")
        #expect(checkpoint.pushed == 0 && checkpoint.pulled == "" && checkpoint.peerDatabase == "db2" && checkpoint.leftBehind.isEmpty)
        #expect(try await store.waitingCount(peer: "hub") == 0)
    }

    @Test(arguments: Backend.allCases)
    func onlyRecordsOthersWroteAreForgottenAndTheFeedGoesOn(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline", incarnation: "w1")
        _ = try await store.apply([try Self.version("real", ["notes": "labor's"])], from: "labor", cursor: nil, claim: nil, check: nil)
        try store.put("cases", "mine", ["notes": "own"])
        try store.put("cases", "real", ["status": "seen"])
        _ = try await store.apply([try Self.version("junk", ["notes": "from a rogue peer"])], from: "labor", cursor: nil, claim: nil, check: nil)
        try await store.updateWaiting(peer: "hub", waiting: [RecordKey("cases", "junk"), RecordKey("cases", "mine")], taken: [])
        let before = try store.everyRow()
        // Refused whole: one record holds this station's write, another does not exist.
        for keys in [[RecordKey("cases", "junk"), RecordKey("cases", "real")], [RecordKey("cases", "junk"), RecordKey("cases", "none")]] {
            #expect(throws: (any Error).self) { try store.forget(keys) }
            #expect(try store.everyRow() == before)
        }
        #expect(try store.forget([RecordKey("cases", "junk"), RecordKey("cases", "junk")]) == [RecordKey("cases", "junk")])
        #expect(try store.record("cases", "junk") == nil)
        #expect(try await store.waitingChanges(peer: "hub", after: nil, limit: 10).map(\.id) == ["mine"])
        // Junk had the latest change: its sequence is never handed out again.
        let last = try await store.lastSequence()
        #expect(last == 4)
        try store.put("cases", "new", ["notes": "after"])
        let feed = try await store.changes(since: 0, limit: 10, excludingSource: nil, collections: nil, maxBytes: Limits.pageBytes)
        #expect(feed.changes.map(\.id) == ["mine", "real", "new"])
        #expect(feed.changes.last?.seq == 5)
    }

    @Test(arguments: Backend.allCases)
    func aJoinPastTheLimitKeepsNothingNotEvenAnOwnVersion(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let a = try f.make("pp", incarnation: "p1")
        let b = try f.make("qq", incarnation: "q1")
        try a.put("cases", "big", ["notes": .string(String(repeating: "p", count: 9_000_000))])
        try b.put("cases", "big", ["notes": .string(String(repeating: "q", count: 9_000_000))])
        let before = try a.everyRow()
        let theirs = try #require(try await b.state(of: RecordKey("cases", "big")))
        let results = try await a.apply(
            [IncomingChange(collection: "cases", id: "big", state: theirs)], from: b.writer, cursor: nil, claim: nil, check: nil)
        #expect(results == [.overLimit])
        #expect(try a.ownVersionCount() == 0)
        #expect(try a.everyRow() == before)
    }

    /// Review of issue 14, F5: a hub's database pushes to nobody that may not relay: merging a
    /// station's version on top of a record holding the hub's own write (a resolution) keeps no
    /// own version, where a station's database, with no hub known yet, keeps one.
    @Test(arguments: Backend.allCases)
    func aHubKeepsNoOwnVersions(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        for (isHub, kept) in [(true, 0), (false, 1)] {
            let store = try f.make(isHub ? "hub" : "hotline", incarnation: "h1", hub: isHub)
            try store.put("cases", "r", ["notes": "the operator's"])
            let theirs = try Self.version("r", ["status": "seen"], after: try await store.state(of: RecordKey("cases", "r")))
            #expect(try await store.apply([theirs], from: "labor", cursor: nil, claim: nil, check: nil) == [.applied])
            #expect(try store.ownVersionCount() == kept, "hub \(isHub)")
        }
    }

    @Test(arguments: Backend.allCases)
    func ownVersionsAreKeptForTheHubAndDroppedOnceTaken(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline")
        try await store.setPeerMayRelay(false, peer: "hub")
        try await store.setPeerMayRelay(true, peer: "labor")
        try store.put("cases", "a", ["notes": "mine"])
        let mine = try #require(try await store.state(of: RecordKey("cases", "a")))
        // A LAN neighbour's concurrent write, merged before the hub got this node's: the record as
        // it was is kept, and a hub that answers `waiting` gets that version first.
        let theirs = try Self.version("a", ["status": "open"])
        #expect(try await store.apply([theirs], from: "labor", cursor: nil, claim: nil, check: nil) == [.merged])
        #expect(try store.ownVersionCount() == 1)
        try await store.updateWaiting(peer: "hub", waiting: [RecordKey("cases", "a")], taken: [])
        let waiting = try #require(try await store.waitingChanges(peer: "hub", after: nil, limit: 10).first)
        #expect(waiting.stateText == mine.canonicalText && waiting.ownVersion != nil)
        // Merging from the hub keeps none.
        let fromHub = try Self.version("z", ["notes": "z"])
        _ = try await store.apply([fromHub], from: "hub", cursor: nil, claim: nil, check: nil)
        #expect(try store.ownVersionCount() == 1)
        try await store.dropOwnVersion(try #require(waiting.ownVersion))
        #expect(try await store.hasOwnVersions() == false)
    }

    @Test(arguments: Backend.allCases)
    func theSchemaGrowsAndIsPutBack(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("hotline")
        let before = store.schema
        let additions = Schema(collections: [
            "visits": CollectionSchema(name: "visits", fields: ["count": .counter]), "notes": CollectionSchema(name: "notes", fields: [:]),
        ])
        try await store.extendSchema(with: additions, from: "hub")
        #expect(store.schema.collections["visits"] != nil && store.schema.collections["notes"] != nil)
        try store.put("notes", "n", ["text": "kept"])
        try await store.restoreSchema(before)
        // A collection that holds a record stays; the other goes.
        #expect(store.schema.collections["notes"] != nil && store.schema.collections["visits"] == nil)
    }

    @Test(arguments: Backend.allCases)
    func theHubKeepsActivityTokensSessionsAndConflicts(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let hub = try f.make("hub")
        hub.noteActivity(station: "hotline", pulledThrough: 7, pushed: nil)
        hub.noteActivity(station: "hotline", pulledThrough: nil, pushed: 3)
        hub.noteClockOffset(station: "charity", milliseconds: -250)
        try await hub.flushActivity()
        let activity = try await hub.stationActivity()
        #expect(activity.map(\.station) == ["charity", "hotline"])
        #expect(activity[1].pulledThrough == 7 && activity[1].pushedChanges == 3 && activity[0].clockOffset == -250)

        let (_, stored) = Tokens.make(station: "operator", read: .all, write: .all, relay: false, isOperator: true)
        try hub.addToken(stored)
        #expect(try await hub.token(id: stored.id) == stored)
        try await hub.createOperatorSession(idHash: "h", tokenID: stored.id, csrf: "c", lifetime: 60)
        #expect(try await hub.operatorSession(idHash: "h")?.csrf == "c")
        try await hub.setOperatorFlash(idHash: "h", "done")
        #expect(try await hub.operatorSession(idHash: "h")?.flash == "done")
        try await hub.endOperatorSession(idHash: "h")
        #expect(try await hub.operatorSession(idHash: "h") == nil)

        // Two concurrent writes of a manual field: one open conflict, resolved by the operator.
        _ = try await hub.apply([try Self.version("a", by: "labor", ["status": "open"])], from: "labor", cursor: nil, claim: nil, check: nil)
        _ = try await hub.apply([try Self.version("a", by: "justice", ["status": "closed"])], from: "justice", cursor: nil, claim: nil, check: nil)
        #expect(try await hub.conflictedRecordCount() == 1)
        let open = try await hub.conflictReports(collection: nil, status: .open)
        #expect(open.count == 1 && open[0].recordID == "a")
        let resolved = try await hub.resolveConflict(id: open[0].id, .choose(0), person: "Wang")
        #expect(resolved.status == .resolved)
        #expect(try await hub.conflictedRecordCount() == 0)
        #expect(try await hub.conflictReports(collection: "cases", status: .resolved).count == 1)
        await #expect(throws: CoreError.self) { try await hub.resolveConflict(id: open[0].id, .accept, person: nil) }
        #expect(try await hub.changeCount(after: 0) == 1)
        #expect(try await hub.counts()["cases"]?.alive == 1)
    }

    /// The same random writes and merges, made on each backend, give the same records, the same
    /// feed order and the same outcomes: the backends differ in where they keep things, not in
    /// what they decide.
    @Test func theBackendsDecideAlike() async throws {
        for seed in UInt64(1)...20 {
            var rng = SeededRandom(seed: seed)
            // One fixed wall time: the clocks move by their logical counters alone, alike on both.
            let f = try Backend.Factory(.sqlite)
            defer { f.keep() }
            let sqlite = try f.make("hotline", incarnation: "h1", clock: { 1_700_000_000_000 })
            let memory = try Backend.Factory(.memory).make("hotline", incarnation: "h1", clock: { 1_700_000_000_000 })
            var peers: [NodeID: RecordState] = [:]
            var outcomesA: [String] = []
            var outcomesB: [String] = []
            for step in 0..<60 {
                let id = ["a", "b", "c", "caf\u{E9}", "cafe\u{301}"][Int(rng.next() % 5)]
                switch rng.next() % 5 {
                case 0:
                    let values: [String: JSONValue] = ["notes": .string("n\(step)"), "status": .string("s\(rng.next() % 3)")]
                    for store in [sqlite, memory] { _ = try? store.put("cases", id, values) }
                case 1:
                    let amount = Int64(rng.next() % 5) - 2
                    for store in [sqlite, memory] { _ = try? store.add("cases", id, field: "visits", amount: amount) }
                case 2:
                    for store in [sqlite, memory] { _ = try? store.delete("cases", id) }
                default:
                    // A peer's version: built on what it had, or on what this node holds now.
                    let node: NodeID = ["labor", "justice"][Int(rng.next() % 2)]
                    let base = rng.next() % 2 == 0 ? peers[node] : try await sqlite.state(of: RecordKey("cases", id))
                    let change = try Self.version(
                        id, by: node, ["status": .string("p\(step)")], after: base, at: 1_700_000_000_000 + UInt64(step) * 10)
                    peers[node] = change.state
                    outcomesA += try await sqlite.apply([change], from: node, cursor: nil, claim: nil, check: nil).map(\.rawValue)
                    outcomesB += try await memory.apply([change], from: node, cursor: nil, claim: nil, check: nil).map(\.rawValue)
                }
                if try sqlite.snapshot() != memory.snapshot() {
                    Issue.record("seed \(seed) step \(step): \(try sqlite.snapshot()) vs \(try memory.snapshot())")
                    return
                }
                // The counts the dashboard and every sync summary show (kept as tallies in memory).
                let (countsA, countsB) = (try await sqlite.counts(), try await memory.counts())
                #expect(countsA.mapValues { [$0.alive, $0.deleted] } == countsB.mapValues { [$0.alive, $0.deleted] }, "seed \(seed) step \(step)")
                #expect(try await sqlite.conflictedRecordCount() == memory.conflictedRecordCount(), "seed \(seed) step \(step)")
            }
            #expect(outcomesA == outcomesB, "seed \(seed)")
            #expect(try sqlite.snapshot() == memory.snapshot(), "seed \(seed)")
            let feedA = try await sqlite.changes(since: 0, limit: 1000, excludingSource: nil, collections: nil, maxBytes: Limits.pageBytes)
            let feedB = try await memory.changes(since: 0, limit: 1000, excludingSource: nil, collections: nil, maxBytes: Limits.pageBytes)
            #expect(feedA == feedB, "seed \(seed)")
        }
    }

    /// A page of some collections, and a page of the records waiting for a peer, alike on each
    /// backend, whatever the order of the writes (the memory store reads them from its own
    /// per-collection and sorted indexes, SQLite from its indexes).
    @Test func pagesOfSomeCollectionsAndOfWaitingRecordsAreAlike() async throws {
        var rng = SeededRandom(seed: 7)
        let f = try Backend.Factory(.sqlite)
        defer { f.keep() }
        let sqlite = try f.make("hotline", incarnation: "h1", clock: { 1_700_000_000_000 })
        let memory = try Backend.Factory(.memory).make("hotline", incarnation: "h1", clock: { 1_700_000_000_000 })
        let ids = ["a", "b", "c", "caf\u{E9}", "cafe\u{301}", "z", "\u{4E2D}"]
        var keys: [RecordKey] = []
        for step in 0..<120 {
            let collection = ["cases", "stock"][Int(rng.next() % 2)]
            let id = ids[Int(rng.next() % UInt64(ids.count))]
            keys.append(RecordKey(collection, id))
            for store in [sqlite, memory] {
                if collection == "stock" {
                    _ = try store.add(collection, id, field: "quantity", amount: 1)
                } else {
                    _ = try store.put(collection, id, ["notes": .string("n\(step)")])
                }
            }
        }
        func pages(_ store: any TestBackendStore, _ collections: Set<String>?) async throws -> [[String]] {
            var since: Int64 = 0
            var result: [[String]] = []
            while true {
                let page = try await store.changes(since: since, limit: 3, excludingSource: nil, collections: collections, maxBytes: Limits.pageBytes)
                result.append(page.changes.map { "\($0.seq) \($0.collection)/\($0.id)" } + ["next \(page.nextSince)"])
                since = page.nextSince
                if !page.hasMore { return result }
            }
        }
        for collections: Set<String>? in [nil, ["cases"], ["stock"], ["cases", "stock"], ["stock", "nowhere"], ["nowhere"]] {
            #expect(try await pages(sqlite, collections) == pages(memory, collections), "\(collections ?? [])")
        }
        // Records waiting for a peer, added and taken in a random order, paged two at a time.
        for (i, key) in keys.enumerated() {
            for store in [sqlite, memory] {
                try await store.updateWaiting(peer: "hub", waiting: i % 3 == 2 ? [] : [key], taken: i % 3 == 2 ? [key] : [])
            }
        }
        func waiting(_ store: any TestBackendStore) async throws -> [String] {
            var after: RecordKey?
            var result: [String] = []
            while case let page = try await store.waitingChanges(peer: "hub", after: after, limit: 2), !page.isEmpty {
                result += page.map { "\($0.collection)/\($0.id)" }
                after = RecordKey(page.last!.collection, page.last!.id)
            }
            return result
        }
        let (a, b) = (try await waiting(sqlite), try await waiting(memory))
        #expect(a == b)
        #expect(try await sqlite.waitingCount(peer: "hub") == memory.waitingCount(peer: "hub"))
        #expect(a.count == (try await memory.waitingCount(peer: "hub")))
    }
}
