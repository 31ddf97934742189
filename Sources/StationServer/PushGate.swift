import Synchronization

/// How many pushes decompress, decode and merge at once, and how many of them one caller may
/// have; the others wait their turn, suspended, in the order they came.
///
/// Without it, at nine o'clock every station's push is decoded at once and waits, decoded, for
/// its group commit, and the groups grow to every push there is: the hub holds all of them in
/// memory together and every station waits for the one large group. In `tools/bench`, 200
/// stations at once: hub peak RSS 123-133 MB without a gate, 63-71 MB with one 4 to 32 wide;
/// the pull step's p99 66 ms without, 5-37 ms with. With a few at once the pushes still share
/// commits (`GroupCommit`), memory holds only those few, and the first to arrive are answered
/// first.
///
/// One caller (a token's station) has at most ``perCaller`` turns at once (a station keeps two
/// pushes in flight): a token sending costly pushes by the dozen waits for its own, and the
/// others' pushes go by it (review 16, G2).
///
/// A waiting request that is cancelled (its client went away) leaves the line and takes no turn.
final class PushGate: Sendable {
    private struct Waiter {
        let id: UInt64
        let caller: String
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var free: Int
        var waiting: [Waiter] = []
        var inUse: [String: Int] = [:]
        var nextID: UInt64 = 0

        func mayEnter(_ caller: String, perCaller: Int) -> Bool { free > 0 && inUse[caller, default: 0] < perCaller }

        mutating func take(_ caller: String) {
            free -= 1
            inUse[caller, default: 0] += 1
        }
    }

    private let state: Mutex<State>
    /// Turns one caller may hold at once.
    let perCaller: Int

    /// A gate letting `width` pushes through at once (at least one), at most `perCaller` of one
    /// caller (at least one).
    init(width: Int, perCaller: Int = 2) {
        state = Mutex(State(free: max(1, width)))
        self.perCaller = max(1, perCaller)
    }

    /// Runs `body` once a turn is free for `caller`, and frees the turn when it returns or
    /// throws. Throws `CancellationError` when the task is cancelled while it waits.
    func run<T: Sendable>(caller: String, _ body: @Sendable () async throws -> T) async throws -> T {
        try await enter(caller)
        defer { leave(caller) }
        return try await body()
    }

    private func enter(_ caller: String) async throws {
        let perCaller = self.perCaller
        let id: UInt64? = state.withLock { state in
            if state.mayEnter(caller, perCaller: perCaller) {
                state.take(caller)
                return nil
            }
            state.nextID &+= 1
            return state.nextID
        }
        guard let id else { return }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Now { case wait, go, cancelled }
                let now: Now = state.withLock { state in
                    if Task.isCancelled { return .cancelled }
                    if state.mayEnter(caller, perCaller: perCaller) {  // a turn was freed since the look above
                        state.take(caller)
                        return .go
                    }
                    state.waiting.append(Waiter(id: id, caller: caller, continuation: continuation))
                    return .wait
                }
                switch now {
                case .wait: break
                case .go: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let waiter: Waiter? = state.withLock { state in
                guard let at = state.waiting.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiting.remove(at: at)
            }
            // Still in line: it leaves without a turn. Already let through: `leave` frees its turn.
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    private func leave(_ caller: String) {
        let perCaller = self.perCaller
        let next: Waiter? = state.withLock { state in
            state.free += 1
            state.inUse[caller, default: 1] -= 1
            if state.inUse[caller] == 0 { state.inUse[caller] = nil }
            // The first in line whose caller may take another turn.
            guard let at = state.waiting.firstIndex(where: { state.mayEnter($0.caller, perCaller: perCaller) }) else { return nil }
            let next = state.waiting.remove(at: at)
            state.take(next.caller)
            return next
        }
        next?.continuation.resume()
    }

    /// Turns free now (for tests).
    var freeCount: Int { state.withLock { $0.free } }
    /// Requests waiting for a turn now (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
