import Foundation
import StationCore
import StationStore
import StationSync
import Testing
@testable import StationSync

@Suite struct SyncEngineTests {
    @Test func aWriteReachesEveryStationThroughTheHub() async throws {
        let net = try Network(["hub", "hotline", "civil-affairs", "charity"])
        try net["hotline"].put("cases", "c1", ["notes": "called in", "status": "open"])
        for s in ["hotline", "civil-affairs", "charity"] { try await net.sync(s, with: "hub") }
        #expect(try net["charity"].record("cases", "c1")?.view.fields["notes"] == "called in")
        #expect(try net.snapshot("charity") == net.snapshot("hotline"))
        #expect(try net.snapshot("hub") == net.snapshot("hotline"))
    }

    @Test func concurrentEditsConvergeWithTheSameConflictEverywhere() async throws {
        let net = try Network(["hub", "a", "b"])
        try net["a"].put("cases", "c1", ["status": "open", "notes": "n"])
        try await net.sync("a", with: "hub")
        try await net.sync("b", with: "hub")
        try net["a"].put("cases", "c1", ["status": "closed"])
        try net["b"].put("cases", "c1", ["status": "referred", "notes": "b's note"])
        try net["a"].add("stock", "rice", field: "quantity", amount: 5)
        try net["b"].add("stock", "rice", field: "quantity", amount: -2)
        for _ in 0..<2 { for s in ["a", "b"] { try await net.sync(s, with: "hub") } }
        let views = try ["hub", "a", "b"].map { try #require(try net[$0].record("cases", "c1")).view }
        #expect(Set(views.map { $0.conflicts.map(\.id) }).count == 1)
        #expect(views.allSatisfy { $0.conflicted && $0.fields["notes"] == "b's note" })
        #expect(try net["a"].record("stock", "rice")?.view.fields["quantity"] == 3)
        #expect(try net.snapshot("a") == net.snapshot("b"))
        #expect(try net.snapshot("hub") == net.snapshot("b"))
    }

    @Test func aSecondSyncChangesNothingAndEchoesNothing() async throws {
        let net = try Network(["hub", "a"])
        for i in 0..<50 { try net["a"].put("cases", "c\(i)", ["notes": .string("n\(i)")]) }
        let first = try await net.sync("a", with: "hub")
        #expect(first.pushed == 50 && first.pulled == 0)  // the hub does not send a's own changes back
        let hubSeq = try net["hub"].lastSequence(), aSeq = try net["a"].lastSequence()
        let second = try await net.sync("a", with: "hub")
        #expect(second.pushed == 0 && second.pulled == 0)
        #expect(try net["hub"].lastSequence() == hubSeq && net["a"].lastSequence() == aSeq)
    }

    @Test func smallBatchesCoverEverythingExactlyOnce() async throws {
        let net = try Network(["hub", "a", "b"])
        try net["a"].write { tx in for i in 0..<1234 { try tx.put("cases", "c\(i)", ["notes": .string("n\(i)")]) } }
        let push = try await net.sync("a", with: "hub", batchSize: 100)
        #expect(push.pushed == 1234)
        let pull = try await net.sync("b", with: "hub", batchSize: 7)
        #expect(pull.pulled == 1234 && pull.created == 1234)
        #expect(try net["b"].records(in: "cases").count == 1234)
    }

    @Test func anyTopologyConvergesWhenSyncedUntilQuiet() async throws {
        // A chain a - b - hub - c, a ring of peers, and random pairs: writes everywhere, then syncs
        // along the edges until nothing moves; every replica ends byte-identical.
        let nodes = ["hub", "a", "b", "c", "d"]
        let net = try Network(nodes)
        var rng = SystemRandomNumberGenerator()
        let edges = [("a", "b"), ("b", "hub"), ("c", "hub"), ("d", "c"), ("a", "d")]
        for round in 0..<4 {
            for node in nodes {
                for _ in 0..<5 {
                    let id = "r\(Int.random(in: 0..<6, using: &rng))"
                    switch Int.random(in: 0..<4, using: &rng) {
                    case 0: try net[node].add("stock", id, field: "quantity", amount: Int64.random(in: -3...9, using: &rng))
                    case 1: _ = try? net[node].delete("cases", id)
                    default:
                        try net[node].put(
                            "cases", id, ["notes": .string("\(node) \(round)"), "status": .string(["open", "closed"].randomElement(using: &rng)!)])
                    }
                }
            }
            for (x, y) in edges.shuffled(using: &rng) { try await net.sync(x, with: y) }
        }
        var quiet = false
        var rounds = 0
        while !quiet {
            quiet = true
            rounds += 1
            for (x, y) in edges {
                let s = try await net.sync(x, with: y)
                if s.created + s.applied + s.merged > 0 || s.pushed > 0 { quiet = false }
            }
            #expect(rounds < 20)
            if rounds >= 20 { break }
        }
        let reference = try net.snapshot("hub")
        for node in nodes { #expect(try net.snapshot(node) == reference, "\(node) differs") }
    }

    @Test func originBindingLeavesOthersWritesWaitingWithoutRelay() async throws {
        let net = try Network(["hub", "a", "b"])
        try net["a"].put("cases", "c1", ["notes": "a's write"])
        try await net.sync("b", with: "a")  // b now holds a's write, as a LAN peer
        try net["b"].put("cases", "c2", ["notes": "b's own"])
        let bOnly = Principal(station: "b", read: .all, write: .all, relay: false)
        // b's own record goes; the one holding a's write waits (not taken, not refused).
        let first = try await net.sync("b", with: "hub", principal: bOnly)
        #expect(first.waiting == 1 && first.pushed == 1, "\(first)")
        #expect(try net["hub"].record("cases", "c1") == nil)
        #expect(try net["hub"].record("cases", "c2") != nil)
        #expect(try net["b"].waitingCount(peer: "hub") == 1)
        // It is sent again at every sync, and goes once a's write is at the hub.
        #expect(try await net.sync("b", with: "hub", principal: bOnly).waiting == 1)
        try await net.sync("a", with: "hub")
        try net["b"].put("cases", "c1", ["phone": "555"])  // and b edits it meanwhile
        let later = try await net.sync("b", with: "hub", principal: bOnly)
        #expect(later.waiting == 0, "\(later)")
        #expect(try net["b"].waitingCount(peer: "hub") == 0)
        #expect(try net["hub"].record("cases", "c1")?.view.fields == ["notes": "a's write", "phone": "555"])
        // A relay token carries them at once.
        let net2 = try Network(["hub", "a", "b"])
        try net2["a"].put("cases", "c1", ["notes": "a's write"])
        try await net2.sync("b", with: "a")
        let relay = Principal(station: "b", read: .all, write: .all, relay: true)
        try await net2.sync("b", with: "hub", principal: relay)
        #expect(try net2["hub"].record("cases", "c1")?.view.fields["notes"] == "a's write")
    }

    @Test(
        "Two stations that both wrote a record and synced on the LAN before the hub do not wait for each other forever: each sends its own version",
        arguments: [true, false])
    func ownVersionsEndTheWaitOfTwoLANPeers(knowHubFirst: Bool) async throws {
        let net = try Network(["hub", "a", "b"])
        let aOnly = Principal(station: "a", read: .all, write: .all, relay: false)
        let bOnly = Principal(station: "b", read: .all, write: .all, relay: false)
        if knowHubFirst {
            // Both know the hub already (or not: stations set up offline that met on the LAN first).
            try await net.sync("a", with: "hub", principal: aOnly)
            try await net.sync("b", with: "hub", principal: bOnly)
        }
        try net["a"].put("stock", "rice", ["name": "Rice, 10 kg", "quantity": 10])
        try net["b"].put("stock", "rice", ["quantity": 4])
        try net["b"].add("stock", "rice", field: "quantity", amount: -1)
        // On the LAN, both ways: now each one's record holds the other's writes.
        try await net.sync("b", with: "a")
        try await net.sync("a", with: "b")
        #expect(try net["a"].ownVersionCount() >= 1 && net["b"].ownVersionCount() >= 1)
        // a edits it again on top of b's writes.
        try net["a"].add("stock", "rice", field: "quantity", amount: 2)
        var rounds = 0
        while rounds < 4 {
            rounds += 1
            let sa = try await net.sync("a", with: "hub", principal: aOnly)
            let sb = try await net.sync("b", with: "hub", principal: bOnly)
            if sa.waiting == 0, sb.waiting == 0 { break }
        }
        #expect(rounds <= 2, "own versions should end the wait in one round or two, took \(rounds)")
        let hub = try #require(try net["hub"].record("stock", "rice"))
        // a counted 10 and b 4 without seeing each other (a conflict; b's count, the later, shows),
        // b took 1 and a added 2: both counts have both increments on top.
        #expect(hub.view.fields["quantity"] == 5, "\(hub.view.fields)")
        #expect(hub.view.conflicts.first { $0.field == "quantity" }?.values.map(\.value) == [5, 11])
        for node in ["a", "b"] {
            try await net.sync(node, with: "hub", principal: node == "a" ? aOnly : bOnly)
            #expect(try net[node].record("stock", "rice")?.state == net["hub"].record("stock", "rice")?.state, "\(node)")
            #expect(try net[node].ownVersionCount() == 0, "own versions are dropped once the hub took the record")
        }
        #expect(try net["hub"].record("stock", "rice")?.view.fields["name"] == "Rice, 10 kg")
    }

    /// Review of stop 18, F1: a record a hub answered `waiting` for is behind the push checkpoint;
    /// merging a LAN peer's version on top of it must still keep this node's own version, or the
    /// two stations wait for each other forever.
    @Test func aRecordWaitingAtTheHubKeepsItsOwnVersionWhenALANPeerWritesOnTop() async throws {
        let net = try Network(["hub", "a", "b"])
        let aOnly = Principal(station: "a", read: .all, write: .all, relay: false)
        let bOnly = Principal(station: "b", read: .all, write: .all, relay: false)
        try net["a"].put("cases", "r", ["notes": "a1"])
        try await net.sync("a", with: "hub", principal: aOnly)
        try await net.sync("b", with: "hub", principal: bOnly)
        try net["b"].put("cases", "r", ["status": "b1"])
        try await net.sync("a", with: "b")
        try net["a"].put("cases", "r", ["notes": "a2"])
        #expect(try await net.sync("a", with: "hub", principal: aOnly).waiting == 1)  // holds b1, which the hub lacks
        try await net.sync("a", with: "b")
        try net["b"].put("cases", "r", ["status": "b2"])
        try await net.sync("b", with: "a")
        var rounds = 0
        while rounds < 6 {
            rounds += 1
            let sa = try await net.sync("a", with: "hub", principal: aOnly)
            let sb = try await net.sync("b", with: "hub", principal: bOnly)
            if sa.waiting == 0, sb.waiting == 0 { break }
        }
        #expect(rounds < 6, "a and b still wait for each other")
        let view = try #require(try net["hub"].record("cases", "r")).view
        #expect(view.fields["notes"] == "a2" && view.fields["status"] == "b2", "\(view.fields)")
    }

    /// Review of stop 18, F5: own versions do not pile up: one is kept only when it holds own
    /// writes the newest kept one lacks, and at most 16 per record.
    @Test func ownVersionsAreBounded() async throws {
        let net = try Network(["a", "b"])
        try net["a"].put("cases", "r", ["notes": "a"])
        for i in 0..<3 {
            try net["b"].put("cases", "r", ["status": .string("b\(i)")])
            try await net.sync("a", with: "b")  // b's writes on top of a's own, never sent to a hub
        }
        #expect(try net["a"].ownVersionCount() == 1, "no new own write: nothing new to keep")
        for i in 0..<40 {
            try net["a"].put("cases", "r", ["notes": .string("a\(i)")])
            try net["b"].put("cases", "r", ["status": .string("b\(i)")])
            try await net.sync("a", with: "b")
        }
        #expect(try net["a"].ownVersionCount() == 16)
    }

    @Test func readAndWritePermissionsLimitWhatMoves() async throws {
        let net = try Network(["hub", "charity", "other"])
        try net["other"].put("cases", "c1", ["notes": "private"])
        try net["other"].put("stock", "rice", ["quantity": 4])
        try await net.sync("other", with: "hub")
        let charity = Principal(station: "charity", read: .only(["stock"]), write: .only(["stock"]), relay: false)
        try net["charity"].put("cases", "c9", ["notes": "local only"])
        let summary = try await net.sync("charity", with: "hub", principal: charity)
        #expect(summary.notSent == 1)
        #expect(try net["charity"].record("cases", "c1") == nil)
        #expect(try net["charity"].record("stock", "rice")?.view.fields["quantity"] == 4)
        #expect(try net["hub"].record("cases", "c9") == nil)
    }

    @Test func aSchemaMismatchStopsTheSyncNamingTheField() async throws {
        let dir = try TemporaryDirectory()
        let hub = try StationStore.create(path: "\(dir.path)/hub.sqlite", node: "hub", schema: syncSchema)
        var other = syncSchema
        other.collections["stock"]!.fields["quantity"] = .lww
        let station = try StationStore.create(path: "\(dir.path)/s.sqlite", node: "s", schema: other)
        try station.put("stock", "rice", ["quantity": 3])
        let transport = LoopbackTransport(service: SyncService(storage: hub, authentication: .none), caller: "s")
        await #expect {
            try await SyncEngine(storage: station, transport: transport).run()
        } throws: { error in
            (error as? SyncError)?.code == .schemaMismatch && "\(error)".contains("stock.quantity is lww here but counter at the peer")
        }
        #expect(try hub.lastSequence() == 0)
    }

    @Test func theHubsNewCollectionsReachStations() async throws {
        let dir = try TemporaryDirectory()
        var bigger = syncSchema
        bigger.collections["donations"] = CollectionSchema(name: "donations", defaultPolicy: .manual)
        let hub = try StationStore.create(path: "\(dir.path)/hub.sqlite", node: "hub", schema: bigger)
        try hub.put("donations", "d1", ["amountYuan": 500])
        let station = try StationStore.create(path: "\(dir.path)/s.sqlite", node: "s", schema: syncSchema)
        // From a LAN peer (no token of this station's), the new collection waits.
        let lan = LoopbackTransport(service: SyncService(storage: hub, authentication: .none), caller: "s")
        let waited = try await SyncEngine(storage: station, transport: lan).run()
        #expect(waited.schemaWaiting == 1 && waited.schemaAdditions.isEmpty, "\(waited)")
        // From the hub (the station's token), it is taken.
        let transport = LoopbackTransport(
            service: SyncService(storage: hub, authentication: .none), principal: Principal(station: "s", read: .all, write: .all, relay: false),
            caller: "s")
        try await station.resetCheckpoint(peer: "hub", peerDatabase: hub.databaseID)
        let summary = try await SyncEngine(storage: station, transport: transport).run()
        #expect(summary.schemaAdditions == ["donations"])
        #expect(try station.record("donations", "d1")?.view.fields["amountYuan"] == 500)
        try station.close()
        #expect(try StationStore.open(path: "\(dir.path)/s.sqlite").schema == bigger)
    }

    @Test func aReplacedPeerDatabaseMeansStartingOver() async throws {
        let dir = try TemporaryDirectory()
        let station = try StationStore.create(path: "\(dir.path)/s.sqlite", node: "s", schema: syncSchema)
        try station.put("cases", "c1", ["notes": "x"])
        let hub1 = try StationStore.create(path: "\(dir.path)/hub1.sqlite", node: "hub", schema: syncSchema)
        _ = try await SyncEngine(
            storage: station, transport: LoopbackTransport(service: SyncService(storage: hub1, authentication: .none), caller: "s")
        )
        .run()
        // The hub's database is lost and a new one takes its place under the same name.
        let hub2 = try StationStore.create(path: "\(dir.path)/hub2.sqlite", node: "hub", schema: syncSchema)
        let summary = try await SyncEngine(
            storage: station, transport: LoopbackTransport(service: SyncService(storage: hub2, authentication: .none), caller: "s")
        ).run()
        #expect(summary.startedOver && summary.pushed == 1)
        #expect(try hub2.record("cases", "c1") != nil)
    }

    /// A transport that fails after a number of calls, like a process killed mid-sync.
    struct FailingTransport: SyncTransport {
        let inner: LoopbackTransport
        let failAfter: Int
        let calls: Counter
        final class Counter: @unchecked Sendable { var n = 0 }
        func tick() throws {
            calls.n += 1
            if calls.n > failAfter { throw SyncError(.transport, "connection lost") }
        }
        func session() async throws -> PeerSession { try tick(); return try await inner.session() }
        func schema() async throws -> Schema { try tick(); return try await inner.schema() }
        func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse {
            try tick(); return try await inner.pull(cursor: cursor, limit: limit)
        }
        func push(_ body: PreparedPush) async throws -> PushResponse { try tick(); return try await inner.push(body) }
    }

    @Test func aSyncCutAnywhereCompletesOnTheNextTryWithEverythingOnce() async throws {
        for cut in 1...12 {
            let net = try Network(["hub", "a", "b"])
            try net["a"].write { tx in for i in 0..<300 { try tx.put("cases", "a\(i)", ["notes": .string("\(i)")]) } }
            try net["hub"].write { tx in for i in 0..<300 { try tx.put("stock", "h\(i)", ["quantity": .int(Int64(i))]) } }
            let inner = LoopbackTransport(service: SyncService(storage: net["hub"], authentication: .none), caller: "a")
            let failing = FailingTransport(inner: inner, failAfter: cut, calls: .init())
            await #expect(throws: SyncError.self) { try await SyncEngine(storage: net["a"], transport: failing, batchSize: 50).run() }
            try await net.sync("a", with: "hub", batchSize: 50)
            #expect(try net["hub"].records(in: "cases").count == 300)
            #expect(try net["a"].records(in: "stock").count == 300)
            #expect(try net.snapshot("a") == net.snapshot("hub"))
        }
    }
}
