import CoreMetrics
import StationSync
import GRDB
import Synchronization

/// Group commit: write transactions that arrive while another is running are run together in the
/// next transaction, each in its own savepoint, so many concurrent writers share one commit (one
/// fsync) instead of queueing for one each.
///
/// At nine o'clock every station pushes at once; with a commit per push the hub spends most of
/// its time waiting for the disk (a durable WAL commit, `synchronous = FULL`, is one fsync: a
/// fraction of a millisecond on a fast disk, several ms on a spinning one), and the last station
/// waits for all the others' fsyncs. Grouped, the pushes that queue up during one commit go out
/// in the next.
///
/// Each writer keeps its own outcome: a body that throws rolls back its savepoint only, and its
/// caller gets the error; the others commit. A failed commit fails every body of that group.
///
/// The leader protocol: the first writer to find no group running leads: it takes every writer
/// waiting (itself included), runs them in one transaction on GRDB's writer (suspended, holding
/// no thread, while it waits), wakes them, and hands the lead to the first writer that arrived
/// meanwhile, if any. The others are suspended, not blocked: a thousand pushes waiting for their
/// group hold no thread. A writer never waits for more than the group running when it arrived
/// and its own.
final class GroupCommit: Sendable {
    /// What wakes a writer waiting for its group.
    private enum Signal: Sendable {
        /// Its group ran: committed (nil) or failed with this error.
        case done((any Error)?)
        /// It leads the next group.
        case lead
    }

    /// One writer waiting for its group.
    private final class Writer: Sendable {
        /// Runs the writer's body in the shared transaction (inside its own savepoint) and
        /// records its outcome.
        let run: @Sendable (WriteTransaction) -> Void
        /// Whether the writer needs its commit on disk before it returns.
        let durable: Bool
        /// Either the signal, when it came before the writer waited, or the writer's continuation.
        private let wake = Mutex<Wake>(.none)
        private enum Wake {
            case none
            case waiting(CheckedContinuation<Signal, Never>)
            case signalled(Signal)
        }

        init(durable: Bool, _ run: @escaping @Sendable (WriteTransaction) -> Void) {
            self.durable = durable
            self.run = run
        }

        /// Suspends until ``signal(_:)`` (at once if it came already).
        func wait() async -> Signal {
            await withCheckedContinuation { continuation in
                let ready: Signal? = wake.withLock { wake in
                    if case .signalled(let signal) = wake { return signal }
                    wake = .waiting(continuation)
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }

        func signal(_ signal: Signal) {
            let continuation: CheckedContinuation<Signal, Never>? = wake.withLock { wake in
                if case .waiting(let continuation) = wake { return continuation }
                wake = .signalled(signal)
                return nil
            }
            continuation?.resume(returning: signal)
        }
    }

    private struct Queue {
        var waiting: [Writer] = []
        var groupRunning = false
    }

    private let queue = Mutex(Queue())
    /// How many writers each committed group took (`stationsync_group_commit_writers`), once a
    /// server counts them (``StationStore/countMetrics(into:)``).
    let sizes = Mutex<Recorder?>(nil)

    /// Runs `body` in a write transaction shared with the writers that queue up at the same
    /// time; returns once that transaction has committed (or throws its error, or the body's).
    /// The group's commit is durable when any of its writers asks for it.
    func write<T: Sendable>(
        in store: StationStore, durable: Bool = true, _ body: @escaping @Sendable (WriteTransaction) throws -> T
    ) async throws -> T {
        let outcome = Mutex<Result<T, any Error>?>(nil)
        let writer = Writer(durable: durable) { tx in
            let result = Result { try tx.savepoint { try body(tx) } }
            outcome.withLock { $0 = result }
        }
        let leads = queue.withLock { queue in
            queue.waiting.append(writer)
            defer { queue.groupRunning = true }
            return !queue.groupRunning
        }
        var commitError: (any Error)?
        if leads {
            commitError = await lead(store, leader: writer)
        } else {
            switch await writer.wait() {
            case .done(let error): commitError = error
            case .lead: commitError = await lead(store, leader: writer)
            }
        }
        if let commitError { throw commitError }
        return try outcome.withLock { $0! }.get()
    }

    /// Runs one group: every writer waiting now, in one transaction; then passes the lead on.
    /// Returns the commit's error, nil when it committed.
    private func lead(_ store: StationStore, leader: Writer) async -> (any Error)? {
        let group = queue.withLock { queue in
            defer { queue.waiting = [] }
            return queue.waiting
        }
        var commitError: (any Error)?
        do {
            // Not cancelled with the leader's request: the group holds other callers' writes.
            try await Task {
                try await store.writeSuspending(durable: group.contains { $0.durable }) { tx in
                    for writer in group { writer.run(tx) }
                }
            }.value
        } catch {
            commitError = error
        }
        if commitError == nil { sizes.withLock { $0 }?.record(group.count) }
        let next = queue.withLock { queue in
            let next = queue.waiting.first
            if next == nil { queue.groupRunning = false }
            return next
        }
        for writer in group where writer !== leader { writer.signal(.done(commitError)) }
        next?.signal(.lead)
        return commitError
    }
}
