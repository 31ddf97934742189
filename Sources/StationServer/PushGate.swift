import Synchronization

/// How many pushes decompress, decode and merge at once; the others wait their turn, suspended,
/// in the order they came.
///
/// Without it, at nine o'clock every station's push is decoded at once and waits, decoded, for
/// its group commit, and the groups grow to every push there is: the hub holds all of them in
/// memory together and every station waits for the one large group. In `tools/bench`, 200
/// stations at once: hub peak RSS 123-133 MB without a gate, 63-71 MB with one 4 to 32 wide;
/// the pull step's p99 66 ms without, 5-37 ms with. With a few at once the pushes still share
/// commits (`GroupCommit`), memory holds only those few, and the first to arrive are answered
/// first. A push's body bytes, held while it waits, are counted against the
/// node's body budget already (`BodyBudget`).
///
/// A waiting request that is cancelled (its client went away) leaves the line and takes no turn.
final class PushGate: Sendable {
    private struct Waiter {
        let id: UInt64
        let continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var free: Int
        var waiting: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state: Mutex<State>

    /// A gate letting `width` pushes through at once (at least one).
    init(width: Int) {
        state = Mutex(State(free: max(1, width)))
    }

    /// Runs `body` once a turn is free, and frees the turn when it returns or throws.
    /// Throws `CancellationError` when the task is cancelled while it waits.
    func run<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        try await enter()
        defer { leave() }
        return try await body()
    }

    private func enter() async throws {
        let id: UInt64? = state.withLock { state in
            if state.free > 0 {
                state.free -= 1
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
                    if state.free > 0 {  // a turn was freed since the look above
                        state.free -= 1
                        return .go
                    }
                    state.waiting.append(Waiter(id: id, continuation: continuation))
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

    private func leave() {
        let next: Waiter? = state.withLock { state in
            if state.waiting.isEmpty {
                state.free += 1
                return nil
            }
            return state.waiting.removeFirst()  // the turn passes straight on
        }
        next?.continuation.resume()
    }

    /// Turns free now (for tests).
    var freeCount: Int { state.withLock { $0.free } }
    /// Requests waiting for a turn now (for tests).
    var waitingCount: Int { state.withLock { $0.waiting.count } }
}
