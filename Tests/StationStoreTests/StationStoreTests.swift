import Foundation
import GRDB
import StationCore
import StationSeeds
import Testing
@testable import StationStore
import StationSync

let testSchema = Schema(collections: [
    "cases": CollectionSchema(name: "cases", fields: ["status": .manual, "notes": .lww, "visits": .counter]),
    "stock": CollectionSchema(name: "stock", deleteConflict: .deleteWins, fields: ["quantity": .counter]),
])

/// A fixed, advancing clock so tests are deterministic.
final class TestClock: @unchecked Sendable {
    var now: UInt64 = 1_700_000_000_000
    var closure: @Sendable () -> UInt64 {
        { [self] in
            now += 1; return now
        }
    }
}

@Suite struct StationStoreTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    func makeStore(_ name: String = "a", node: NodeID = "hotline") throws -> StationStore {
        try StationStore.create(path: dir.file("\(name).sqlite"), node: node, schema: testSchema, clock: TestClock().closure)
    }

    @Test func createStoresNodeAndSchemaInWALMode() async throws {
        let store = try makeStore()
        #expect(store.node == "hotline")
        #expect(store.schema == testSchema)
        try store.close()
        let reopened = try StationStore.open(path: dir.file("a.sqlite"))
        #expect(reopened.node == "hotline")
        #expect(reopened.schema == testSchema)
        let mode = try reopened.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        let migrations = try reopened.read { db in try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations") }
        #expect(
            migrations == [
                "v1-records-feed-checkpoints", "v2-database-id-tokens-peer-database", "v3-resolved-conflicts", "v4-station-activity-operators",
                "v5-collection-feed", "v6-equal-values-are-no-conflict", "v7-push-waiting", "v8-node-writers", "v9-own-versions",
                "v10-counter-stocktakes",
                "v11-station-clock-offset", "v12-operator-sessions",
                "v13-schema-additions", "v14-peer-proven-by-token", "v15-checkpoint-left-behind", "v16-record-field", "v17-record-text",
                "v18-authors-and-history", "v19-local-users",
            ])
    }

    @Test func createRefusesToOverwriteAndOpenRefusesWhatIsNotOurs() async throws {
        _ = try makeStore()
        #expect { try makeStore() } throws: { ($0 as? StoreError)?.code == .databaseExists }
        #expect { try StationStore.open(path: dir.file("missing.sqlite")) } throws: { ($0 as? StoreError)?.code == .databaseMissing }
        try "hello".write(toFile: dir.file("text.sqlite"), atomically: true, encoding: .utf8)
        #expect { try StationStore.open(path: dir.file("text.sqlite")) } throws: { ($0 as? StoreError)?.code == .notAStationDatabase }
        _ = try await DatabaseQueue(path: dir.file("other.sqlite")).write { try $0.execute(sql: "CREATE TABLE t(x)") }
        #expect { try StationStore.open(path: dir.file("other.sqlite")) } throws: { ($0 as? StoreError)?.code == .notAStationDatabase }
        #expect(!FileManager.default.fileExists(atPath: dir.file("missing.sqlite")))
    }

    /// Review of stop 18, F4: a database with a second name (a hard link) is refused, unchanged:
    /// opened under both names it would keep two write-ahead logs under one writer name.
    @Test func aHardLinkedDatabaseIsRefused() async throws {
        let store = try makeStore()
        try store.put("cases", "r", ["notes": "one"])
        try store.close()
        #expect(link(dir.file("a.sqlite"), dir.file("b.sqlite")) == 0)
        for name in ["a", "b"] {
            #expect { try StationStore.open(path: dir.file("\(name).sqlite")) } throws: {
                ($0 as? StoreError)?.code == .hardLinked && "\($0)".contains("2 names")
            }
        }
        unlink(dir.file("b.sqlite"))
        #expect(try StationStore.open(path: dir.file("a.sqlite")).record("cases", "r") != nil)
    }

    /// A database that a newer StationSync migrated further is refused, unchanged.
    @Test func aDatabaseOfANewerVersionIsRefused() async throws {
        try await makeStore().close()
        _ = try await DatabaseQueue(path: dir.file("a.sqlite")).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99-from-the-future')")
        }
        #expect { try StationStore.open(path: dir.file("a.sqlite")) } throws: {
            ($0 as? StoreError)?.code == .newerDatabase && "\($0)".contains("upgrade")
        }
    }

    @Test func putGetAddDelete() async throws {
        let store = try makeStore()
        try store.put("cases", "c1", ["notes": "first visit", "status": "open"])
        try store.add("cases", "c1", field: "visits", amount: 2)
        try store.put("cases", "c1", ["notes": "second visit"])
        var r = try #require(try store.record("cases", "c1"))
        #expect(r.view.fields == ["notes": "second visit", "status": "open", "visits": 2])
        #expect(r.state.clock == VectorClock(["hotline": 3]))
        #expect(r.seq == 3 && r.source == nil)
        #expect(try store.delete("cases", "c1") != nil)
        #expect(try store.delete("cases", "c1") == nil)  // already deleted: no write
        r = try #require(try store.record("cases", "c1"))
        #expect(r.view.deleted && r.seq == 4)
        #expect(try store.records(in: "cases").isEmpty)
        #expect(try store.records(in: "cases", includeDeleted: true).count == 1)
        #expect(try store.record("cases", "nope") == nil)
    }

    @Test func errorsChangeNothing() async throws {
        let store = try makeStore()
        try store.put("cases", "c1", ["notes": "x"])
        let before = try store.changes(since: 0, limit: 100)
        #expect { try store.put("nope", "c1", ["a": 1]) } throws: { ($0 as? CoreError)?.code == .unknownCollection }
        #expect { try store.put("cases", "c1", ["visits": "many"]) } throws: { ($0 as? CoreError)?.code == .wrongType }
        #expect { try store.add("cases", "c1", field: "notes", amount: 1) } throws: { ($0 as? CoreError)?.code == .wrongType }
        #expect { try store.put("cases", "", ["notes": "x"]) } throws: { ($0 as? CoreError)?.code == .invalidRecordID }
        #expect { try store.delete("cases", "zz") } throws: { ($0 as? CoreError)?.code == .recordNotFound }
        // A batch that fails halfway leaves nothing behind.
        #expect(throws: CoreError.self) {
            try store.write { tx in
                try tx.put("cases", "c2", ["notes": "ok"])
                try tx.put("cases", "c3", ["visits": 1.5])
            }
        }
        #expect(try store.changes(since: 0, limit: 100) == before)
        #expect(try store.record("cases", "c2") == nil)
    }

    @Test func theChangeFeedStampsEveryChangeAndListsEachRecordOnceAtItsLatest() async throws {
        let store = try makeStore()
        try store.put("cases", "a", ["notes": "1"])
        try store.put("cases", "b", ["notes": "1"])
        try store.put("cases", "a", ["notes": "2"])
        let all = try store.changes(since: 0, limit: 10)
        #expect(all.changes.map(\.id) == ["b", "a"])
        #expect(all.changes.map(\.seq) == [2, 3])
        #expect(all.nextSince == 3 && !all.hasMore)
        let page = try store.changes(since: 0, limit: 1)
        #expect(page.changes.map(\.id) == ["b"] && page.hasMore && page.nextSince == 2)
        #expect(try store.changes(since: 3, limit: 10).changes.isEmpty)
        #expect(try store.lastSequence() == 3)
    }

    @Test func changesSinceIsAnIndexRangeScan() async throws {
        let store = try makeStore()
        let plan = try store.read { db in
            try Row.fetchAll(
                db, sql: "EXPLAIN QUERY PLAN SELECT seq, collection, id, state, source FROM record WHERE seq > ? ORDER BY seq LIMIT ?",
                arguments: [0, 10]
            )
            .map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(plan.contains("record_seq"))
        #expect(plan.contains("seq>?"))
        // One collection's changes (a station that reads some collections only): a range of the
        // per-collection index, in order, with no sort of the collection's other changes.
        let scoped = try store.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN SELECT seq, collection, id, state, source FROM record INDEXED BY record_collection_seq
                    WHERE collection = ? AND seq > ? AND (source IS NULL OR source <> ?) ORDER BY seq LIMIT ?
                    """, arguments: ["cases", 0, "hub", 10]
            ).map { $0["detail"] as String }.joined(separator: "; ")
        }
        #expect(scoped.contains("record_collection_seq (collection=? AND seq>?)"), "\(scoped)")
        #expect(!scoped.contains("TEMP B-TREE"), "\(scoped)")
    }

    @Test func scopedPagesMergeTheCollectionsInSequenceOrder() async throws {
        let store = try makeStore()
        try store.write { tx in
            for i in 0..<30 {
                if i % 3 == 0 { try tx.put("stock", "s\(i)", ["quantity": 1]) } else { try tx.put("cases", "c\(i)", ["notes": "n"]) }
            }
        }
        var seen: [Int64] = []
        var since: Int64 = 0
        while true {
            let page = try store.changes(since: since, limit: 7, collections: ["cases", "stock"])
            seen += page.changes.map(\.seq)
            since = page.nextSince
            if !page.hasMore { break }
        }
        #expect(seen == Array(1...30))
        let stockOnly = try store.changes(since: 0, limit: 100, collections: ["stock"])
        #expect(stockOnly.changes.map(\.id) == (0..<30).filter { $0 % 3 == 0 }.map { "s\($0)" })
        #expect(try store.changes(since: 0, limit: 5, collections: []).changes.isEmpty)
    }

    @Test func filteredPagesAreFullAndTheCursorMovesPastWhatIsSkipped() async throws {
        let a = try makeStore("a", node: "hotline")
        let b = try makeStore("b", node: "civil-affairs")
        for i in 0..<40 { try b.put("cases", "b\(i)", ["notes": "from b"]) }
        let fromB = try b.changes(since: 0, limit: 100).changes
        // a's own writes between many changes that came from b.
        try a.write { tx in
            for (i, change) in fromB.enumerated() {
                _ = try tx.merge(change.collection, change.id, RecordState(jsonText: change.stateText), from: "b")
                if i % 10 == 9 { _ = try tx.put(i % 20 == 19 ? "stock" : "cases", "a\(i)", [:]) }
            }
        }
        #expect(try a.lastSequence() == 44)
        // The filter runs before the limit: a full page of a's own changes, however many are skipped.
        let first = try a.changes(since: 0, limit: 3, excludingSource: "b")
        #expect(first.changes.map(\.id) == ["a9", "a19", "a29"] && first.hasMore && first.nextSince == 33)
        let last = try a.changes(since: first.nextSince, limit: 3, excludingSource: "b")
        #expect(last.changes.map(\.id) == ["a39"] && !last.hasMore && last.nextSince == 44)
        // The same for a read permission; when nothing matches the cursor jumps to the newest change.
        let stock = try a.changes(since: 0, limit: 10, collections: ["stock"])
        #expect(stock.changes.map(\.id) == ["a19", "a39"] && !stock.hasMore && stock.nextSince == 44)
        let none = try a.changes(since: 0, limit: 10, collections: [])
        #expect(none.changes.isEmpty && !none.hasMore && none.nextSince == 44)
        #expect(try a.changes(since: 44, limit: 10, excludingSource: "b").nextSince == 44)
    }

    @Test func mergingRemoteVersionsStampsTheFeedAndRemembersTheSource() async throws {
        let a = try makeStore("a", node: "hotline")
        let b = try makeStore("b", node: "civil-affairs")
        try a.put("cases", "c1", ["notes": "from a", "status": "open"])
        try b.put("cases", "c1", ["status": "closed"])
        try b.put("cases", "c2", ["notes": "only b"])
        let results = try a.write { tx in
            try b.changes(since: 0, limit: 10).changes.map { change in
                try tx.merge(change.collection, change.id, RecordState(jsonText: change.stateText), from: "b")
            }
        }
        #expect(results == [.merged, .created])
        let c1 = try #require(try a.record("cases", "c1"))
        #expect(c1.source == nil)  // the join is new to b as well
        #expect(c1.view.conflicted)  // status is manual and was written on both sides
        #expect(try a.record("cases", "c2")?.source == "b")  // exactly b's state
        // Both are in a's feed; only the join goes back to b.
        let toB = try a.changes(since: 0, limit: 10, excludingSource: "b")
        #expect(toB.changes.map(\.id) == ["c1"] && toB.nextSince == 3)
        // Merging the same versions again changes nothing.
        let again = try a.write { tx in
            try b.changes(since: 0, limit: 10).changes.map { try tx.merge($0.collection, $0.id, RecordState(jsonText: $0.stateText), from: "b") }
        }
        #expect(again == [.unchanged, .unchanged])
        #expect(try a.lastSequence() == 3)
    }

    @Test func twoStoresConvergeAfterExchangingChanges() async throws {
        let a = try makeStore("a", node: "hotline")
        let b = try makeStore("b", node: "charity")
        try a.put("stock", "rice", ["quantity": 10])
        try sync(a, b)
        try a.add("stock", "rice", field: "quantity", amount: 5)
        try b.add("stock", "rice", field: "quantity", amount: -2)
        try a.put("cases", "x", ["notes": "a"])
        try b.put("cases", "x", ["notes": "b"])
        try sync(a, b)
        for store in [a, b] {
            #expect(try store.record("stock", "rice")?.view.fields["quantity"] == 13)
        }
        #expect(try a.record("cases", "x")?.state.canonicalText == b.record("cases", "x")?.state.canonicalText)
    }

    func sync(_ a: StationStore, _ b: StationStore) throws {
        for (from, to) in [(a, b), (b, a)] {
            let batch = try from.changes(since: 0, limit: 1000)
            try to.write { tx in
                for c in batch.changes { try tx.merge(c.collection, c.id, RecordState(jsonText: c.stateText), from: from.node) }
            }
        }
    }

    @Test func invalidRemoteVersionsAreRefusedWithNothingChanged() async throws {
        let a = try makeStore()
        try a.put("stock", "rice", ["quantity": 1])
        let bad = try RecordState(jsonText: #"{"clock":{"x":1},"exists":[["x",1,5,true]],"fields":{"quantity":[["x",1,5,"lots"]]}}"#)
        #expect(throws: CoreError.self) {
            try a.write { tx in
                try tx.merge("stock", "beans", try RecordState(jsonText: #"{"clock":{"x":1},"exists":[["x",1,5,true]],"fields":{}}"#), from: "x")
                try tx.merge("stock", "rice", bad, from: "x")
            }
        }
        #expect(try a.record("stock", "beans") == nil)
        #expect(try a.lastSequence() == 1)
    }

    @Test func theHybridClockSurvivesReopeningAndNeverGoesBack() async throws {
        final class Backwards: @unchecked Sendable { var t: UInt64 = 2_000_000_000_000 }
        let clock = Backwards()
        let path = dir.file("hlc.sqlite")
        var store = try StationStore.create(path: path, node: "hotline", schema: testSchema, clock: { clock.t })
        try store.put("cases", "a", ["notes": "1"])
        let t1 = try #require(try store.record("cases", "a")?.state.latestTime)
        try store.close()
        clock.t -= 3_600_000  // the machine's clock is set back an hour
        store = try StationStore.open(path: path, clock: { clock.t })
        try store.put("cases", "a", ["notes": "2"])
        let t2 = try #require(try store.record("cases", "a")?.state.latestTime)
        #expect(t2 > t1)
    }

    @Test func checkpointsArePerPeerAndThePulledCursorCommitsWithItsBatch() async throws {
        let a = try makeStore()
        #expect(try a.checkpoint(peer: "hub") == Checkpoint(pushed: 0, pulled: ""))
        try a.setPushed(42, peer: "hub")
        try a.write { tx in try tx.setPulledCursor("17", peer: "hub") }
        #expect(try a.checkpoint(peer: "hub").pushed == 42)
        #expect(try a.checkpoint(peer: "hub").pulled == "17")
        #expect(throws: CoreError.self) {
            try a.write { tx in
                try tx.setPulledCursor("99", peer: "hub")
                try tx.put("nope", "x", [:])
            }
        }
        #expect(try a.checkpoint(peer: "hub").pulled == "17")
        #expect(try a.checkpoint(peer: "other") == Checkpoint(pushed: 0, pulled: ""))
    }

    @Test func theDefaultSchemaIsTheOneInSeeds() async throws {
        let seedsFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("seeds/schema.json")
        let text = try String(contentsOf: seedsFile, encoding: .utf8)
        #expect(try Schema(jsonText: text) == DefaultSchema.schema)
    }
}
