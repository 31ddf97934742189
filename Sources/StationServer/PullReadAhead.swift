import Dispatch
import Foundation
import StationSync

/// Read-ahead for the change feed.
///
/// A station pulls page after page, and each request waits for the answer to the one before (it
/// needs its cursor). Without read-ahead the two ends take turns: the hub sits idle while the
/// station merges a page, and the station waits while the hub reads and compresses the next. So
/// when a page has more after it, the hub starts on the next page at once, in a task of its own, and
/// the station's next request finds it ready (or waits for the rest of it).
///
/// Serving a page read a moment earlier is safe. It holds states the hub stored; a record that
/// changed since then has a new change with a later sequence, past the page's cursor, so the
/// station receives the new state in a later page, and merging the earlier one first changes
/// nothing in the end. A page is kept only for the exact request that will ask for it (the same
/// bearer token, node, cursor, limit and encoding); every request is authenticated before a page
/// is handed out, and the station's activity is noted when it is served, not when it is read.
///
/// Bounded: at most ``maxPages`` pages are held or being read; a page nobody asked for within
/// ``lifetime`` is dropped.
///
/// (`@unchecked`: `entries` and every entry's fields are read and written only holding `lock`.)
final class PullReadAhead: @unchecked Sendable {
    /// The request a page is read for.
    struct Key: Hashable, Sendable {
        var authorization: String?
        var requester: String?
        var since: String
        var limit: String?
        var gzip: Bool
    }

    /// A page ready to send: the service's page and its body as sent.
    struct Prepared: Sendable {
        var page: SyncService.PullPage
        var body: SyncServer.EncodedBody
    }

    /// Guarded by `lock`.
    private final class Entry: @unchecked Sendable {
        let started: UInt64
        /// Set once the read finished: the page, or nil when reading it failed.
        var outcome: Prepared??
        var waiters: [CheckedContinuation<Prepared?, Never>] = []
        init(started: UInt64) { self.started = started }
    }

    static let maxPages = 32
    static let lifetime: UInt64 = 30_000_000_000  // nanoseconds

    private let lock = NSLock()
    private var entries: [Key: Entry] = [:]

    /// Starts reading the page for `key` with `read`, unless it is already there or the limit is
    /// reached.
    func start(_ key: Key, read: @escaping @Sendable () async -> Prepared?) {
        let now = DispatchTime.now().uptimeNanoseconds
        let entry = Entry(started: now)
        lock.lock()
        entries = entries.filter { $0.value.outcome == nil || now - $0.value.started < Self.lifetime }
        guard entries[key] == nil, entries.count < Self.maxPages else {
            lock.unlock()
            return
        }
        entries[key] = entry
        lock.unlock()
        // Read in a task of its own: the request that started it answers at once.
        Task {
            let outcome = await read()
            let waiters = self.lock.withLock {
                entry.outcome = .some(outcome)
                defer { entry.waiters = [] }
                return entry.waiters
            }
            for waiter in waiters { waiter.resume(returning: outcome) }
        }
    }

    /// The page read ahead for `key`, once it is read; nil when none was started for it.
    func take(_ key: Key) async -> Prepared? {
        await withCheckedContinuation { continuation in
            lock.lock()
            guard let entry = entries.removeValue(forKey: key) else {
                lock.unlock()
                return continuation.resume(returning: nil)
            }
            guard let outcome = entry.outcome else {
                entry.waiters.append(continuation)  // resumed when the read finishes
                return lock.unlock()
            }
            lock.unlock()
            continuation.resume(returning: outcome)
        }
    }

    /// Pages held or being read (for tests).
    var count: Int { lock.withLock { entries.count } }
}
