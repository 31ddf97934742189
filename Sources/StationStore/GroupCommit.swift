import Foundation
import GRDB

/// Group commit: write transactions that arrive while another is running are run together in the
/// next transaction, each in its own savepoint, so many concurrent writers share one commit (one
/// fsync) instead of queueing for one each.
///
/// At nine o'clock every station pushes at once; with a commit per push the hub spends most of
/// its time waiting for the disk (a durable WAL commit, `synchronous = FULL`, is one fsync: from
/// ~0.1 ms on this machine's virtual disk to several ms on a spinning one), and the last station
/// waits for all the others' fsyncs. Grouped, the pushes that queue
/// up during one commit go out in the next.
///
/// Each writer keeps its own outcome: a body that throws rolls back its savepoint only, and its
/// caller gets the error; the others commit. A failed commit fails every body of that group.
///
/// The leader protocol: the first writer to find no group running leads: it takes every writer
/// waiting (itself included), runs them in one transaction, wakes them, and hands the lead to the
/// first writer that arrived meanwhile, if any. No extra thread; a writer never waits for more
/// than the group running when it arrived and its own.
/// (`@unchecked`: its queue and leader flag are guarded by `lock`; a writer's semaphore is
/// signalled once. To become one writer task, issue 14.)
final class GroupCommit: @unchecked Sendable {
    /// One writer waiting for its group.
    private final class Writer {
        /// Runs the writer's body in the shared transaction (inside its own savepoint) and
        /// records its outcome.
        let run: (WriteTransaction) -> Void
        /// Whether the writer needs its commit on disk before it returns.
        let durable: Bool
        let woken = DispatchSemaphore(value: 0)
        /// Set before `woken` is signalled: the writer's group committed (nil) or failed.
        var commitError: (any Error)?
        /// Set before `woken` is signalled: the writer leads the next group instead.
        var leads = false
        init(durable: Bool, _ run: @escaping (WriteTransaction) -> Void) {
            self.durable = durable
            self.run = run
        }
    }

    private let lock = NSLock()
    private var waiting: [Writer] = []
    private var groupRunning = false

    /// Runs `body` in a write transaction shared with the writers that queue up at the same
    /// time; returns once that transaction has committed (or throws its error, or the body's).
    /// The group's commit is durable when any of its writers asks for it.
    func write<T>(
        in store: StationStore, durable: Bool = true, _ body: @escaping (WriteTransaction) throws -> T
    ) throws -> T {
        var outcome: Result<T, any Error>?
        let writer = Writer(durable: durable) { tx in
            outcome = Result { try tx.savepoint { try body(tx) } }
        }
        lock.lock()
        waiting.append(writer)
        let leads = !groupRunning
        groupRunning = true
        lock.unlock()
        if !leads {
            writer.woken.wait()
        }
        if leads || writer.leads {
            lead(store, leader: writer)
        }
        if let error = writer.commitError { throw error }
        return try outcome!.get()
    }

    /// Runs one group: every writer waiting now, in one transaction; then passes the lead on.
    private func lead(_ store: StationStore, leader: Writer) {
        lock.lock()
        let group = waiting
        waiting = []
        lock.unlock()
        do {
            try store.write(durable: group.contains { $0.durable }) { tx in
                for writer in group { writer.run(tx) }
            }
        } catch {
            for writer in group { writer.commitError = error }
        }
        lock.lock()
        let next = waiting.first
        if next == nil { groupRunning = false }
        lock.unlock()
        for writer in group where writer !== leader { writer.woken.signal() }
        if let next {
            next.leads = true
            next.woken.signal()
        }
    }
}
