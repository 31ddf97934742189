import Foundation
import StationCore
@testable import StationStore
import Testing
@testable import StationSync

/// One node name, one live database (issue 11): a hub takes pushes as a node from one database;
/// a restored or copied file of it follows it, a second database is refused until it takes over,
/// and a refused database loses nothing.
@Suite struct NodeWriterTests {
    let hotlineToken = Principal(station: "hotline", read: .all, write: .all, relay: false)

    /// A hub and stations in one directory; stations are made with incarnations, as `station init` does.
    final class Setup {
        let dir: TemporaryDirectory
        let hub: StationStore
        init() throws {
            dir = try TemporaryDirectory()
            hub = try StationStore.create(path: "\(dir.path)/hub.sqlite", node: "hub", schema: syncSchema, incarnation: "h1")
        }

        func station(_ file: String, node: NodeID = "hotline", incarnation: String) throws -> StationStore {
            try StationStore.create(path: "\(dir.path)/\(file).sqlite", node: node, schema: syncSchema, incarnation: incarnation)
        }

        @discardableResult
        func sync(_ store: StationStore, principal: Principal, takeOver: Bool = false) async throws -> SyncSummary {
            let service = SyncService(storage: hub, authentication: .none)
            var engine = SyncEngine(
                storage: store, transport: LoopbackTransport(service: service, principal: principal, caller: store.writer.rawValue))
            engine.takeOver = takeOver
            return try await engine.run()
        }

        func writer(_ name: String) throws -> NodeWriter? { try hub.nodeWriters().first { $0.writer == name } }
    }

    @Test("A token on two devices: the second database is refused at its first push, keeps its writes, and takes over with --take-over")
    func aSecondDatabaseIsRefusedUntilItTakesOver() async throws {
        let s = try Setup()
        let first = try s.station("first", incarnation: "aaaa")
        try first.put("cases", "c1", ["notes": "from the first device"])
        try await s.sync(first, principal: hotlineToken)
        #expect(try s.writer("hotline.aaaa")?.status == .live)

        let second = try s.station("second", incarnation: "bbbb")
        try second.put("cases", "c2", ["notes": "from the second device"])
        let before = try s.hub.lastSequence()
        let refused = await #expect(throws: SyncError.self) { try await s.sync(second, principal: hotlineToken) }
        #expect(refused?.code == .nodeTaken)
        #expect(refused?.httpStatus == 409)
        #expect(refused?.message.contains("station sync --take-over") == true, "\(refused?.message ?? "")")
        #expect(refused?.message.contains("hotline.aaaa") == true)
        // Nothing of it was taken; the hub notes the refusal; the refused database keeps its write.
        #expect(try s.hub.lastSequence() == before)
        #expect(try s.hub.record("cases", "c2") == nil)
        #expect(try s.writer("hotline.bbbb")?.status == .refused)
        #expect(try s.writer("hotline.bbbb")?.refusals == 1)
        #expect(try second.record("cases", "c2") != nil)
        // The first device goes on.
        try first.put("cases", "c1", ["notes": "still the first"])
        try await s.sync(first, principal: hotlineToken)

        // Taking over: the second's write reaches the hub, the first is refused from then on.
        try await s.sync(second, principal: hotlineToken, takeOver: true)
        #expect(try s.hub.record("cases", "c2")?.state.view(in: syncSchema.collection("cases"), id: "c2").fields["notes"] == "from the second device")
        #expect(try s.writer("hotline.bbbb")?.status == .live)
        #expect(try s.writer("hotline.aaaa")?.status == .retired)
        #expect(try s.writer("hotline.aaaa")?.retiredBy == "hotline.bbbb")
        // The second device got the first device's records back.
        #expect(try second.record("cases", "c1") != nil)
        try first.put("cases", "c3", ["notes": "after the take-over"])
        let retired = await #expect(throws: SyncError.self) { try await s.sync(first, principal: hotlineToken) }
        #expect(retired?.code == .nodeTaken)
        #expect(retired?.message.contains("replaced this one") == true, "\(retired?.message ?? "")")
        #expect(try s.hub.record("cases", "c3") == nil)
        // Taking over back is the same one command; nothing of either is lost.
        try await s.sync(first, principal: hotlineToken, takeOver: true)
        #expect(try s.hub.record("cases", "c3") != nil)
        #expect(try s.writer("hotline.aaaa")?.status == .live)
        #expect(try s.writer("hotline.bbbb")?.status == .retired)
    }

    @Test("A take-over with nothing to push still makes the database the node's one")
    func aTakeOverWithNothingToPush() async throws {
        let s = try Setup()
        let old = try s.station("old", incarnation: "aaaa")
        try old.put("cases", "c1", ["notes": "x"])
        try await s.sync(old, principal: hotlineToken)
        let reinstalled = try s.station("new", incarnation: "bbbb")
        try await s.sync(reinstalled, principal: hotlineToken, takeOver: true)
        #expect(try s.writer("hotline.bbbb")?.status == .live)
        #expect(try reinstalled.record("cases", "c1") != nil)
        try reinstalled.put("cases", "c2", ["notes": "y"])
        try await s.sync(reinstalled, principal: hotlineToken)
        #expect(try s.hub.record("cases", "c2") != nil)
    }

    @Test("A restored or copied file follows the database it came from: no refusal, the old one is retired")
    func aRestoredFileFollowsItsOriginal() async throws {
        let s = try Setup()
        let path = "\(s.dir.path)/desk.sqlite"
        var desk: StationStore? = try StationStore.create(path: path, node: "hotline", schema: syncSchema, incarnation: "aaaa")
        try desk!.put("cases", "c1", ["notes": "before the copy"])
        try await s.sync(desk!, principal: hotlineToken)
        try desk!.close()
        desk = nil
        // A copy (another inode) renews the incarnation and names the old one in its lineage.
        let copy = "\(s.dir.path)/desk-copy.sqlite"
        try Self.copy(path, to: copy)
        let moved = try StationStore.open(path: copy)
        #expect(moved.writer != "hotline.aaaa")
        #expect(moved.lineage == ["hotline.aaaa"])
        try moved.put("cases", "c2", ["notes": "on the new machine"])
        try await s.sync(moved, principal: hotlineToken)
        #expect(try s.writer(moved.writer.rawValue)?.status == .live)
        #expect(try s.writer(moved.writer.rawValue)?.reason?.contains("hotline.aaaa") == true)
        #expect(try s.writer("hotline.aaaa")?.status == .retired)
        // The original, opened again where it was, is refused.
        let original = try StationStore.open(path: path)
        #expect(original.writer == "hotline.aaaa")
        try original.put("cases", "c3", ["notes": "the old machine again"])
        await #expect(throws: SyncError.self) { try await s.sync(original, principal: hotlineToken) }
        // A second copy of the retired original does not take the node back: refused, until it takes over.
        let again = "\(s.dir.path)/desk-again.sqlite"
        try original.close()
        try Self.copy(path, to: again)
        let restoredAgain = try StationStore.open(path: again)
        #expect(restoredAgain.lineage == ["hotline.aaaa"])
        let refused = await #expect(throws: SyncError.self) { try await s.sync(restoredAgain, principal: hotlineToken) }
        #expect(refused?.code == .nodeTaken)
        #expect(try s.writer(moved.writer.rawValue)?.status == .live)
        try await s.sync(restoredAgain, principal: hotlineToken, takeOver: true)
        #expect(try s.hub.record("cases", "c3") != nil, "the write made on the refused original travelled with its copy")
        #expect(try s.writer(restoredAgain.writer.rawValue)?.status == .live)
        #expect(try s.writer(moved.writer.rawValue)?.status == .retired)
        // A copy of the live one follows it, with no take-over.
        try restoredAgain.close()
        let third = "\(s.dir.path)/desk-third.sqlite"
        try Self.copy(again, to: third)
        let fromLive = try StationStore.open(path: third)
        try fromLive.put("cases", "c4", ["notes": "from a copy of the live one"])
        try await s.sync(fromLive, principal: hotlineToken)
        #expect(try s.writer(fromLive.writer.rawValue)?.status == .live)
    }

    static func copy(_ path: String, to copy: String) throws {
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            try FileManager.default.copyItem(atPath: path + suffix, toPath: copy + suffix)
        }
    }

    @Test("A push refused for its content records nothing about its writer; trusted peers are not tracked")
    func aRefusedPushChangesNothing() async throws {
        let s = try Setup()
        let desk = try s.station("desk", incarnation: "aaaa")
        let service = SyncService(storage: s.hub, authentication: .none)
        let bad = Array(#"{"node":"hotline","writer":"hotline.aaaa","changes":[{"collection":"nope","id":"x","seq":1,"state":{}}]}"#.utf8)
        await #expect(throws: SyncError.self) { try await service.push(body: bad, principal: hotlineToken) }
        #expect(try s.hub.nodeWriters().isEmpty)
        try desk.put("cases", "c1", ["notes": "x"])
        try await s.sync(desk, principal: .trustedPeer)
        #expect(try s.hub.nodeWriters().isEmpty)
    }

    @Test func aPushCarriesItsLineageAndTakeOver() async throws {
        let body = PushRequest.encode(node: "hotline", writer: "hotline.k3", lineage: ["hotline", "hotline.a1"], takeOver: true, changes: [])
        #expect(
            String(decoding: body, as: UTF8.self)
                == #"{"node":"hotline","writer":"hotline.k3","lineage":["hotline","hotline.a1"],"takeOver":true,"changes":[]}"#)
        let request = try PushRequest(bytes: body, maxChanges: 10)
        #expect(request.lineage == ["hotline", "hotline.a1"] && request.takeOver)
        for bad in [
            #"{"node":"hotline","lineage":["labor.a1"],"changes":[]}"#, #"{"node":"hotline","lineage":"hotline","changes":[]}"#,
            #"{"node":"hotline","takeOver":1,"changes":[]}"#,
        ] {
            #expect(throws: WireError.self) { try PushRequest(bytes: Array(bad.utf8), maxChanges: 10) }
        }
        let long = "[" + (0..<33).map { "\"hotline.a\($0)\"" }.joined(separator: ",") + "]"
        #expect(throws: WireError.self) { try PushRequest(bytes: Array(#"{"node":"hotline","lineage":\#(long),"changes":[]}"#.utf8), maxChanges: 10) }
    }
}

extension NodeWriterTests {
    @Test("A record holding two writes under one dot is left out of a sync, named in the summary, and holds nothing else up")
    func aCollidingRecordHoldsNothingUp() async throws {
        let s = try Setup()
        let desk = try s.station("desk", incarnation: "aaaa")
        try desk.put("cases", "r1", ["notes": "written here"])
        // The hub holds another write under the same dot (hotline.aaaa, 1): as after a restore
        // that kept its watermark.
        var other = RecordState()
        try other.put(
            ["notes": "the other write"], by: "hotline.aaaa", at: HLCTimestamp(wall: 1_800_000_000_000, logical: 0),
            in: syncSchema.collection("cases"), id: "r1")
        try s.hub.write { tx in _ = try tx.merge("cases", "r1", other, from: "hotline.aaaa") }
        let neighbour = try s.station("neighbour", node: "labor", incarnation: "bbbb")
        try neighbour.put("cases", "r3", ["notes": "from labor"])
        try await s.sync(neighbour, principal: Principal(station: "labor", read: .all, write: .all, relay: false))
        try desk.put("cases", "r2", ["notes": "an unrelated record"])

        let summary = try await s.sync(desk, principal: hotlineToken)
        #expect(summary.collisions == 1 && summary.collisionRecords == ["cases/r1"], "\(summary)")
        #expect(summary.pushed == 1 && summary.waiting == 0, "\(summary)")
        #expect(try s.hub.record("cases", "r2") != nil, "the other records went on")
        #expect(try desk.record("cases", "r3") != nil, "and the pull too")
        #expect(try s.hub.record("cases", "r1")?.state == other, "the hub's version is as it was")
        #expect(try desk.record("cases", "r1")?.view.fields["notes"] == "written here", "and so is the station's")
        // It stays in view at every sync.
        #expect(try await s.sync(desk, principal: hotlineToken).collisionRecords == ["cases/r1"])
    }
}

extension NodeWriterTests {
    @Test("A refused push, a waiting change and a colliding one leave the receiver's clock where it was")
    func refusedVersionsDoNotMoveTheClock() async throws {
        let s = try Setup()
        func clock() throws -> String? { try s.hub.read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'hlc'") } }
        try s.hub.put("cases", "c0", ["notes": "the hub's own"])
        let before = try clock()
        let c = try syncSchema.collection("cases")
        // 23 hours ahead: within the drift a clock follows (24 h), so only the rule under test stops it.
        let future = HLCTimestamp(wall: UInt64(Date().timeIntervalSince1970 * 1000) + 23 * 3_600_000, logical: 0)
        let service = SyncService(storage: s.hub, authentication: .none)
        // A batch refused as a whole (its second change drops the hub's value without a write
        // there): nothing of it is kept, the clock included, though its first change was merged first.
        var ahead = RecordState()
        try ahead.put(["notes": "from the future"], by: "hotline.aaaa", at: future, in: c, id: "c1")
        let good = #"{"collection":"cases","id":"c1","state":"# + ahead.canonicalText + "}"
        var rewritten = try #require(try s.hub.record("cases", "c0")?.state)
        try rewritten.put(["status": "open"], by: "hotline.aaaa", at: future, in: c, id: "c0")
        rewritten.fields["notes"] = nil
        let bad = #"{"collection":"cases","id":"c0","state":"# + rewritten.canonicalText + "}"
        let body = Array(#"{"node":"hotline","writer":"hotline.aaaa","changes":[\#(good),\#(bad)]}"#.utf8)
        let refusal = await #expect(throws: SyncError.self) { try await service.push(body: body, principal: hotlineToken) }
        #expect(refusal?.code == .forbidden)
        #expect(try s.hub.record("cases", "c1") == nil)
        #expect(try clock() == before)
        // A change that waits (another node's unseen write, stamped in the future).
        var foreign = RecordState()
        try foreign.put(["notes": "labor's, far ahead"], by: "labor.bbbb", at: future, in: c, id: "c2")
        let waiting = Array(
            #"{"node":"hotline","writer":"hotline.aaaa","changes":[{"collection":"cases","id":"c2","state":\#(foreign.canonicalText)}]}"#.utf8)
        #expect(try await service.push(body: waiting, principal: hotlineToken).results.map(\.result.rawValue) == ["waiting"])
        #expect(try clock() == before)
        // A colliding one: the hub's own dot with other content.
        var forged = RecordState()
        let own = try #require(try s.hub.record("cases", "c0")?.state)
        try forged.put(["notes": "not the hub's"], by: "hub.h1", at: future, in: c, id: "c0")
        #expect(forged.clock == own.clock)
        let collision = Array(
            #"{"node":"hotline","writer":"hotline.aaaa","changes":[{"collection":"cases","id":"c0","state":\#(forged.canonicalText)}]}"#.utf8)
        #expect(try await service.push(body: collision, principal: Principal.trustedPeer).results.map(\.result.rawValue) == ["collision"])
        #expect(try clock() == before)
        // One it keeps moves it.
        let kept = Array(#"{"node":"hotline","writer":"hotline.aaaa","changes":[\#(good)]}"#.utf8)
        _ = try await service.push(body: kept, principal: hotlineToken)
        #expect(try clock() != before)
    }

    @Test("A token named after the hub's own node cannot push; a revoked token's holder is told it was revoked")
    func tokenNamesAndRevocation() async throws {
        let s = try Setup()
        let service = SyncService(storage: s.hub, authentication: .tokens)
        let hubNamed = Principal(station: "hub", read: .all, write: .all, relay: false)
        let body = Array(
            #"{"node":"hub","changes":[{"collection":"cases","id":"x","state":{"clock":{"hub":1},"exists":[["hub",1,1,true]],"fields":{}}}]}"#.utf8)
        let refused = await #expect(throws: SyncError.self) { try await service.push(body: body, principal: hubNamed) }
        #expect(refused?.code == .forbidden)
        #expect(try s.hub.record("cases", "x") == nil)

        let (token, stored) = Tokens.make(station: "hotline", read: .all, write: .all, relay: false)
        try s.hub.addToken(stored)
        #expect(try await service.authenticate(authorization: "Bearer \(token)").station == "hotline")
        _ = try s.hub.revokeTokens(station: "hotline")
        let revoked = await #expect(throws: SyncError.self) { try await service.authenticate(authorization: "Bearer \(token)") }
        #expect(revoked?.code == .tokenRevoked && revoked?.httpStatus == 401)
        let wrong = await #expect(throws: SyncError.self) { try await service.authenticate(authorization: "Bearer \(stored.id).wrong") }
        #expect(wrong?.code == .unauthorized, "a wrong secret learns nothing about the token")
    }

    @Test("A token pushing under ever new database names cannot grow the hub's writer table without end")
    func pastWritersAreBounded() async throws {
        let s = try Setup()
        let live = try s.station("live", incarnation: "live")
        try live.put("cases", "c1", ["notes": "the live one"])
        try await s.sync(live, principal: hotlineToken)
        let extra = 6
        for n in 0..<(NodeWriterTests.keptCount + extra) {
            let other = try s.station("other\(n)", incarnation: String(format: "x%03d", n))
            try other.put("cases", "o\(n)", ["notes": "refused"])
            await #expect(throws: SyncError.self) { try await s.sync(other, principal: hotlineToken) }
        }
        let rows = try s.hub.nodeWriters()
        #expect(rows.filter { $0.status == .live }.map(\.writer) == ["hotline.live"])
        #expect(rows.filter { $0.status == .refused }.count == NodeWriterTests.keptCount)
        // The latest are kept, the oldest forgotten.
        #expect(try s.writer("hotline.x000") == nil)
        #expect(try s.writer(String(format: "hotline.x%03d", NodeWriterTests.keptCount + extra - 1))?.status == .refused)
        // The live database goes on as before.
        try live.put("cases", "c2", ["notes": "still live"])
        try await s.sync(live, principal: hotlineToken)
        #expect(try s.hub.record("cases", "c2") != nil)
    }

    static let keptCount = NodeWriter.keptPastWriters
}
