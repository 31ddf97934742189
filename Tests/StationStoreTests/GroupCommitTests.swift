import Foundation
import Synchronization
import GRDB
import StationCore
import Testing
@testable import StationStore

@Suite struct GroupCommitTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    struct Refused: Error {}

    @Test("Concurrent grouped writers share commits; one that throws loses only its own writes")
    func concurrentWritersKeepTheirOwnOutcome() async throws {
        let store = try StationStore.create(path: dir.file("hub.sqlite"), node: "hub", schema: testSchema, clock: TestClock().closure)
        let writers = 64
        // Every writer's outcome: committed (true) or refused (false).
        let done = await withTaskGroup(of: (Int, Bool?).self) { group in
            for i in 0..<writers {
                group.addTask {
                    do {
                        try await store.writeGrouped { tx in
                            try tx.put("cases", "c\(i)", ["notes": .string("writer \(i)")])
                            try tx.add("stock", "shared", field: "quantity", amount: 1)
                            // Every seventh writer fails after writing: its savepoint is rolled back.
                            if i % 7 == 3 { throw Refused() }
                        }
                        return (i, true)
                    } catch is Refused {
                        return (i, false)
                    } catch {
                        Issue.record("writer \(i): \(error)")
                        return (i, nil)
                    }
                }
            }
            var done: [Int: Bool] = [:]
            for await (i, outcome) in group { if let outcome { done[i] = outcome } }
            return done
        }
        #expect(done.count == writers)
        let committed = done.filter { $0.value }.map(\.key)
        for i in 0..<writers {
            let record = try store.record("cases", "c\(i)")
            #expect((record != nil) == (i % 7 != 3), "writer \(i)")
        }
        // The counter counts exactly the writers that committed.
        #expect(try store.record("stock", "shared")?.view.fields["quantity"] == .int(Int64(committed.count)))
        // Each committed write got its own change-feed entry, in one unbroken order.
        let feed = try store.changes(since: 0, limit: 1000)
        #expect(feed.changes.count == committed.count + 1)
        #expect(Set(feed.changes.map(\.id)) == Set(committed.map { "c\($0)" } + ["shared"]))
    }

    @Test("A grouped write after a failed one sees the rows as they are, not as the failed one left them")
    func aRolledBackWriterLeavesNoStaleCache() async throws {
        let store = try StationStore.create(path: dir.file("a.sqlite"), node: "a", schema: testSchema, clock: TestClock().closure)
        try store.write { tx in
            try tx.put("cases", "c1", ["notes": "before"])
            #expect(throws: Refused.self) {
                try tx.savepoint {
                    try tx.put("cases", "c1", ["notes": "rolled back"])
                    try tx.put("cases", "c2", ["notes": "rolled back"])
                    throw Refused()
                }
            }
            try tx.put("cases", "c2", ["status": "open"])
            try tx.put("cases", "c1", ["status": "open"])
        }
        #expect(try store.record("cases", "c1")?.view.fields["notes"] == "before")
        #expect(try store.record("cases", "c2")?.view.fields["notes"] == nil)
        #expect(try store.record("cases", "c1")?.state.clock[NodeID(unchecked: "a")] == 2)
    }
}

extension GroupCommitTests {
    /// What a commit waits for: `synchronous` is FULL except during a transaction that may skip
    /// the sync (a pulled batch, a push checkpoint), and is back to FULL after it, even when it
    /// failed.
    @Test func relaxedCommitsLeaveTheConnectionDurable() async throws {
        let store = try StationStore.create(path: dir.file("station.sqlite"), node: "hotline", schema: testSchema, clock: TestClock().closure)
        func synchronous() throws -> Int { try store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1 } }
        #expect(try synchronous() == 2)
        let during = try store.write(durable: false) { tx in try Int.fetchOne(tx.db, sql: "PRAGMA synchronous") }
        #expect(during == 1)
        #expect(try synchronous() == 2)
        #expect(throws: Refused.self) { try store.write(durable: false) { _ in throw Refused() } }
        #expect(try synchronous() == 2)
        try store.setPushed(5, peer: "hub")
        #expect(try await synchronous() == 2)
        // A group is durable when one of its writers asks for it.
        let grouped = try await store.writeGrouped(durable: false) { tx in try Int.fetchOne(tx.db, sql: "PRAGMA synchronous") }
        #expect(grouped == 1)
        #expect(try await store.writeGrouped { tx in try Int.fetchOne(tx.db, sql: "PRAGMA synchronous") } == 2)
    }
}
