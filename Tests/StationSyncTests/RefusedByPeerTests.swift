import Foundation
import GRDB
import StationCore
@testable import StationStore
import Testing
@testable import StationSync

/// Review round 5: a station that held no copy of a record (or an older one) took a forged
/// version of it from a rogue LAN peer or a crafted change file: its own checks had nothing to
/// compare it with. The hub, which holds the real one, refused (403) every push of that station
/// from then on, so nothing it wrote reached the hub, and it never pulled again. Now the hub's 403
/// names every refused record of the batch; the station sends the rest without them, pulls, and
/// lists them (`refusedByPeer`) at every sync.
@Suite struct RefusedByPeerTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    let labor = Principal(station: "labor", read: .all, write: .all, relay: false)
    let hotline = Principal(station: "hotline", read: .all, write: .all, relay: false)

    func store(_ name: String) throws -> StationStore {
        try StationStore.create(path: "\(dir.path)/\(name).sqlite", node: NodeID(validating: name), schema: syncSchema)
    }

    func sync(
        _ client: StationStore, with server: StationStore, principal: Principal = .trustedPeer, batchSize: Int = 500
    ) async throws -> SyncSummary {
        let transport = LoopbackTransport(
            service: SyncService(storage: server, authentication: .none), principal: principal, caller: client.node.rawValue,
            callerTime: { client.wallTime() })
        return try await SyncEngine(storage: client, transport: transport, batchSize: batchSize).run()
    }

    /// A rogue LAN peer serving `states` (as if it had them from the hub).
    func rogue(_ states: [(String, RecordState)]) throws -> StationStore {
        let rogue = try store("rogue-\(UUID().uuidString.prefix(8).lowercased())")
        try rogue.write { tx in
            for (id, state) in states { _ = try tx.merge("cases", id, state, from: nil) }
        }
        return rogue
    }

    /// The s8 scenario: labor's record, which the station never pulled, served by a LAN peer
    /// without labor's `notes` value.
    @Test func aForgedRecordTheStationHadNoCopyOfHoldsUpOnlyItself() async throws {
        let hub = try store("hub")
        let laborStore = try store("labor")
        try laborStore.put("cases", "r", ["notes": "labor's note", "status": "open"])
        _ = try await sync(laborStore, with: hub, principal: labor)
        var forged = try #require(try hub.record("cases", "r")).state
        forged.fields["notes"] = nil
        let station = try store("hotline")
        let fromPeer = try await sync(station, with: try rogue([("r", forged)]))
        #expect(fromPeer.created == 1 && fromPeer.refused == 0)  // nothing here to compare it with
        try station.put("cases", "mine", ["notes": "the station's own"])
        let hubBefore = try hub.record("cases", "r")?.state

        let first = try await sync(station, with: hub, principal: hotline)
        #expect(first.pushed == 1 && first.refusedByPeer == 1 && first.refusedByPeerRecords == ["cases/r"])
        #expect(first.waiting == 0 && first.refused == 0)
        #expect(try hub.record("cases", "mine") != nil)
        #expect(try hub.record("cases", "r")?.state == hubBefore)
        // It pulled, too: labor's next write reaches the station.
        try laborStore.put("cases", "later", ["notes": "labor again"])
        _ = try await sync(laborStore, with: hub, principal: labor)
        try station.put("cases", "mine2", ["notes": "more"])
        let second = try await sync(station, with: hub, principal: hotline)
        #expect(second.pushed == 1 && second.refusedByPeer == 1 && second.refusedByPeerRecords == ["cases/r"])
        #expect(try station.record("cases", "later") != nil)
        #expect(try hub.record("cases", "mine2") != nil)
        #expect(try hub.record("cases", "r")?.state == hubBefore)
    }

    /// The s11 scenario: the station holds labor's first write; labor wrote again; a LAN peer
    /// serves labor's clock with its first value in place of its second.
    @Test func aForgedNewerVersionOfAStaleCopyHoldsUpOnlyItself() async throws {
        let hub = try store("hub")
        let laborStore = try store("labor")
        try laborStore.put("cases", "r", ["notes": "first"])
        _ = try await sync(laborStore, with: hub, principal: labor)
        let station = try store("hotline")
        _ = try await sync(station, with: hub, principal: hotline)  // holds "first"
        let old = try #require(try hub.record("cases", "r")).state
        try laborStore.put("cases", "r", ["notes": "second"])
        _ = try await sync(laborStore, with: hub, principal: labor)
        var forged = try #require(try hub.record("cases", "r")).state
        forged.fields["notes"] = old.fields["notes"]
        let fromPeer = try await sync(station, with: try rogue([("r", forged)]))
        #expect(fromPeer.applied == 1 && fromPeer.refused == 0)
        try station.put("cases", "mine", ["notes": "own"])
        let summary = try await sync(station, with: hub, principal: hotline)
        #expect(summary.pushed == 1 && summary.refusedByPeerRecords == ["cases/r"])
        #expect(try hub.record("cases", "r")?.view.fields["notes"] == .string("second"))
        #expect(try hub.record("cases", "mine") != nil)
    }

    /// Forged records spread over several batches, among the station's own: every own record
    /// reaches the hub, at most one retry per batch holding forged ones.
    @Test func forgedRecordsInManyBatchesAreAllLeftOutAndTheRestGoes() async throws {
        let hub = try store("hub")
        let laborStore = try store("labor")
        for i in 0..<5 { try laborStore.put("cases", "f\(i)", ["notes": .string("labor \(i)"), "status": "open"]) }
        _ = try await sync(laborStore, with: hub, principal: labor)
        var forgedStates: [(String, RecordState)] = []
        for i in 0..<5 {
            var s = try #require(try hub.record("cases", "f\(i)")).state
            s.fields["notes"] = nil
            forgedStates.append(("f\(i)", s))
        }
        let station = try store("hotline")
        for i in 0..<6 { try station.put("cases", "own-a\(i)", ["notes": .string("\(i)")]) }
        _ = try await sync(station, with: try rogue(forgedStates))
        for i in 0..<6 { try station.put("cases", "own-b\(i)", ["notes": .string("\(i)")]) }
        let before = try hub.record("cases", "f0")?.state
        let summary = try await sync(station, with: hub, principal: hotline, batchSize: 3)
        #expect(summary.pushed == 12 && summary.refusedByPeer == 5)
        #expect(Set(summary.refusedByPeerRecords) == Set((0..<5).map { "cases/f\($0)" }))
        for i in 0..<6 {
            #expect(try hub.record("cases", "own-a\(i)") != nil && hub.record("cases", "own-b\(i)") != nil)
        }
        #expect(try hub.record("cases", "f0")?.state == before)
        // The next sync sends the refused ones again (they wait), and nothing else.
        let again = try await sync(station, with: hub, principal: hotline, batchSize: 3)
        #expect(again.pushed == 0 && again.refusedByPeer == 5)
    }

    /// A hostile token's push of forged states is still refused whole (403, nothing changes),
    /// and the answer names every forged record of the batch, in its order.
    @Test func aForgingPushIsRefusedWholeAndNamesEveryForgedRecord() async throws {
        let hub = try store("hub")
        let laborStore = try store("labor")
        try laborStore.put("cases", "a", ["notes": "labor a"])
        try laborStore.put("cases", "b", ["notes": "labor b"])
        _ = try await sync(laborStore, with: hub, principal: labor)
        let station = try store("hotline")
        _ = try await sync(station, with: hub, principal: hotline)
        var changes: [(collection: String, id: String, seq: Int64, stateText: String)] = []
        for (i, id) in ["b", "own", "a"].enumerated() {
            var state: RecordState
            if id == "own" {
                try station.put("cases", "own", ["notes": "honest"])
                state = try #require(try station.record("cases", "own")).state
            } else {
                state = try #require(try hub.record("cases", id)).state
                state.fields["notes"] = nil
            }
            changes.append(("cases", id, Int64(i + 1), state.canonicalText))
        }
        let body = PushRequest.encode(
            node: "hotline", writer: station.writer.rawValue, lineage: [], takeOver: false, changes: changes)
        try await hub.flushActivity()
        let before = try hub.everyRow()
        let service = SyncService(storage: hub, authentication: .none)
        await #expect { try await service.push(body: body, principal: hotline) } throws: { error in
            guard let e = error as? SyncError else { return false }
            return e.code == .forbidden && e.httpStatus == 403 && e.records == [RecordKey("cases", "b"), RecordKey("cases", "a")]
        }
        try await hub.flushActivity()
        #expect(try hub.everyRow() == before)
    }

    /// The error body carries the records, and a client reads them back.
    @Test func theErrorBodyNamesTheRecords() async throws {
        let body = ErrorBody(error: "forbidden", message: "m", records: [RecordKey("cases", "b"), RecordKey("cases", "é")])
        let bytes = Array(body.json.canonicalText.utf8)
        #expect(ErrorBody(bytes: bytes) == body)
        #expect(ErrorBody(bytes: Array(#"{"error":"forbidden","message":"m"}"#.utf8))?.records == [])
        #expect(!ErrorBody(error: "x", message: "y").json.canonicalText.contains("records"))
    }
}
