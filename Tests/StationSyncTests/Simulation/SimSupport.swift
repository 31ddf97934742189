import Synchronization
import Foundation
import StationCore
import StationStore
import StationSync
import StationTestSupport

/// The simulation's generator: the tests' one (StationTestSupport), so every schedule replays
/// exactly from its seed.
typealias SimRandom = SeededRandom

/// A simulated wall clock per node: a shared simulated time plus the node's own skew, so HLC
/// times (and therefore LWW winners) are a function of the seed, not of the machine.
final class SimClock: @unchecked Sendable {
    private let lock = NSLock()
    private var ms: UInt64
    init(start: UInt64) { ms = start }
    var now: UInt64 { lock.withLock { ms } }
    func set(_ value: UInt64) { lock.withLock { ms = value } }
}

/// What the simulation does to one transport call.
enum SimFaultKind: String, CaseIterable {
    /// The request never reaches the peer.
    case lostRequest = "lost request"
    /// The peer handles the request; the answer never comes back.
    case lostResponse = "lost response"
    /// The request reaches the peer twice (a retry after a timeout); the client sees the second answer.
    case duplicate = "duplicated request"
    /// The client process dies at this call, before or after the peer handled it; its store is
    /// closed and reopened from the file (what it committed stays, nothing else does).
    case crashBefore = "crash before the call"
    case crashAfter = "crash after the call"

    var isCrash: Bool { self == .crashBefore || self == .crashAfter }
}

/// An injected failure, as the engine sees it.
struct SimFault: Error, CustomStringConvertible {
    var kind: SimFaultKind
    var description: String { "injected \(kind.rawValue)" }
}

/// A transport that injects planned faults around ``LoopbackTransport`` calls (numbered from 1).
/// The engine calls it from one task at a time (``concurrentPushes`` is 1); the counters are
/// behind a mutex all the same, as a `Sendable` transport's state must be.
final class FaultyTransport: SyncTransport {
    let inner: LoopbackTransport
    let plan: [Int: SimFaultKind]
    private let state = Mutex<(calls: Int, injected: [SimFaultKind])>((0, []))
    var calls: Int { state.withLock { $0.calls } }
    var injected: [SimFaultKind] { state.withLock { $0.injected } }

    init(inner: LoopbackTransport, plan: [Int: SimFaultKind]) {
        self.inner = inner
        self.plan = plan
    }

    private func around<T>(_ body: () async throws -> T) async throws -> T {
        let fault: SimFaultKind? = state.withLock { state in
            state.calls += 1
            let fault = plan[state.calls]
            if let fault { state.injected.append(fault) }
            return fault
        }
        guard let fault else { return try await body() }
        switch fault {
        case .lostRequest, .crashBefore:
            throw SimFault(kind: fault)
        case .lostResponse, .crashAfter:
            _ = try await body()
            throw SimFault(kind: fault)
        case .duplicate:
            _ = try await body()
            return try await body()
        }
    }

    func session() async throws -> PeerSession { try await around { try await inner.session() } }
    func schema() async throws -> Schema { try await around { try await inner.schema() } }
    func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse { try await around { try await inner.pull(cursor: cursor, limit: limit) } }
    func push(_ body: PreparedPush) async throws -> PushResponse { try await around { try await inner.push(body) } }
}
