import Foundation
import StationCore
import StationHub
@testable import StationMemory
@testable import StationStore
import StationSync
import Testing

/// What the conformance suite and the engine scenarios ask of a backend besides its ports: the
/// local writes and reads a node's own tools make. Both backends have them under the same names.
protocol TestBackendStore: HubStorage {
    @discardableResult func put(_ collection: String, _ id: String, _ values: [String: JSONValue], force: Bool, author: String?) throws -> LocalWrite
    @discardableResult func add(_ collection: String, _ id: String, field: String, amount: Int64, author: String?) throws -> RecordState
    @discardableResult func delete(_ collection: String, _ id: String, author: String?) throws -> RecordState?
    func record(_ collection: String, _ id: String) throws -> StoredRecord?
    func records(in collection: String, includeDeleted: Bool) throws -> [StoredRecord]
    func addToken(_ token: StoredToken) throws
    func ownVersionCount() throws -> Int
    /// The writer names this store's data was written under before (copies), oldest first.
    var lineage: [NodeID] { get }
    @discardableResult func forget(_ keys: [RecordKey]) throws -> [RecordKey]
    /// Everything the store holds, its clock included, as sorted lines `TABLE: ROW`, but the
    /// tables `except` (`station_activity`, `node_writer`): what "a refused request changes
    /// nothing" compares.
    func everyRow(except: Set<String>) throws -> [String]
}

extension TestBackendStore {
    @discardableResult func put(_ collection: String, _ id: String, _ values: [String: JSONValue]) throws -> LocalWrite {
        try put(collection, id, values, force: false, author: nil)
    }

    @discardableResult func put(_ collection: String, _ id: String, _ values: [String: JSONValue], force: Bool) throws -> LocalWrite {
        try put(collection, id, values, force: force, author: nil)
    }

    @discardableResult func add(_ collection: String, _ id: String, field: String, amount: Int64) throws -> RecordState {
        try add(collection, id, field: field, amount: amount, author: nil)
    }

    @discardableResult func delete(_ collection: String, _ id: String) throws -> RecordState? {
        try delete(collection, id, author: nil)
    }

    func everyRow() throws -> [String] { try everyRow(except: []) }

    /// Every record of every collection, canonical state per `collection/id`.
    func snapshot() throws -> [String: String] {
        var result: [String: String] = [:]
        for c in schema.collectionNames {
            for r in try records(in: c, includeDeleted: true) { result["\(c)/\(r.id)"] = r.state.canonicalText }
        }
        return result
    }
}

extension StationStore: TestBackendStore {}
extension MemoryStore: TestBackendStore {
    func everyRow(except: Set<String>) -> [String] {
        let s = state.withLock { $0 }
        var rows: [String] = []
        func add(_ table: String, _ row: @autoclosure () -> String) {
            if !except.contains(table) { rows.append("\(table): \(row())") }
        }
        add("meta", "clock \(s.clock.last.rawValue), last sequence \(s.lastSequence), last own version \(s.lastOwnVersion)")
        add("collection", s.schema.json.canonicalText)
        for (name, peer) in s.addedBy { add("collection", "\(name) added by \(peer)") }
        for (key, r) in s.records {
            add("record", "\(key) seq \(r.seq) source \(r.source ?? "-") deleted \(r.deleted) conflicts \(r.conflicts) \(r.text)")
            if r.text != r.state.canonicalText { add("record", "\(key): its text is not its state's") }
        }
        for (seq, key) in s.feed { add("feed", "\(seq) \(key)") }
        for (peer, p) in s.peers { add("peer", "\(peer) \(p.checkpoint) relay \(p.mayRelay.map { "\($0)" } ?? "-")") }
        for (peer, keys) in s.waiting { for key in keys.keys { add("push_waiting", "\(peer) \(key)") } }
        for (n, v) in s.ownVersions { add("own_version", "\(n) \(v.key) \(v.state.canonicalText)") }
        for (id, t) in s.tokens { add("token", "\(id) \(t)") }
        for (station, a) in s.activity { add("station_activity", "\(station) \(a)") }
        for (writer, w) in s.writers { add("node_writer", "\(writer) \(w)") }
        for (id, session) in s.sessions { add("operator_session", "\(id) \(session)") }
        return rows.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }
}

/// The backends every conformance test and engine scenario runs on.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, memory

    var testDescription: String { rawValue }

    /// Makes the stores of one test; SQLite files go in a temporary directory removed with it.
    final class Factory: @unchecked Sendable {
        // @unchecked: the directory is only created and removed; tests use a factory from one task.
        let backend: Backend
        let dir: TemporaryDirectory

        init(_ backend: Backend) throws {
            self.backend = backend
            dir = try TemporaryDirectory()
        }

        /// Keeps the factory, and the directory of its stores, alive until here (call it in a
        /// `defer` of the test that made them).
        func keep() { withExtendedLifetime(self) {} }

        /// `hub`: made as `hub init` makes a hub's database.
        func make(
            _ node: NodeID, schema: Schema = syncSchema, incarnation: String? = nil, hub: Bool = false,
            clock: @escaping @Sendable () -> UInt64 = StationStore.systemClock
        ) throws -> any TestBackendStore {
            switch backend {
            case .sqlite:
                try StationStore.create(
                    path: "\(dir.path)/\(node.rawValue)-\(UUID().uuidString).sqlite", node: node, schema: schema, incarnation: incarnation,
                    role: hub ? .hub : nil, clock: clock)
            case .memory:
                try MemoryStore(node: node, schema: schema, incarnation: incarnation, servesAsHub: hub, clock: clock)
            }
        }
    }
}

/// `client` syncs with `server` through ``LoopbackTransport`` and the ``SyncService`` the HTTP
/// server runs (trusted-peer access unless a principal is given).
@discardableResult
func sync(
    _ client: any SyncStorage, with server: any SyncStorage, principal: Principal = .trustedPeer, batchSize: Int = 500,
    takeOver: Bool = false
) async throws -> SyncSummary {
    let service = SyncService(storage: server, authentication: .none)
    let transport = LoopbackTransport(service: service, principal: principal, caller: client.writer.rawValue)
    var engine = SyncEngine(storage: client, transport: transport, batchSize: batchSize)
    engine.takeOver = takeOver
    return try await engine.run()
}
