import Foundation
import StationCore
import StationHub
import StationMemory
@testable import StationStore
import StationSync
import Testing

/// What the conformance suite and the engine scenarios ask of a backend besides its ports: the
/// local writes and reads a node's own tools make. Both backends have them under the same names.
protocol TestBackendStore: HubStorage {
    @discardableResult func put(_ collection: String, _ id: String, _ values: [String: JSONValue], force: Bool) throws -> LocalWrite
    @discardableResult func add(_ collection: String, _ id: String, field: String, amount: Int64) throws -> RecordState
    @discardableResult func delete(_ collection: String, _ id: String) throws -> RecordState?
    func record(_ collection: String, _ id: String) throws -> StoredRecord?
    func records(in collection: String, includeDeleted: Bool) throws -> [StoredRecord]
    func addToken(_ token: StoredToken) throws
    func ownVersionCount() throws -> Int
}

extension TestBackendStore {
    @discardableResult func put(_ collection: String, _ id: String, _ values: [String: JSONValue]) throws -> LocalWrite {
        try put(collection, id, values, force: false)
    }

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
extension MemoryStore: TestBackendStore {}

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

        func make(
            _ node: NodeID, schema: Schema = syncSchema, incarnation: String? = nil,
            clock: @escaping @Sendable () -> UInt64 = StationStore.systemClock
        ) throws -> any TestBackendStore {
            switch backend {
            case .sqlite:
                try StationStore.create(
                    path: "\(dir.path)/\(node.rawValue)-\(UUID().uuidString).sqlite", node: node, schema: schema, incarnation: incarnation,
                    clock: clock)
            case .memory:
                try MemoryStore(node: node, schema: schema, incarnation: incarnation, clock: clock)
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
