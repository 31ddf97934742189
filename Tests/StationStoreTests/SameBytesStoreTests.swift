import Foundation
import GRDB
import StationCore
import Testing
@testable import StationStore

/// Issue 11 in the store: look-alike ids are two records on every write path (a run of writes in
/// one transaction included), a put of what a record shows writes nothing, and a state holding one
/// of this store's dots with other content is refused with nothing changed.
@Suite struct SameBytesStoreTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    static let pairs: [(String, String)] = [
        ("caf\u{E9}", "cafe\u{301}"), ("\u{C5}sa", "\u{212B}sa"), ("\u{F900}", "\u{8C48}"),
    ]

    func store(_ name: String, node: NodeID = "hotline") throws -> StationStore {
        try StationStore.create(path: dir.file("\(name).sqlite"), node: node, schema: testSchema, clock: TestClock().closure)
    }

    @Test func lookAlikeIdsAreTwoRecordsInOneTransaction() async throws {
        let s = try store("a")
        try s.write { tx in
            for (a, b) in Self.pairs {
                _ = try tx.put("cases", a, ["notes": .string("first \(a)")])
                _ = try tx.put("cases", b, ["notes": .string("second \(b)")])
            }
        }
        for (a, b) in Self.pairs {
            #expect(try s.record("cases", a)?.view.fields["notes"] == .string("first \(a)"))
            #expect(try s.record("cases", b)?.view.fields["notes"] == .string("second \(b)"))
        }
        #expect(try s.records(in: "cases").count == 6)
        #expect(try s.changes(since: 0, limit: 100).changes.count == 6)
    }

    /// The write path remembers the last record it read: updating one look-alike id right after
    /// the other must read its own row (tools/mutate found no test for this).
    @Test func lookAlikeIdsAreTwoRecordsWhenUpdatedInOneTransaction() async throws {
        let s = try store("a")
        for (a, b) in Self.pairs {
            try s.put("cases", a, ["notes": "A", "visits": 1])
            try s.put("cases", b, ["notes": "B", "visits": 2])
        }
        try s.write { tx in
            for (a, b) in Self.pairs {
                _ = try tx.put("cases", a, ["status": "open"])
                _ = try tx.put("cases", b, ["status": "closed"])
            }
        }
        for (a, b) in Self.pairs {
            #expect(try s.record("cases", a)?.view.fields == ["notes": "A", "visits": 1, "status": "open"])
            #expect(try s.record("cases", b)?.view.fields == ["notes": "B", "visits": 2, "status": "closed"])
        }
    }

    @Test func lookAlikeIdsAreTwoRecordsWhenMerged() async throws {
        let station = try store("station")
        for (a, b) in Self.pairs {
            try station.put("cases", a, ["notes": "A"])
            try station.put("cases", b, ["notes": "B"])
        }
        let hub = try store("hub", node: "hub")
        let changes = try station.changes(since: 0, limit: 100).changes
        let results = try hub.write { tx in
            try changes.map { c in try tx.merge(c.collection, c.id, try RecordState(jsonBytes: Array(c.stateText.utf8)), from: "hotline") }
        }
        #expect(results == Array(repeating: .created, count: 6))
        for (a, b) in Self.pairs {
            #expect(try hub.record("cases", a)?.view.fields["notes"] == "A")
            #expect(try hub.record("cases", b)?.view.fields["notes"] == "B")
        }
        // And back: a station holding both that merges both gets each its own state.
        let other = try store("other", node: "labor")
        try other.write { tx in
            for c in changes { _ = try tx.merge(c.collection, c.id, try RecordState(jsonBytes: Array(c.stateText.utf8)), from: "hub") }
        }
        for (a, b) in Self.pairs {
            #expect(try other.record("cases", a)?.view.fields["notes"] == "A")
            #expect(try other.record("cases", b)?.view.fields["notes"] == "B")
        }
    }

    @Test func aPutOfWhatTheRecordShowsMakesNoChange() async throws {
        let s = try store("a")
        #expect(try s.put("cases", "r1", ["status": "open", "visits": 2]).changed)
        let seq = try s.lastSequence()
        #expect(try !s.put("cases", "r1", ["status": "open"]).changed)
        #expect(try !s.put("cases", "r1", ["status": "open", "visits": 2]).changed)
        // In a run of writes (an import run twice), after a write that created a record.
        let changed = try s.write { tx -> [Bool] in
            [
                try tx.put("cases", "r2", ["status": "new"]).changed,
                try tx.put("cases", "r1", ["status": "open"]).changed,
                try tx.put("cases", "r2", ["status": "new"]).changed,
            ]
        }
        #expect(changed == [true, false, false])
        #expect(try s.lastSequence() == seq + 1)
        #expect(try s.put("cases", "r1", ["status": "open"], force: true).changed)
        #expect(try s.lastSequence() == seq + 2)
        // A look-alike spelling of the value is a change.
        #expect(try s.put("cases", "r1", ["status": "caf\u{E9}"]).changed)
        #expect(try s.put("cases", "r1", ["status": "cafe\u{301}"]).changed)
    }

    @Test func aStateHoldingOneOfOurDotsWithOtherContentIsRefused() async throws {
        // Two databases that both write under the bare name hotline (made before incarnations, or
        // one made with the other's incarnation by hand): each writes (hotline, 1), differently.
        let first = try store("first")
        let second = try store("second")
        try first.put("cases", "r1", ["notes": "from the first database"])
        try second.put("cases", "r1", ["notes": "from the second database"])
        let a = try #require(try first.record("cases", "r1")).state
        let b = try #require(try second.record("cases", "r1")).state
        #expect(a.clock == b.clock)
        let hub = try store("hub", node: "hub")
        try hub.write { tx in _ = try tx.merge("cases", "r1", a, from: "hotline") }
        let seq = try hub.lastSequence()
        #expect {
            try hub.write { tx in _ = try tx.merge("cases", "r1", b, from: "hotline") }
        } throws: { ($0 as? CoreError)?.code == .dotCollision }
        // Both versions are as they were.
        #expect(try hub.record("cases", "r1")?.state == a)
        #expect(try hub.lastSequence() == seq)
        #expect {
            try second.write { tx in _ = try tx.merge("cases", "r1", a, from: "hub") }
        } throws: { ($0 as? CoreError)?.code == .dotCollision }
        #expect(try second.record("cases", "r1")?.state == b)
    }

    @Test func aRestoredCopyWritesUnderANewIncarnationAndItsWritesStandBesideTheOnesItLost() async throws {
        let station = try StationStore.create(
            path: dir.file("station.sqlite"), node: "hotline", schema: testSchema, incarnation: "first", clock: TestClock().closure)
        #expect(station.writer == "hotline.first")
        try station.put("cases", "r1", ["notes": "before the backup"])
        let backup = dir.file("backup.sqlite")
        try station.pool.backup(to: try DatabaseQueue(path: backup))  // as `sqlite3 .backup`
        try station.put("cases", "r1", ["notes": "after the backup"])
        let hub = try store("hub", node: "hub")
        let pushed = try #require(try station.record("cases", "r1")).state
        try hub.write { tx in _ = try tx.merge("cases", "r1", pushed, from: "hotline.first") }
        try station.close()

        // The backup, opened as the station (another file): a new database id and incarnation.
        let restored = try StationStore.open(path: backup, clock: TestClock().closure)
        #expect(restored.node == "hotline")
        #expect(restored.writer.isIncarnation(of: "hotline"))
        #expect(restored.writer != "hotline.first")
        #expect(restored.databaseID != station.databaseID)
        #expect(try restored.restoredFrom() != nil)
        try restored.put("cases", "r1", ["notes": "written after the restore"])
        let again = try #require(try restored.record("cases", "r1")).state
        // No dot is used twice: the hub merges, and both values stand (nothing shadowed).
        #expect(try hub.write { tx in try tx.merge("cases", "r1", again, from: restored.writer) } == .merged)
        let view = try #require(try hub.record("cases", "r1")).view
        #expect(view.conflicts.count == 1)
        #expect(Set(view.conflicts[0].values.map(\.value)) == ["after the backup", "written after the restore"])
        // Opened again as the same file, it keeps its new identity.
        let writer = restored.writer, id = restored.databaseID
        try restored.close()
        let reopened = try StationStore.open(path: backup)
        #expect(reopened.writer == writer && reopened.databaseID == id)
    }

    @Test func aCopiedFileTakesANewIncarnationAndTheOriginalKeepsItsOwn() async throws {
        let original = try StationStore.create(
            path: dir.file("a.sqlite"), node: "hotline", schema: testSchema, incarnation: "orig", clock: TestClock().closure)
        try original.put("cases", "r1", ["notes": "x"])
        try original.close()
        // As `cp a.sqlite* …`: the file, its write-ahead log and its watermark.
        for suffix in ["", "-wal", ".watermark"] where FileManager.default.fileExists(atPath: dir.file("a.sqlite" + suffix)) {
            try FileManager.default.copyItem(atPath: dir.file("a.sqlite" + suffix), toPath: dir.file("copy.sqlite" + suffix))
        }
        let copy = try StationStore.open(path: dir.file("copy.sqlite"))
        let reopened = try StationStore.open(path: dir.file("a.sqlite"))
        #expect(reopened.writer == "hotline.orig")
        #expect(copy.writer != "hotline.orig" && copy.writer.isIncarnation(of: "hotline"))
        #expect(copy.databaseID != reopened.databaseID)
        #expect(try reopened.restoredFrom() == nil)
    }

    @Test("A backup copied back after the database and its watermark were deleted is a restored file, even if it reuses the old inode number")
    func aBackupCopiedBackInPlaceOfADeletedDatabaseIsNoticed() async throws {
        let path = dir.file("desk.sqlite")
        let station = try StationStore.create(path: path, node: "hotline", schema: testSchema, incarnation: "first", clock: TestClock().closure)
        try station.put("cases", "r1", ["notes": "v1"])
        let backup = dir.file("safe.sqlite")
        try station.pool.backup(to: try DatabaseQueue(path: backup))
        try station.put("cases", "r1", ["notes": "v2, after the backup"])
        try station.close()
        for suffix in ["", "-wal", "-shm", ".watermark"] { try? FileManager.default.removeItem(atPath: path + suffix) }
        try FileManager.default.copyItem(atPath: backup, toPath: path)
        let restored = try StationStore.open(path: path)
        #expect(restored.writer != "hotline.first", "the restored file writes under the old name: its next write reuses a dot")
        #expect(restored.lineage == ["hotline.first"])
        #expect(try restored.restoredFrom() != nil)
    }

    @Test func aFileIsKnownByItsInodeAndBirthTime() {
        #expect(StationStore.sameFile(recorded: "12:100.5", now: "12:100.5"))
        #expect(!StationStore.sameFile(recorded: "12:100.5", now: "12:200.0"), "an inode number reused by a newer file")
        #expect(!StationStore.sameFile(recorded: "12:100.5", now: "13:100.5"))
        #expect(StationStore.sameFile(recorded: "12", now: "12:100.5"), "recorded before birth times were kept")
        #expect(!StationStore.sameFile(recorded: "12", now: "13:100.5"))
        #expect(StationStore.sameFile(recorded: "12:100.5", now: "12"), "a file system without birth times")
    }

    @Test func aLiveDatabaseOpenedAgainKeepsItsIdentity() async throws {
        // As `hub info` while `hub serve` writes: the second opening is neither a restore nor a copy.
        let live = try StationStore.create(
            path: dir.file("live.sqlite"), node: "hub", schema: testSchema, incarnation: "live", clock: TestClock().closure)
        for round in 0..<5 {
            try live.put("cases", "r\(round)", ["notes": .string("round \(round)")])
            let other = try StationStore.open(path: dir.file("live.sqlite"))
            #expect(other.databaseID == live.databaseID && other.writer == live.writer)
            #expect(try other.restoredFrom() == nil)
            try other.close()
        }
    }
}
