import StationSync
import Foundation
import Synchronization

/// Station activity noted at a node and not yet written to `station_activity`.
///
/// Every push and pull notes what the station did, for the hub's dashboard. Written at once, each
/// note was a write transaction of its own, with its own commit (an fsync) after the push's
/// commit, and a write for every pull request, which otherwise only reads. The notes are kept here
/// instead and written together, at most ``StationStore/activityFlushDelay`` after the first one
/// (and before any read of the activity, and when the store closes). A node killed outright loses
/// at most that last second of dashboard bookkeeping; records and checkpoints are not affected.
final class ActivityNotes: Sendable {
    /// What one station did since the last flush (``ActivityNote/pushed``: since the last flush).
    typealias Note = ActivityNote

    private struct State {
        var notes: [String: Note] = [:]
        var flushScheduled = false
        /// Flushes between ``beginFlush()`` and ``endFlush()``: notes one of them took may not
        /// be committed yet.
        var flushesRunning = 0
    }

    private let state = Mutex(State())

    /// Adds a note made at `time` (`YYYY-MM-DD HH:MM:SS`, UTC). Returns true when no flush is
    /// scheduled yet: the caller schedules one.
    func add(station: String, pulledThrough: Int64?, pushed: Int?, clockOffset: Int64? = nil, at time: String) -> Bool {
        state.withLock { s in
            s.notes[station, default: Note(lastSeenAt: time)].note(
                pulledThrough: pulledThrough, pushed: pushed, clockOffset: clockOffset, at: time)
            defer { s.flushScheduled = true }
            return !s.flushScheduled
        }
    }

    /// Starts a flush: false when there is nothing to wait for (no note pending, no flush
    /// running that may have taken some), and then the caller returns at once. After true the
    /// caller calls ``endFlush()`` once its write is done, committed or not.
    func beginFlush() -> Bool {
        state.withLock { s in
            guard !s.notes.isEmpty || s.flushesRunning > 0 else { return false }
            s.flushesRunning += 1
            return true
        }
    }

    /// Ends a flush ``beginFlush()`` started.
    func endFlush() {
        state.withLock { s in s.flushesRunning -= 1 }
    }

    /// Takes every pending note; the next ``add(station:pulledThrough:pushed:at:)`` schedules a
    /// new flush.
    func take() -> [String: Note] {
        state.withLock { s in
            defer {
                s.notes = [:]
                s.flushScheduled = false
            }
            return s.notes
        }
    }

    /// Puts back notes ``take()`` took that were not written, under those noted since.
    func putBack(_ notes: [String: Note]) {
        guard !notes.isEmpty else { return }
        state.withLock { s in
            for (station, older) in notes {
                var merged = older
                if let newer = s.notes[station] { merged.add(newer) }
                s.notes[station] = merged
            }
        }
    }

    /// The time now as SQLite's `datetime('now')` writes it.
    static func now() -> String { StationSync.StoredTime.now() }
}
