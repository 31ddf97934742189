import Foundation
import GRDB
import StationCore
import StationMemory
@testable import StationStore
import StationSync
import Synchronization
import Testing

/// Review of issue 14, F2 and F3: a cursor never leaves a change behind for good. Changes not
/// pushed because the peer lacked their collection or the token could not write it go once they
/// can; records a LAN peer served that waited for this node's schema are pulled again once the
/// hub declares what they need. On every backend.
@Suite struct LeftBehindTests {
    static func station(_ name: String, write: AccessList) -> Principal { Principal(station: name, read: .all, write: write, relay: false) }

    @Test("Changes a token could not write go once it may: the next sync pushes everything again, once", arguments: Backend.allCases)
    func aWidenedTokenSendsWhatWasLeft(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let hub = try f.make("hub")
        let station = try f.make("gamma", incarnation: "g1")
        try station.put("cases", "c1", ["notes": "may go"])
        try station.add("stock", "s1", field: "quantity", amount: 4)
        let narrow = try await sync(station, with: hub, principal: Self.station("gamma", write: AccessList(parsing: "cases")))
        #expect(narrow.pushed == 1 && narrow.notSent == 1)
        #expect(try hub.record("stock", "s1") == nil)
        #expect(try await station.checkpoint(peer: "hub").leftBehind.unsent == ["stock"])

        // The operator gives the station a token that may write everything.
        let wide = try await sync(station, with: hub, principal: Self.station("gamma", write: .all))
        #expect(wide.pushed >= 1 && wide.notSent == 0)
        #expect(try hub.record("stock", "s1")?.view.fields["quantity"] == .int(4))
        #expect(try await station.checkpoint(peer: "hub").leftBehind.isEmpty)
        // Once: the sync after sends nothing again.
        let after = try await sync(station, with: hub, principal: Self.station("gamma", write: .all))
        #expect(after.pushed == 0 && after.notSent == 0)
    }

    @Test("Changes of a collection the hub lacked go once it has it", arguments: Backend.allCases)
    func aCollectionTheHubGainsIsSent(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let casesOnly = Schema(collections: ["cases": syncSchema.collections["cases"]!])
        let hub = try f.make("hub", schema: casesOnly)
        let station = try f.make("gamma", incarnation: "g1")
        try station.put("cases", "c1", ["notes": "goes"])
        try station.add("stock", "s1", field: "quantity", amount: 2)
        let first = try await sync(station, with: hub, principal: Self.station("gamma", write: .all))
        #expect(first.pushed == 1 && first.notSent == 1)
        // The hub takes the collection (`hub sync` with another hub that has it).
        try await hub.extendSchema(with: syncSchema, from: "other-hub")
        let second = try await sync(station, with: hub, principal: Self.station("gamma", write: .all))
        #expect(second.notSent == 0)
        #expect(try hub.record("stock", "s1")?.view.fields["quantity"] == .int(2))
        #expect(try await station.checkpoint(peer: "hub").leftBehind.isEmpty)
    }

    @Test("Records a LAN peer served that waited for this schema are pulled again once the hub declares it", arguments: Backend.allCases)
    func recordsWaitingForTheSchemaArePulledAgain(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        var wider = syncSchema
        wider.collections["extra"] = CollectionSchema(name: "extra", fields: ["note": .lww])
        wider.collections["stock"]!.fields["expiry"] = .manual
        let hub = try f.make("hub", schema: wider)
        let lan = try f.make("ll", schema: wider, incarnation: "l1")
        let station = try f.make("mm", incarnation: "m1")
        try lan.put("extra", "x1", ["note": "from the LAN"])
        try lan.put("stock", "s1", ["expiry": "2027-01-01"])
        try lan.put("cases", "c1", ["notes": "plain"])
        // The LAN peer is not trusted with the schema: what needs its additions waits.
        let lanSync = try await sync(station, with: lan)
        #expect(lanSync.schemaWaiting == 2 && lanSync.created == 1)
        #expect(!station.schema.collectionNames.contains("extra"))
        #expect(try await station.checkpoint(peer: "ll").leftBehind.pullWaiting == ["extra": [], "stock": ["expiry"]])

        // The hub declares them; the next LAN sync brings both records.
        _ = try await sync(station, with: hub, principal: Self.station("mm", write: .all))
        #expect(station.schema.collections["extra"] != nil)
        let again = try await sync(station, with: lan)
        #expect(again.schemaWaiting == 0)
        #expect(try station.record("extra", "x1")?.view.fields["note"] == "from the LAN")
        #expect(try station.record("stock", "s1")?.view.fields["expiry"] == "2027-01-01")
        #expect(try await station.checkpoint(peer: "ll").leftBehind.isEmpty)
        // Once: the sync after pulls nothing.
        #expect(try await sync(station, with: lan).pulled == 0)
    }

    @Test("A push of everything again that fails on the way goes on from where it got, not from the beginning", arguments: Backend.allCases)
    func anInterruptedPushAgainGoesOn(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let hub = try f.make("hub")
        let station = try f.make("gamma", incarnation: "g1")
        try station.put("cases", "c0", ["notes": "may go"])
        for i in 0..<30 { try station.add("stock", "s\(i)", field: "quantity", amount: 1) }
        _ = try await sync(station, with: hub, principal: Self.station("gamma", write: AccessList(parsing: "cases")))
        // Widened; the push of everything again is cut at its third request (batches of 5).
        let wide = Self.station("gamma", write: .all)
        let cut = FaultyTransport(
            inner: LoopbackTransport(service: SyncService(storage: hub, authentication: .none), principal: wide, caller: station.writer.rawValue),
            plan: [4: .lostRequest])
        await #expect(throws: SimFault.self) { try await SyncEngine(storage: station, transport: cut, batchSize: 5).run() }
        #expect(try await station.checkpoint(peer: "hub").leftBehind.unsent.isEmpty)
        let rest = try await sync(station, with: hub, principal: wide, batchSize: 5)
        #expect(rest.pushed < 30 && rest.notSent == 0, "\(rest)")
        for i in 0..<30 { #expect(try hub.record("stock", "s\(i)") != nil, "s\(i)") }
    }

    @Test("A record that waited for a collection, then for one of its fields, arrives once both are declared", arguments: Backend.allCases)
    func aRecordWaitingAgainForAFieldIsKept(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        var lanSchema = syncSchema
        lanSchema.collections["extra"] = CollectionSchema(name: "extra", fields: ["a": .lww, "b": .manual])
        var hubSchema = syncSchema
        hubSchema.collections["extra"] = CollectionSchema(name: "extra", fields: ["a": .lww])
        let hub = try f.make("hub", schema: hubSchema)
        let lan = try f.make("ll", schema: lanSchema, incarnation: "l1")
        let station = try f.make("mm", incarnation: "m1")
        try lan.put("extra", "x1", ["a": "plain"])
        try lan.put("extra", "x2", ["b": "needs b"])
        #expect(try await sync(station, with: lan).schemaWaiting == 2)
        // The hub declares the collection with `a` only: x1 comes, x2 waits for `b` now.
        _ = try await sync(station, with: hub, principal: Self.station("mm", write: .all))
        let second = try await sync(station, with: lan)
        #expect(second.schemaWaiting == 1 && second.created == 1, "\(second)")
        #expect(try await station.checkpoint(peer: "ll").leftBehind.pullWaiting == ["extra": ["b"]])
        // Then `b` too.
        try await hub.extendSchema(with: lanSchema, from: nil)
        _ = try await sync(station, with: hub, principal: Self.station("mm", write: .all))
        _ = try await sync(station, with: lan)
        #expect(try station.record("extra", "x2")?.view.fields["b"] == "needs b")
        #expect(try await station.checkpoint(peer: "ll").leftBehind.isEmpty)
    }

    @Test("What is left behind is stored and read back as it was")
    func leftBehindRoundTrips() {
        let left = LeftBehind(unsent: ["stock", "caf\u{E9}"], pullWaiting: ["extra": [], "stock": ["expiry", "b"]])
        #expect(LeftBehind(jsonText: left.json.canonicalText) == left)
        #expect(LeftBehind(jsonText: nil).isEmpty && !LeftBehind(jsonText: nil).unreadable)
        var declared = left
        declared.removePullWaiting(["extra": [], "stock": ["expiry"]])
        #expect(declared.pullWaiting == ["stock": ["b"]])
    }
}

/// Review of issue 14, round 2, R6 and R8: two syncs with one peer at once each add and take
/// out their own, and a value that cannot be read makes the next sync start over.
@Suite struct LeftBehindUpdateTests {
    @Test("Text that is not what a checkpoint stores reads as unreadable, which sends back and is not empty")
    func garbledReadsAsUnreadable() {
        for text in [
            "garbage", "[]", #"{"unsent":"stock"}"#, #"{"unsent":[1]}"#, #"{"pullWaiting":{"extra":"b"}}"#, #"{"pullWaiting":[]}"#,
            #"{"sendsBack":"yes"}"#, #"{"unsent":[],"other":1}"#,
        ] {
            let left = LeftBehind(jsonText: text)
            #expect(left.unreadable && left.sendsBack && !left.isEmpty, "\(text)")
        }
        #expect(!LeftBehind(jsonText: #"{"pullWaiting":{},"unsent":[]}"#).unreadable)
        #expect(LeftBehind(jsonText: #"{"pullWaiting":{},"sendsBack":true,"unsent":["stock"]}"#) == LeftBehind(unsent: ["stock"], sendsBack: true))
    }

    @Test("An update takes out, then adds; sending back ends only for the database it was for")
    func updatesApply() {
        let left = LeftBehind(unsent: ["stock", "cases"], pullWaiting: ["extra": ["a"]], sendsBack: true)
        let next = left.applying(
            LeftBehind.Update(
                unsent: ["stock"], sendable: ["stock", "cases"], pullWaiting: ["extra": ["b"]], declared: ["extra": ["a"]], sentBack: "db1"),
            peerDatabase: "db1")
        #expect(next == LeftBehind(unsent: ["stock"], pullWaiting: ["extra": ["b"]]))
        #expect(left.applying(LeftBehind.Update(sentBack: "db0"), peerDatabase: "db1").sendsBack)
    }

    @Test("Two syncs with one peer at once each keep what they add: neither writes back a copy read before the other's", arguments: Backend.allCases)
    func concurrentUpdatesAreBothKept(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let store = try f.make("gamma")
        try await store.resetCheckpoint(peer: "hub", peerDatabase: "db1", sendsBack: true)
        // Sync A reads the checkpoint (sendsBack) and starts its push of everything; sync B,
        // started meanwhile, moves past a collection it could not send.
        let readByA = try await store.checkpoint(peer: "hub")
        #expect(readByA.leftBehind.sendsBack)
        try await store.updateLeftBehind(peer: "hub", LeftBehind.Update(unsent: ["stock"]))
        try await store.updateLeftBehind(peer: "hub", LeftBehind.Update(pullWaiting: ["extra": []]))
        // A finishes: its push of everything went, so nothing is to be sent back any longer. B's stays.
        try await store.updateLeftBehind(peer: "hub", LeftBehind.Update(sentBack: "db1"))
        #expect(try await store.checkpoint(peer: "hub").leftBehind == LeftBehind(unsent: ["stock"], pullWaiting: ["extra": []]))
        // A rewind takes out only what it names.
        try await store.updateLeftBehind(peer: "hub", LeftBehind.Update(unsent: ["cases"]))
        try await store.rewind(peer: "hub", pushed: 0, pullAgain: false, update: LeftBehind.Update(sendable: ["stock"]))
        #expect(try await store.checkpoint(peer: "hub").leftBehind == LeftBehind(unsent: ["cases"], pullWaiting: ["extra": []]))
        // The peer's database is replaced and another sync starts over with it while A still
        // pushes to the old one: A's end does not end the new one's sending back.
        try await store.resetCheckpoint(peer: "hub", peerDatabase: "db2", sendsBack: true)
        try await store.updateLeftBehind(peer: "hub", LeftBehind.Update(sentBack: "db1"))
        #expect(try await store.checkpoint(peer: "hub").leftBehind == LeftBehind(sendsBack: true))
        // Starting over again keeps sending back what was to be sent back.
        try await store.resetCheckpoint(peer: "hub", peerDatabase: "db3", sendsBack: false)
        #expect(try await store.checkpoint(peer: "hub").leftBehind == LeftBehind(sendsBack: true))
    }

    @Test("A value the database holds that cannot be read: the next sync starts over, and everything is synced")
    func anUnreadableValueStartsOver() async throws {
        let f = try Backend.Factory(.sqlite)
        defer { f.keep() }
        let hub = try f.make("hub")
        let station = try f.make("gamma", incarnation: "g1")
        try station.put("cases", "c1", ["notes": "first"])
        _ = try await sync(station, with: hub, principal: Principal(station: "gamma", read: .all, write: .all, relay: false))
        // Lost from the hub meanwhile (a backup without it), and the station's value garbled.
        try station.put("cases", "c2", ["notes": "second"])
        _ = try await sync(station, with: hub, principal: Principal(station: "gamma", read: .all, write: .all, relay: false))
        let file = try #require(station as? StationStore)
        try await file.pool.write { try $0.execute(sql: #"UPDATE checkpoint SET leftBehind = '{"unsent":' WHERE peer = 'hub'"#) }
        #expect(try await station.checkpoint(peer: "hub").leftBehind.unreadable)
        let again = try await sync(station, with: hub, principal: Principal(station: "gamma", read: .all, write: .all, relay: false))
        #expect(again.startedOver && again.pushed == 2)
        #expect(try await station.checkpoint(peer: "hub").leftBehind.isEmpty)
    }
}

/// Review 16, G1 and G3: two syncs at once under two tokens; a sync that ends while another
/// token keeps writing.
@Suite struct ConcurrentSyncTests {
    /// Forwards to a loopback transport; runs `during` once, at the push of the first batch.
    final class Interleaving: SyncTransport {
        let inner: LoopbackTransport
        let during: @Sendable () async throws -> Void
        let ran = Mutex(false)
        init(inner: LoopbackTransport, during: @escaping @Sendable () async throws -> Void) {
            self.inner = inner
            self.during = during
        }
        func session() async throws -> PeerSession { try await inner.session() }
        func schema() async throws -> Schema { try await inner.schema() }
        func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse { try await inner.pull(cursor: cursor, limit: limit) }
        func push(_ body: PreparedPush) async throws -> PushResponse {
            let first = ran.withLock { ran in
                defer { ran = true }
                return !ran
            }
            if first { try await during() }
            return try await inner.push(body)
        }
    }

    @Test(
        "A write made while a narrow token's sync runs beside a wide token's reaches the hub: each sync notes what it skips",
        arguments: Backend.allCases)
    func aWriteSkippedByTheNarrowSyncIsNotLost(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let hub = try f.make("hub")
        let station = try f.make("gamma", incarnation: "g1")
        let narrow = LeftBehindTests.station("gamma", write: try AccessList(parsing: "cases"))
        let wide = LeftBehindTests.station("gamma", write: .all)
        try station.add("stock", "s0", field: "quantity", amount: 1)
        for i in 0..<6 { try station.put("cases", "c\(i)", ["notes": "first"]) }
        _ = try await sync(station, with: hub, principal: narrow)
        #expect(try await station.checkpoint(peer: "hub").leftBehind.unsent == ["stock"])
        // More to push, a batch at a time: the service is still pushing when the clerk writes.
        for i in 0..<6 { try station.put("cases", "c\(i)", ["notes": "again"]) }
        // The service (narrow token) starts; at its first push the clerk's wide sync runs to
        // its end, then the clerk writes stock s1, which the service then skips.
        let service = SyncService(storage: hub, authentication: .none)
        let transport = Interleaving(
            inner: LoopbackTransport(service: service, principal: narrow, caller: station.writer.rawValue),
            during: {
                _ = try await sync(station, with: hub, principal: wide)
                try station.add("stock", "s1", field: "quantity", amount: 5)
            })
        let running = try await SyncEngine(storage: station, transport: transport, batchSize: 1).run()
        #expect(running.notSent >= 1)
        #expect(try await station.checkpoint(peer: "hub").leftBehind.unsent.contains("stock"))
        // The next wide sync sends s1.
        _ = try await sync(station, with: hub, principal: wide)
        #expect(try hub.record("stock", "s1")?.view.fields["quantity"] == .int(5))
        #expect(try hub.record("stock", "s0")?.view.fields["quantity"] == .int(1))
    }

    /// A transport whose every pull also writes a record at the peer first: its feed grows
    /// as fast as this node pulls.
    final class GrowingPeer: SyncTransport {
        let inner: LoopbackTransport
        let peer: any TestBackendStore
        let writes = Mutex(0)
        init(inner: LoopbackTransport, peer: any TestBackendStore) {
            self.inner = inner
            self.peer = peer
        }
        func session() async throws -> PeerSession { try await inner.session() }
        func schema() async throws -> Schema { try await inner.schema() }
        func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse {
            let n = writes.withLock { n in
                n += 1
                return n
            }
            for i in 0..<3 { try peer.put("cases", "grown-\(n)-\(i)", ["notes": "written meanwhile"]) }
            return try await inner.pull(cursor: cursor, limit: limit)
        }
        func push(_ body: PreparedPush) async throws -> PushResponse { try await inner.push(body) }
    }

    @Test("A sync ends where the peer's feed stood at its session, however fast others write meanwhile", arguments: Backend.allCases)
    func aSyncEndsAtTheFeedOfItsSession(_ backend: Backend) async throws {
        let f = try Backend.Factory(backend)
        defer { f.keep() }
        let hub = try f.make("hub")
        let station = try f.make("gamma", incarnation: "g1")
        for i in 0..<10 { try hub.put("cases", "h\(i)", ["notes": "there before"]) }
        let service = SyncService(storage: hub, authentication: .none)
        let transport = GrowingPeer(inner: LoopbackTransport(service: service, principal: .trustedPeer, caller: station.writer.rawValue), peer: hub)
        var engine = SyncEngine(storage: station, transport: transport, batchSize: 2)
        engine.maxPulledFromPeer = 100  // without the bound, the sync would stop only here (pullCut)
        let summary = try await engine.run()
        // Every record there at the session came; the sync ended though 3 more came at each page.
        for i in 0..<10 { #expect(try station.record("cases", "h\(i)") != nil) }
        #expect(summary.pulled >= 10 && summary.pulled < 40)
        #expect(!summary.pullCut)
    }
}

/// Review of issue 14, F1: a hub restored from a backup gets back from its stations what the
/// backup lacked, records they pulled from it included.
@Suite struct RestoredHubTests {
    static func station(_ name: String, relay: Bool = false) -> Principal { Principal(station: name, read: .all, write: .all, relay: relay) }

    @Test("Stations push back what they pulled from a restored hub: their own writes are taken, others' wait for their writers or a relay token")
    func whatTheBackupLackedComesBack() async throws {
        let clock: @Sendable () -> UInt64 = { 1_700_000_000_000 }
        let hub = try MemoryStore(node: "hub", schema: syncSchema, incarnation: "h1", clock: clock)
        let a = try MemoryStore(node: "aa", schema: syncSchema, incarnation: "a1", clock: clock)
        let b = try MemoryStore(node: "bb", schema: syncSchema, incarnation: "b1", clock: clock)
        let backup = hub.copy()
        // After the backup: aa's record and one the hub wrote itself reach bb through the hub.
        try a.put("cases", "from-aa", ["notes": "aa wrote this"])
        try await sync(a, with: hub, principal: Self.station("aa"))
        try hub.put("cases", "from-hub", ["notes": "the operator wrote this"])
        try await sync(b, with: hub, principal: Self.station("bb"))
        #expect(try b.record("cases", "from-aa") != nil && b.record("cases", "from-hub") != nil)

        // The hub is put back from the backup: a new database, under a new incarnation.
        let restored = backup.copy(renewing: "h2")
        let back = try await sync(b, with: restored, principal: Self.station("bb"))
        #expect(back.startedOver)
        // Not bb's writes: they wait (listed) rather than being taken on bb's word.
        #expect(Set(back.waitingRecords) == ["cases/from-aa", "cases/from-hub"], "\(back)")
        // aa brings its own back; bb's copy of it is then taken.
        try await sync(a, with: restored, principal: Self.station("aa"))
        #expect(try restored.record("cases", "from-aa")?.view.fields["notes"] == "aa wrote this")
        // What the hub wrote itself after the backup comes back through a station the operator
        // trusts with a relay token, once.
        let relayed = try await sync(b, with: restored, principal: Self.station("bb", relay: true))
        #expect(relayed.waiting == 0, "\(relayed)")
        #expect(try restored.record("cases", "from-hub")?.view.fields["notes"] == "the operator wrote this")
        // And then nothing is left to send back.
        #expect(try await b.checkpoint(peer: "hub").leftBehind.isEmpty)
        #expect(try await sync(b, with: restored, principal: Self.station("bb")).pushed == 0)
    }
}
