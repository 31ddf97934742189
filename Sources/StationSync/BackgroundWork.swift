import Foundation

/// Work started on a thread of its own and joined later. The sync engine uses it to overlap its
/// local database work (reading and encoding the next batch to push, merging the last batch
/// pulled) with the round trip of the next request, so neither end of a sync sits idle while the
/// other works.
///
/// A dedicated thread, not Swift's cooperative pool or a Dispatch queue: the engine is
/// synchronous and blocks in `wait()`, which must never wait on a pool it may be occupying.
/// (`@unchecked`: `result` is written once by the thread before it signals `finished`, and read
/// only after `wait()` has seen that signal.)
final class BackgroundWork<Value: Sendable>: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    // Written once by the worker thread before `finished` is signalled; read after the wait.
    private var outcome: Result<Value, any Error>?

    /// Starts `body` on a new thread.
    init(_ body: @escaping @Sendable () throws -> Value) {
        let thread = Thread { [self] in
            outcome = Result { try body() }
            finished.signal()
        }
        thread.start()
    }

    /// Waits until the work is done, then returns its value or rethrows its error. Call it once.
    func wait() throws -> Value {
        finished.wait()
        return try outcome!.get()
    }
}
