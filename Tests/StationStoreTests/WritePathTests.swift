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

    @Test func aRunOfWritesInOneTransactionEndsAsOneWriteAtATime() throws {
        let together = try StationStore.create(path: dir.file("together.sqlite"), node: "hotline", schema: testSchema, clock: TestClock().closure)
        let apart = try StationStore.create(path: dir.file("apart.sqlite"), node: "hotline", schema: testSchema, clock: TestClock().closure)
        try together.write { tx in for write in Self.writes { try write(tx) } }
        for write in Self.writes { try apart.write { tx in try write(tx) } }
        #expect(try contents(together) == contents(apart))
        #expect(try together.record("cases", "r0")?.view.fields == ["status": "open", "notes": "existing", "visits": 5])
    }

    @Test func aWriteTriedAsNewRefusesWhatTheStoredRecordRefuses() throws {
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
