import StationCore
import Testing
@testable import StationStore

/// The write path's shortcuts (WriteTransaction.swift): a write after one that created its record
/// is tried as an INSERT first, and the last record read or written is not read again. Neither may
/// change what a write gives: a run of writes in one transaction must end exactly as the same writes
/// one transaction each (where every write reads its record first).
@Suite struct WritePathTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    /// Creates, updates, deletes, recreates and counts, mixing new and existing records.
    static let writes: [@Sendable (WriteTransaction) throws -> Void] = [
        { _ = try $0.put("cases", "r0", ["status": "open", "visits": 2]) },
        { _ = try $0.put("cases", "r1", ["notes": "first"]) },
        { _ = try $0.delete("cases", "r1") },
        { _ = try $0.put("cases", "r2", ["status": "new"]) },  // created: the next write is tried as new
        { _ = try $0.put("cases", "r0", ["notes": "existing"]) },  // …but the record exists
        { _ = try $0.put("cases", "r3", ["visits": 5]) },
        { _ = try $0.add("cases", "r0", field: "visits", amount: 3) },  // tried as new, exists
        { _ = try $0.put("cases", "r4", ["notes": "x"]) },
        { _ = try $0.put("cases", "r1", ["status": "reopened"]) },  // tried as new, exists deleted: recreated
        { _ = try $0.put("cases", "r1", ["visits": 1]) },  // the record just written
        { _ = try $0.add("stock", "s0", field: "quantity", amount: 4) },
        { _ = try $0.add("stock", "s0", field: "quantity", amount: -1) },
    ]

    func contents(_ store: StationStore) throws -> [String] {
        try store.changes(since: 0, limit: 100).changes.map { "\($0.seq) \($0.collection)/\($0.id) \($0.stateText)" }
    }

    @Test func aRunOfWritesInOneTransactionEndsAsOneWriteAtATime() async throws {
        let together = try StationStore.create(path: dir.file("together.sqlite"), node: "hotline", schema: testSchema, clock: TestClock().closure)
        let apart = try StationStore.create(path: dir.file("apart.sqlite"), node: "hotline", schema: testSchema, clock: TestClock().closure)
        try together.write { tx in for write in Self.writes { try write(tx) } }
        for write in Self.writes { try apart.write { tx in try write(tx) } }
        #expect(try contents(together) == contents(apart))
        #expect(try together.record("cases", "r0")?.view.fields == ["status": "open", "notes": "existing", "visits": 5])
    }

    @Test func aWriteTriedAsNewRefusesWhatTheStoredRecordRefuses() async throws {
        let store = try StationStore.create(path: dir.file("a.sqlite"), node: "hotline", schema: testSchema, clock: TestClock().closure)
        try store.write { tx in
            _ = try tx.put("stock", "s0", ["quantity": 1])
            _ = try tx.delete("stock", "s0")
        }
        #expect(throws: CoreError.self) {
            try store.write { tx in
                _ = try tx.put("stock", "s1", ["quantity": 1])  // created: the next write is tried as new
                _ = try tx.add("stock", "s0", field: "quantity", amount: 1)  // deleted: refused
            }
        }
        #expect(try store.record("stock", "s1") == nil)
    }
}

extension WritePathTests {
    struct Refused: Error {}

    /// A merge's check (the hub's origin check) decides on the state the merge starts from, even
    /// when the record is tried as new first: a run of new records is checked as absent and read
    /// no further, and an existing record in the run is checked again with its stored state.
    @Test func aMergeCheckDecidesOnTheStoredState() async throws {
        let clock = TestClock()
        let hub = try StationStore.create(path: dir.file("hub.sqlite"), node: "hub", schema: testSchema, clock: clock.closure)
        let station = try StationStore.create(path: dir.file("station.sqlite"), node: "hotline", schema: testSchema, clock: clock.closure)
        func state(_ id: String) throws -> RecordState { try #require(try station.record("cases", id)).state }
        // The hub already holds an earlier version of b.
        try station.put("cases", "b", ["status": "open"])
        let older = try state("b")
        try hub.write { tx in _ = try tx.merge("cases", "b", older, from: "hotline") }
        try station.write { tx in for id in ["a1", "a2", "b", "a3"] { try tx.put("cases", id, ["notes": "from hotline"]) } }

        final class Seen: @unchecked Sendable { var states: [String: [RecordState?]] = [:] }
        let seen = Seen()
        let results = try hub.write { tx in
            try ["a1", "a2", "b", "a3"].map { id in
                try tx.merge("cases", id, try state(id), from: "hotline") { local in seen.states[id, default: []].append(local) }
            }
        }
        #expect(results == [.created, .created, .applied, .created])
        #expect(seen.states["a2"] == [nil])  // tried as new: checked as absent, not read
        #expect(seen.states["b"]?.last == older)  // there after all: checked with what is stored

        // A check that refuses the stored state refuses the merge, even after passing as absent.
        try station.put("cases", "b", ["notes": "again"])
        let newer = try state("b")
        #expect(throws: Refused.self) {
            try hub.write { tx in
                _ = try tx.merge("cases", "a4", try state("a1"), from: "hotline")
                _ = try tx.merge("cases", "b", newer, from: "hotline") { local in if local != nil { throw Refused() } }
            }
        }
        #expect(try hub.record("cases", "b")?.state.fields["notes"]?.map(\.value) == ["from hotline"])
        #expect(try hub.record("cases", "a4") == nil)
    }

    /// Review of stop 20, F1: two versions each within the writer limit joined beyond it; the hub
    /// stored the join and served it, and every station's pull failed on it from then on. The
    /// join is refused and the version held is kept.
    @Test func aJoinBeyondTheWriterLimitIsRefused() async throws {
        let store = try StationStore.create(path: dir.file("join.sqlite"), node: "hub", schema: testSchema, clock: TestClock().closure)
        let cases = try #require(testSchema.collections["cases"])
        var base = RecordState()
        try base.put(["notes": "x"], by: "evil", at: HLCTimestamp(wall: 1_800_000_000_000, logical: 0), in: cases, id: "bomb")
        var full = base
        for n in 1..<RecordState.maxClockEntries { _ = full.clock.increment(NodeID(node: "evil", incarnation: "x\(n)")) }
        var other = base
        _ = other.clock.increment(NodeID(node: "evil", incarnation: "y0"))
        _ = try store.write { try $0.merge("cases", "bomb", full, from: nil) }
        let before = try store.record("cases", "bomb")?.state
        #expect { try store.write { try $0.merge("cases", "bomb", other, from: nil) } } throws: {
            ($0 as? CoreError)?.code == .tooManyWriters && "\($0)".contains("cases/bomb") && "\($0)".contains("1025 writers")
        }
        #expect(try store.record("cases", "bomb")?.state == before)
    }
}
