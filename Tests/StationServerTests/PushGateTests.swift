import Synchronization
import Testing

@testable import StationServer

/// `PushGate`: at most its width at once, in the order they came; a request cancelled while it
/// waits leaves the line and takes no turn.
@Suite struct PushGateTests {
    /// Records who is inside and the most that ever were at once.
    final class Inside: Sendable {
        private let state = Mutex((now: 0, most: 0, order: [Int]()))
        func enter(_ i: Int) {
            state.withLock { s in
                s.now += 1
                s.most = max(s.most, s.now)
                s.order.append(i)
            }
        }
        func leave() { state.withLock { $0.now -= 1 } }
        var most: Int { state.withLock { $0.most } }
        var order: [Int] { state.withLock { $0.order } }
    }

    @Test func neverMoreThanItsWidthAtOnce() async throws {
        let gate = PushGate(width: 3)
        let inside = Inside()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for i in 0..<40 {
                group.addTask {
                    try await gate.run(caller: "s\(i % 7)") {
                        inside.enter(i)
                        try await Task.sleep(for: .milliseconds(2))
                        inside.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(inside.most <= 3)
        #expect(inside.order.count == 40)
    }

    @Test func theFirstToWaitGoFirst() async throws {
        let gate = PushGate(width: 1)
        let inside = Inside()
        let release = AsyncStream<Void>.makeStream()
        // One holds the only turn until released; the others line up one after the other.
        let holder = Task { try await gate.run(caller: "holder") { for await _ in release.stream { break } } }
        try await waitUntil { gate.waitingCount == 0 && gate.freeCount == 0 }
        var waiters: [Task<Void, any Error>] = []
        for i in 0..<5 {
            waiters.append(Task { try await gate.run(caller: "s\(i)") { inside.enter(i) } })
            try await waitUntil { gate.waitingCount == i + 1 }
        }
        release.continuation.yield()
        try await holder.value
        for waiter in waiters { try await waiter.value }
        #expect(inside.order == [0, 1, 2, 3, 4])
        #expect(gate.freeCount == 1)
    }

    @Test func aCancelledWaiterLeavesTheLineAndTakesNoTurn() async throws {
        let gate = PushGate(width: 1)
        let inside = Inside()
        let release = AsyncStream<Void>.makeStream()
        let holder = Task { try await gate.run(caller: "holder") { for await _ in release.stream { break } } }
        try await waitUntil { gate.freeCount == 0 }
        let cancelled = Task { try await gate.run(caller: "a") { inside.enter(0) } }
        try await waitUntil { gate.waitingCount == 1 }
        let next = Task { try await gate.run(caller: "b") { inside.enter(1) } }
        try await waitUntil { gate.waitingCount == 2 }
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(gate.waitingCount == 1)
        release.continuation.yield()
        try await holder.value
        try await next.value
        #expect(inside.order == [1])
        #expect(gate.freeCount == 1 && gate.waitingCount == 0)
    }

    @Test func oneCallerHoldsAtMostItsShareAndOthersGoByItsQueue() async throws {
        let gate = PushGate(width: 3, perCaller: 2)
        let inside = Inside()
        let released = Inside()  // entered once: released
        // A flood from one token: 2 inside (its share), 4 more waiting though a turn is free.
        var flood: [Task<Void, any Error>] = []
        for i in 0..<6 {
            flood.append(
                Task {
                    try await gate.run(caller: "flood") {
                        inside.enter(i)
                        while released.order.isEmpty { try await Task.sleep(for: .milliseconds(1)) }
                    }
                })
        }
        try await waitUntil { gate.waitingCount == 4 && gate.freeCount == 1 }
        // Another station's push, come after them all, takes the free turn at once.
        try await gate.run(caller: "honest") { inside.enter(100) }
        #expect(inside.order.contains(100) && inside.order.filter { $0 < 100 }.count == 2)
        released.enter(0)
        for task in flood { try await task.value }
        #expect(inside.order.count == 7 && gate.freeCount == 3 && gate.waitingCount == 0)
    }

    /// Polls (yielding) until `condition` holds; fails after 10 s.
    func waitUntil(_ condition: () -> Bool) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while !condition() {
            guard clock.now < deadline else {
                Issue.record("the gate never got there")
                return
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}
