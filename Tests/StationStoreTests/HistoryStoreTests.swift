import Foundation
import GRDB
import StationCore
import Testing
@testable import StationStore
import StationSync

/// Each record's history as a station database keeps it.
@Suite struct HistoryStoreTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    func makeStore(
        _ name: String, node: NodeID, schema: Schema = testSchema, role: DatabaseRole? = .station, clock: TestClock = TestClock()
    )
        throws -> StationStore
    {
        try StationStore.create(path: dir.file("\(name).sqlite"), node: node, schema: schema, role: role, clock: clock.closure)
    }

    func kinds(_ store: StationStore, _ collection: String, _ id: String) throws -> [String] {
        try store.history(collection, id).map { $0.kind?.rawValue ?? "?" }
    }

    @Test func everyLocalWriteIsAnEntryWithItsAuthor() async throws {
        let a = try makeStore("a", node: "charity")
        try a.put("stock", "rice", ["quantity": 20], author: "Wang Fang")
        try a.add("stock", "rice", field: "quantity", amount: -2, author: "Li Na")
        try a.delete("stock", "rice")
        let entries = try a.history("stock", "rice")
        #expect(entries.map { $0.kind } == [.created, .updated, .deleted])
        #expect(entries.map(\.peer) == [nil, nil, nil])
        #expect(entries.map(\.number) == entries.map(\.number).sorted())
        let second = try #require(entries[1].entry.objectValue)
        #expect(second["writes"]?.arrayValue?.first?.objectValue?["author"] == "Li Na")
        #expect(second["changes"] == [["field": "quantity", "before": 20, "after": 18, "moved": -2]])
        // Paging.
        #expect(try a.history("stock", "rice", after: entries[0].number, limit: 1).map(\.number) == [entries[1].number])
        // A put of what the record shows writes nothing, and so adds no entry.
        try a.put("cases", "c1", ["notes": "x"])
        try a.put("cases", "c1", ["notes": "x"])
        #expect(try kinds(a, "cases", "c1") == ["created"])
    }

    @Test func aMergeIsAnEntryOnlyWhenReadsShowSomethingNew() async throws {
        let a = try makeStore("a", node: "charity")
        let b = try makeStore("b", node: "hotline")
        try a.put("cases", "c1", ["notes": "from a", "status": "open"], author: "Li Na")
        try sync(a, to: b)
        #expect(try kinds(b, "cases", "c1") == ["created"])
        #expect(try b.history("cases", "c1").first?.peer == "charity")
        // The same version again: nothing new to show, no entry.
        try sync(a, to: b)
        #expect(try kinds(b, "cases", "c1") == ["created"])
        try b.put("cases", "c1", ["status": "closed"], author: "\u{9648}\u{6770}")
        try a.put("cases", "c1", ["status": "waiting"], author: "Li Na")
        try sync(b, to: a)
        let merged = try #require(try a.history("cases", "c1").last)
        #expect(merged.kind == .merged && merged.peer == "hotline")
        let entry = try #require(merged.entry.objectValue)
        #expect(entry["writes"]?.arrayValue?.map { $0.objectValue?["author"] } == ["\u{9648}\u{6770}"])
        #expect(entry["opened"]?.arrayValue?.first?.objectValue?["field"] == "status")
        // The conflict shows who wrote each side.
        let conflict = try #require(try a.record("cases", "c1")?.view.conflicts.first)
        #expect(Set(conflict.values.compactMap(\.author)) == ["Li Na", "\u{9648}\u{6770}"])
        // Resolving it is an entry with the person.
        try a.resolveConflict(id: conflict.id, .accept, person: "Zhou")
        let resolved = try #require(try a.history("cases", "c1").last)
        #expect(resolved.kind == .resolved)
        #expect(resolved.entry.objectValue?["resolved"]?.arrayValue?.first?.objectValue?["person"] == "Zhou")
    }

    @Test func aHubKeepsNoHistory() async throws {
        let hub = try makeStore("hub", node: "center", role: .hub)
        #expect(!hub.keepsHistory)
        try hub.put("cases", "c1", ["notes": "x"])
        #expect(try hub.history("cases", "c1").isEmpty)
    }

    @Test func aRefusedWriteLeavesNoEntry() async throws {
        let a = try makeStore("a", node: "charity")
        try a.put("cases", "c1", ["notes": "x"])
        #expect(throws: CoreError.self) { try a.put("cases", "c1", ["notes": "y"], author: "bad\u{1}name") }
        #expect(throws: (any Error).self) { try a.add("cases", "c1", field: "notes", amount: 1) }
        #expect(try kinds(a, "cases", "c1") == ["created"])
    }

    @Test func theHorizonPrunesTheOldestEntries() async throws {
        var schema = testSchema
        schema.collections["cases"]!.historyDays = 1
        schema.collections["stock"]!.historyDays = 0
        let clock = TestClock()
        let a = try makeStore("a", node: "charity", schema: schema, clock: clock)
        try a.put("cases", "old", ["notes": "1"])
        try a.put("stock", "rice", ["quantity": 1])
        #expect(try a.history("stock", "rice").isEmpty)  // 0 days: none kept
        clock.now += 2 * 86_400_000  // two days later: past the one-day horizon
        try a.put("cases", "new", ["notes": "2"])
        #expect(try a.history("cases", "old").isEmpty)
        #expect(try kinds(a, "cases", "new") == ["created"])
        // And not again within the hour: an entry written now stays.
        try a.put("cases", "old", ["notes": "3"])
        #expect(try kinds(a, "cases", "old") == ["updated"])
    }

    @Test func entriesAreStampedByThisNodesClockNotAPeersRunningAhead() async throws {
        let clock = TestClock()
        var schema = testSchema
        schema.collections["cases"]!.historyDays = 1
        let a = try makeStore("a", node: "charity", schema: schema, clock: clock)
        try a.put("cases", "old", ["notes": "1"])
        let stampedBefore = try #require(try a.history("cases", "old").first).storedAt
        // A peer whose clock runs 20 hours ahead writes a record this node merges.
        let ahead = TestClock()
        ahead.now = clock.now + 20 * 3_600_000
        let b = try makeStore("b", node: "hotline", schema: schema, clock: ahead)
        try b.put("cases", "future", ["notes": "from ahead"])
        try sync(b, to: a)
        try a.put("cases", "new", ["notes": "2"])
        let stamped = try #require(try a.history("cases", "new").first).storedAt
        #expect(stamped < clock.now + 1000 && stamped > stampedBefore, "\(stamped) vs \(clock.now)")
        // And the one-day horizon kept the first entry: the hybrid clock's 20 hours do not count.
        clock.now += 5 * 3_600_000
        try a.put("cases", "new", ["notes": "3"])
        #expect(try a.history("cases", "old").count == 1)
    }

    @Test func aForgottenRecordSaysSoInItsHistory() async throws {
        let a = try makeStore("a", node: "charity")
        let b = try makeStore("b", node: "hotline")
        try b.put("cases", "junk", ["notes": "x"])
        try sync(b, to: a)
        try a.forget([RecordKey("cases", "junk")])
        #expect(try kinds(a, "cases", "junk") == ["created", "forgotten"])
    }

    @Test func addingZeroWritesNothing() async throws {
        let a = try makeStore("a", node: "charity")
        try a.put("stock", "rice", ["quantity": 3])
        let before = try a.lastSequence()
        _ = try a.addToCounter("stock", "rice", field: "quantity", amount: 0, create: false, author: nil)
        #expect(try a.lastSequence() == before)
        #expect(throws: CoreError.self) { try a.addToCounter("stock", "nope", field: "quantity", amount: 1, create: false, author: nil) }
    }

    /// Every change of `from` merged into `to`, as a pull would.
    func sync(_ from: StationStore, to: StationStore) throws {
        let batch = try from.changes(since: 0, limit: 1000)
        try to.write { tx in
            for c in batch.changes { try tx.merge(c.collection, c.id, RecordState(jsonText: c.stateText), from: from.node) }
        }
    }
}
