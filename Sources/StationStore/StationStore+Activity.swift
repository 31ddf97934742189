import StationHub
import StationSync
import Foundation
import GRDB
import Synchronization
import StationCore

extension StationStore {
    /// How long a noted activity may wait in memory before it is written (see `ActivityNotes`).
    static let activityFlushDelay: Duration = .seconds(1)

    /// Notes that `station` pulled through `pulledThrough`, or pushed `pushed` changes. Kept in
    /// memory and written with the other notes within ``activityFlushDelay``, so no sync request
    /// waits for a write of its own for it (see `ActivityNotes`).
    public func noteActivity(station: String, pulledThrough: Int64? = nil, pushed: Int? = nil) {
        noteActivity(station: station, pulledThrough: pulledThrough, pushed: pushed, clockOffset: nil)
    }

    /// Notes how far ahead (positive) or behind this node's a station's clock was at its session.
    public func noteClockOffset(station: String, milliseconds: Int64) {
        noteActivity(station: station, pulledThrough: nil, pushed: nil, clockOffset: milliseconds)
    }

    /// This node's wall clock, ms since 1970.
    public func wallTime() -> UInt64 { physicalClock() }

    private func noteActivity(station: String, pulledThrough: Int64?, pushed: Int?, clockOffset: Int64?) {
        guard activityNotes.add(station: station, pulledThrough: pulledThrough, pushed: pushed, clockOffset: clockOffset, at: ActivityNotes.now())
        else { return }
        // The first note of a batch starts the one flush that writes them all. Not a child of the
        // request that noted it: the request answers at once, and the flush outlives it. A node
        // that stops flushes what is left itself (`close()`, `flushActivity()` at shutdown); the
        // flush holds the store weakly, so a store let go of is not kept open for it.
        Task { [weak self] in
            do {
                try await Task.sleep(for: Self.activityFlushDelay)
                guard let self else { return }
                try await flushActivity()
            } catch {
                self?.logger.warning("writing station activity failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Writes the pending activity notes (grouped with the writes running at the same time).
    ///
    /// The notes are taken inside the grouped transaction: a flush that finds another one running
    /// (the background one) commits in the group after it, so when it returns every note made
    /// before it was called is written.
    /// With no note pending and no flush running it returns at once: a dashboard page or a
    /// `/metrics` scrape (which read the activity) costs no transaction.
    public func flushActivity() async throws {
        let notes = activityNotes
        guard notes.beginFlush() else { return }
        defer { notes.endFlush() }
        // Dashboard bookkeeping: a power cut may take the last second of it.
        let taken = Mutex<[String: ActivityNotes.Note]>([:])
        do {
            try await writeGrouped(durable: false) { tx in
                let pending = notes.take()
                taken.withLock { $0 = pending }
                if !pending.isEmpty { try Self.write(pending, in: tx) }
            }
        } catch {
            // Not written (rolled back, or the commit failed): kept for the next flush.
            notes.putBack(taken.withLock { $0 })
            throw error
        }
    }

    /// Writes the pending activity notes now, in a transaction of their own (when closing).
    func flushActivityNow() throws {
        let notes = activityNotes.take()
        guard !notes.isEmpty else { return }
        try write(durable: false) { tx in try Self.write(notes, in: tx) }
    }

    /// Adds the notes to the stored rows, as ``ActivityNote/add(_:)`` does.
    private static func write(_ notes: [String: ActivityNotes.Note], in tx: WriteTransaction) throws {
        let db = tx.db
        for (station, note) in notes.sorted(by: { $0.key < $1.key }) {
            try db.execute(
                sql: """
                    INSERT INTO station_activity (station, lastSeenAt) VALUES (?, ?)
                    ON CONFLICT(station) DO UPDATE SET lastSeenAt = max(lastSeenAt, excluded.lastSeenAt)
                    """,
                arguments: [station, note.lastSeenAt])
            if let lastPullAt = note.lastPullAt, let pulledThrough = note.pulledThrough {
                try db.execute(
                    sql: "UPDATE station_activity SET lastPullAt = ?, pulledThrough = ? WHERE station = ?",
                    arguments: [lastPullAt, pulledThrough, station])
            }
            if let clockOffset = note.clockOffset {
                try db.execute(sql: "UPDATE station_activity SET clockOffset = ? WHERE station = ?", arguments: [clockOffset, station])
            }
            if let lastPushAt = note.lastPushAt {
                try db.execute(
                    sql: "UPDATE station_activity SET lastPushAt = ?, pushedChanges = pushedChanges + ? WHERE station = ?",
                    arguments: [lastPushAt, note.pushed, station])
            }
        }
    }

    /// Every station seen here, by name.
    public func stationActivity() async throws -> [StationActivity] {
        try await flushActivity()
        return try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM station_activity ORDER BY station").map { row in
                StationActivity(
                    station: row["station"], lastSeenAt: row["lastSeenAt"], lastPullAt: row["lastPullAt"],
                    pulledThrough: row["pulledThrough"], lastPushAt: row["lastPushAt"], pushedChanges: row["pushedChanges"],
                    clockOffset: row["clockOffset"])
            }
        }
    }

    /// How many changes in this node's feed come after `seq` (what a station that pulled through
    /// `seq` has yet to receive, at most).
    public func changeCount(after seq: Int64) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE seq > ?", arguments: [seq]) ?? 0 }
    }
}
