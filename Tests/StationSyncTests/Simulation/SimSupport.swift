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
final class FaultyTransport: SyncTransport {
    let inner: LoopbackTransport
    let plan: [Int: SimFaultKind]
    private(set) var calls = 0
    private(set) var injected: [SimFaultKind] = []

    init(inner: LoopbackTransport, plan: [Int: SimFaultKind]) {
        self.inner = inner
        self.plan = plan
    }

    private func around<T>(_ body: () throws -> T) throws -> T {
        calls += 1
        guard let fault = plan[calls] else { return try body() }
        injected.append(fault)
        switch fault {
        case .lostRequest, .crashBefore:
            throw SimFault(kind: fault)
        case .lostResponse, .crashAfter:
            _ = try body()
            throw SimFault(kind: fault)
        case .duplicate:
            _ = try body()
            return try body()
        }
    }

    func session() throws -> PeerSession { try around { try inner.session() } }
    func schema() throws -> Schema { try around { try inner.schema() } }
    func pull(cursor: String, limit: Int) throws -> PullResponse { try around { try inner.pull(cursor: cursor, limit: limit) } }
    func push(_ body: PreparedPush) throws -> PushResponse { try around { try inner.push(body) } }
}
