import Foundation
import StationCore
import GRDB
@testable import StationStore
import StationSync

/// A fresh temporary directory, removed when dropped.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String
    init() throws {
        path = NSTemporaryDirectory() + "stationsync-sync-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

let syncSchema = Schema(collections: [
    "cases": CollectionSchema(name: "cases", fields: ["status": .manual, "notes": .lww, "visits": .counter]),
    "stock": CollectionSchema(name: "stock", deleteConflict: .deleteWins, fields: ["quantity": .counter, "name": .lww]),
])

/// Several real SQLite stores syncing in memory through ``LoopbackTransport`` (the same
/// ``SyncService`` checks the HTTP server runs).
final class Network {
    let dir: TemporaryDirectory
    var stores: [String: StationStore] = [:]

    init(_ nodes: [String], schema: Schema = syncSchema) throws {
        dir = try TemporaryDirectory()
        for node in nodes {
            stores[node] = try StationStore.create(path: "\(dir.path)/\(node).sqlite", node: NodeID(validating: node), schema: schema)
        }
    }

    subscript(_ node: String) -> StationStore { stores[node]! }

    /// `client` syncs with `server` (trusted-peer access unless a principal is given).
    @discardableResult
    func sync(_ client: String, with server: String, principal: Principal = .trustedPeer, batchSize: Int = 500) async throws -> SyncSummary {
        let service = SyncService(storage: self[server], authentication: .none)
        let transport = LoopbackTransport(service: service, principal: principal, caller: client)
        return try await SyncEngine(storage: self[client], transport: transport, batchSize: batchSize).run()
    }

    /// Every node's records, canonical bytes per record.
    func snapshot(_ node: String) throws -> [String: String] {
        var result: [String: String] = [:]
        for c in self[node].schema.collectionNames {
            for r in try self[node].records(in: c, includeDeleted: true) { result["\(c)/\(r.id)"] = r.state.canonicalText }
        }
        return result
    }
}

extension StationStore {
    /// Every row of every table, its clock (`meta.hlc`) included, but the tables `except`, sorted:
    /// what "a refused request changes nothing" compares.
    func everyRow(except: Set<String>) throws -> [String] {
        try read { db in
            var rows: [String] = []
            for table in try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            where !except.contains(table) {
                for row in try Row.fetchAll(db, sql: "SELECT * FROM \"\(table)\"") { rows.append("\(table): \(row)") }
            }
            return rows.sorted()
        }
    }
}
