import Dispatch
import Foundation
import StationSync
import Synchronization

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
/// Bounded, so that no caller can make the hub hold memory for it: at most ``maxPages`` pages are
/// held or being read, at most ``maxPerCaller`` for one bearer token, at most ``maxBytes`` of
/// bodies ready; a page nobody asked for within ``lifetime`` (30 s) is dropped (whether read or not).
final class PullReadAhead: Sendable {
    /// The request a page is read for.
    struct Key: Hashable, Sendable {
        var authorization: String?
        var requester: String?
        var since: String
        var limit: String?
        var gzip: Bool

        /// Whose share it counts against: the bearer token itself, however the header spells
        /// the scheme and spaces.
        var caller: Substring? { authorization?.split(separator: " ", omittingEmptySubsequences: true).last }
    }

    /// A page ready to send: the service's page and its body as sent.
    struct Prepared: Sendable {
        var page: SyncService.PullPage
        var body: SyncServer.EncodedBody
    }

    private struct Entry {
        let id: UInt64
        let started: UInt64
        /// Set once the read finished: the page, or nil when reading it failed.
        var outcome: Prepared??
        var bytes = 0
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        /// Requests waiting for a page taken before its read finished, by entry id.
        var waiters: [UInt64: [CheckedContinuation<Prepared?, Never>]] = [:]
        var nextID: UInt64 = 0
        /// Bytes of the bodies of the pages held ready.
        var bytesHeld = 0

        /// Drops what is older than `lifetime` (nanoseconds).
        mutating func expire(now: UInt64, lifetime: UInt64) {
            // `now` is read under the lock, after every `started`; saturating all the same.
            for (key, entry) in entries where now >= entry.started && now - entry.started >= lifetime { remove(key) }
        }

        @discardableResult
        mutating func remove(_ key: Key) -> Entry? {
            guard let entry = entries.removeValue(forKey: key) else { return nil }
            bytesHeld -= entry.bytes
            return entry
        }
    }

    static let maxPages = 32
    static let maxPerCaller = 2
    static let maxBytes = 64 << 20
    static let defaultLifetime: UInt64 = 30_000_000_000  // nanoseconds

    /// Nanoseconds a page is kept for its request.
    let lifetime: UInt64
    private let state = Mutex(State())

    init(lifetime: UInt64 = PullReadAhead.defaultLifetime) { self.lifetime = lifetime }

    /// Starts reading the page for `key` with `read`, unless it is already there or a limit is
    /// reached.
    func start(_ key: Key, read: @escaping @Sendable () async -> Prepared?) {
        let caller = key.caller
        let id: UInt64? = state.withLock { s in
            let now = DispatchTime.now().uptimeNanoseconds
            s.expire(now: now, lifetime: lifetime)
            guard s.entries[key] == nil, s.entries.count < Self.maxPages,
                s.entries.keys.lazy.filter({ $0.caller == caller }).count < Self.maxPerCaller
            else { return nil }
            s.nextID += 1
            s.entries[key] = Entry(id: s.nextID, started: now)
            return s.nextID
        }
        guard let id else { return }
        // Read in a task of its own: the request that started it answers at once.
        Task {
            guard await finish(key, id: id, outcome: read()) else { return }
            // Held for its request: dropped after its lifetime if nobody asked (with no pull
            // coming to expire it), by a task that holds neither the page nor `read` (whose
            // captures may hold the page before it) while it waits.
            Task { [weak self, lifetime] in
                try? await Task.sleep(nanoseconds: lifetime)
                self?.state.withLock { s in
                    if s.entries[key]?.id == id { s.remove(key) }
                }
            }
        }
    }

    /// Hands the page read for entry `id` to the requests waiting for it, or holds it for the
    /// request to come (within ``maxBytes``). Returns whether it is held.
    private func finish(_ key: Key, id: UInt64, outcome: Prepared?) -> Bool {
        let (waiters, held): ([CheckedContinuation<Prepared?, Never>], Bool) = state.withLock { s in
            if let waiting = s.waiters.removeValue(forKey: id) { return (waiting, false) }
            guard s.entries[key]?.id == id else { return ([], false) }  // dropped meanwhile
            let bytes = outcome?.body.bytes.count ?? 0
            guard s.bytesHeld + bytes <= Self.maxBytes else {
                s.remove(key)  // the request reads it itself
                return ([], false)
            }
            s.entries[key]?.outcome = .some(outcome)
            s.entries[key]?.bytes = bytes
            s.bytesHeld += bytes
            return ([], true)
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
        return held
    }

    /// The page read ahead for `key`, once it is read; nil when none was started for it.
    func take(_ key: Key) async -> Prepared? {
        await withCheckedContinuation { continuation in
            let ready: Prepared?? = state.withLock { s in
                s.expire(now: DispatchTime.now().uptimeNanoseconds, lifetime: lifetime)
                guard let entry = s.remove(key) else { return .some(nil) }
                guard let outcome = entry.outcome else {
                    s.waiters[entry.id, default: []].append(continuation)  // resumed when the read finishes
                    return nil
                }
                return .some(outcome)
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Pages held or being read (for tests).
    var count: Int { state.withLock { $0.entries.count } }
    /// Pages being read (for tests).
    var reading: Int { state.withLock { s in s.entries.values.count { $0.outcome == nil } } }
    /// Bytes of the pages held ready (for tests).
    var bytesHeld: Int { state.withLock { $0.bytesHeld } }
}
