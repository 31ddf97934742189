import Foundation
import StationCore
import StationStore
import StationSync
import Testing
@testable import StationSync

/// Review round 7: what a LAN peer that misbehaves on purpose could do to a station's sync with
/// its hub, and to the sync itself.
@Suite struct PosingPeerTests {
    let net: Network
    init() throws { net = try Network(["hub", "a", "b", "rogue"]) }

    let asA = Principal(station: "a", read: .all, write: .all, relay: false)
    let asB = Principal(station: "b", read: .all, write: .all, relay: false)

    /// A LAN peer (a `station serve` of its own) posing as the hub: its session and pages name
    /// the hub's node and database (read from the hub's open `/v1/health`), its cursors point far
    /// past the hub's feed. It cannot prove it holds a station's token.
    struct PosingAsHub: SyncTransport {
        var inner: LoopbackTransport
        var hub: StationStore
        func session() async throws -> PeerSession {
            var session = try await inner.session()
            session.info.node = hub.node.rawValue
            session.info.database = hub.databaseID
            return session
        }
        func schema() async throws -> Schema { try await inner.schema() }
        func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse {
            var page = try await inner.pull(cursor: "", limit: limit)
            page.node = hub.node.rawValue
            page.next = FeedCursor(database: hub.databaseID, seq: 1_000_000)
            page.more = false
            return page
        }
        var preparePush: @Sendable ([UInt8]) throws -> PreparedPush { inner.preparePush }
        func push(_ body: PreparedPush) async throws -> PushResponse { try await inner.push(body) }
    }

    func posing(for client: String) -> PosingAsHub {
        PosingAsHub(
            inner: LoopbackTransport(service: SyncService(storage: net["rogue"], authentication: .none), caller: client), hub: net["hub"])
    }

    @Test("A peer posing as the hub this station syncs with by its token is refused, and changes nothing")
    func aPeerPosingAsTheHubIsRefused() async throws {
        try net["hub"].put("cases", "c1", ["notes": "at the hub"])
        try net["rogue"].put("cases", "junk", ["notes": "junk"])
        try await net.sync("a", with: "hub", principal: asA)
        #expect(try net["a"].checkpoint(peer: "hub").byToken == true)
        let before = try net["a"].everyRow()
        await #expect { try await SyncEngine(storage: net["a"], transport: posing(for: "a")).run() } throws: {
            ($0 as? SyncError)?.code == .unprovenPeer
        }
        var full = SyncEngine(storage: net["a"], transport: posing(for: "a"))
        full.full = true
        await #expect { try await full.run() } throws: { ($0 as? SyncError)?.code == .unprovenPeer }
        #expect(try net["a"].everyRow() == before)
        // The hub's next writes still arrive.
        try net["hub"].put("cases", "c2", ["notes": "later"])
        #expect(try await net.sync("a", with: "hub", principal: asA).pulled == 1)
    }

    @Test("A checkpoint a posing peer moved before the first sync with the hub is started over at it")
    func aCheckpointMovedByAPosingPeerStartsOver() async throws {
        for i in 0..<5 { try net["hub"].put("cases", "c\(i)", ["notes": "at the hub"]) }
        try net["rogue"].put("cases", "junk", ["notes": "junk"])
        let posed = try await SyncEngine(storage: net["b"], transport: posing(for: "b")).run()
        #expect(posed.pulled == 1)
        #expect(try net["b"].checkpoint(peer: "hub").pulled == FeedCursor(database: net["hub"].databaseID, seq: 1_000_000))
        let real = try await net.sync("b", with: "hub", principal: asB)
        #expect(real.startedOver && real.pulled == 5, "\(real)")
        for i in 0..<5 { #expect(try net["b"].record("cases", "c\(i)") != nil) }
        #expect(try net["b"].checkpoint(peer: "hub").byToken == true)
    }

    @Test("A cursor past the end of the feed is served from the start")
    func aCursorPastTheEndIsServedFromTheStart() async throws {
        for i in 0..<3 { try net["hub"].put("cases", "c\(i)", ["notes": "x"]) }
        let service = SyncService(storage: net["hub"], authentication: .none)
        let page = try await PullResponse(
            bytes: service.pull(since: FeedCursor(database: net["hub"].databaseID, seq: 1_000_000).text, limit: nil, principal: asA, requester: "a"))
        #expect(page.changes.count == 3)
    }

    /// A peer that answers `more` without end, with ever new records (or none).
    struct Endless: SyncTransport {
        var inner: LoopbackTransport
        var template: RecordState
        var empty = false
        var oversized = false
        func session() async throws -> PeerSession { try await inner.session() }
        func schema() async throws -> Schema { try await inner.schema() }
        func pull(cursor: FeedCursor, limit: Int) throws -> PullResponse {
            let n = Int(cursor.seq(in: "rogue-db"))
            let changes =
                empty
                ? []
                : (n..<(n + limit + (oversized ? 1 : 0))).map { i in
                    WireChange(collection: "cases", id: "junk-\(i)", stateBytes: ArraySlice(template.canonicalText.utf8))
                }
            return PullResponse(node: "rogue", changes: changes, next: FeedCursor(database: "rogue-db", seq: Int64(n + limit)), more: true)
        }
        var preparePush: @Sendable ([UInt8]) throws -> PreparedPush { inner.preparePush }
        func push(_ body: PreparedPush) async throws -> PushResponse { try await inner.push(body) }
    }

    @Test("A LAN peer answering more without end: one sync takes at most its bound; an empty page saying more is an error")
    func aPeerAnsweringMoreWithoutEnd() async throws {
        try net["rogue"].put("cases", "t", ["notes": "junk"])
        let template = try #require(try net["rogue"].record("cases", "t")).state
        let inner = LoopbackTransport(service: SyncService(storage: net["rogue"], authentication: .none), caller: "a")
        var engine = SyncEngine(storage: net["a"], transport: Endless(inner: inner, template: template), batchSize: 100)
        engine.maxPulledFromPeer = 1_000
        let summary = try await engine.run()
        #expect(summary.pullCut && summary.pulled == 1_000, "\(summary)")
        #expect(try net["a"].checkpoint(peer: "rogue").pulled == FeedCursor(database: "rogue-db", seq: 1000))
        let empty = SyncEngine(storage: net["b"], transport: Endless(inner: inner, template: template, empty: true))
        await #expect { try await empty.run() } throws: { ($0 as? SyncError)?.code == .protocolError }
        // A page larger than asked for passed every bound of a sync (review round 8, F2).
        let oversized = SyncEngine(storage: net["b"], transport: Endless(inner: inner, template: template, oversized: true), batchSize: 100)
        await #expect { try await oversized.run() } throws: {
            ($0 as? SyncError)?.code == .protocolError && "\($0)".contains("at most 100 were asked for")
        }
    }

    /// A peer whose every push answer is a 403 naming made-up records (and maybe one it was sent).
    struct NamingMadeUp: SyncTransport {
        var inner: LoopbackTransport
        var alsoNames: RecordKey?
        let pushes = Counter()
        func session() async throws -> PeerSession { try await inner.session() }
        func schema() async throws -> Schema { try await inner.schema() }
        func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse { try await inner.pull(cursor: cursor, limit: limit) }
        var preparePush: @Sendable ([UInt8]) throws -> PreparedPush { inner.preparePush }
        func push(_ body: PreparedPush) async throws -> PushResponse {
            let n = pushes.next()
            let named = (0..<10_000).map { RecordKey("cases", "made-up-\(n)-\($0)") }
            guard let alsoNames, n == 0 else {
                if alsoNames != nil { return try await inner.push(body) }
                throw SyncError(.forbidden, "refused", records: named)
            }
            throw SyncError(.forbidden, "refused", records: named + [alsoNames])
        }
    }

    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func next() -> Int {
            lock.withLock {
                defer { n += 1 }; return n
            }
        }
        var count: Int { lock.withLock { n } }
    }

    @Test("A 403 naming records the push did not carry costs nothing: only those it carried are left out")
    func aRefusalNamingMadeUpRecords() async throws {
        for i in 0..<3 { try net["a"].put("cases", "c\(i)", ["notes": "mine"]) }
        let inner = LoopbackTransport(service: SyncService(storage: net["rogue"], authentication: .none), caller: "a")
        let madeUp = NamingMadeUp(inner: inner)
        await #expect(throws: SyncError.self) { try await SyncEngine(storage: net["a"], transport: madeUp).run() }
        #expect(madeUp.pushes.count == 1, "pushed \(madeUp.pushes.count) times")
        let oneReal = NamingMadeUp(inner: inner, alsoNames: RecordKey("cases", "c1"))
        let summary = try await SyncEngine(storage: net["a"], transport: oneReal).run()
        #expect(summary.refusedByPeerRecords == ["cases/c1"] && summary.pushed == 2, "\(summary)")
    }

    @Test("A push carrying one record twice is refused (400, naming it) and changes nothing")
    func aPushRepeatingARecordIsRefused() async throws {
        try net["a"].put("cases", "c1", ["notes": "mine"])
        let state = try #require(try net["a"].record("cases", "c1")).state
        let change = (collection: "cases", id: "c1", seq: Int64(1), stateText: state.canonicalText)
        let body = PushRequest.encode(node: "a", writer: net["a"].writer.rawValue, changes: [change, change])
        let before = try net["hub"].everyRow()
        let service = SyncService(storage: net["hub"], authentication: .none)
        await #expect { try await service.push(body: body, principal: asA) } throws: {
            ($0 as? SyncError)?.code == .badRequest && "\($0)".contains("changes[1] (cases/c1)") && "\($0)".contains("changes[0]")
        }
        #expect(try net["hub"].everyRow() == before)
    }
}
