import Foundation
import GRDB
import StationCore

/// Sync progress with one peer.
public struct Checkpoint: Sendable, Equatable {
    /// The local sequence up to which changes have been pushed to the peer.
    public var pushed: Int64
    /// The peer's cursor after the last batch pulled from it ("" before the first pull).
    public var pulled: String
    /// The peer's database id these positions refer to ("" before the first sync).
    public var peerDatabase: String = ""
    /// When the checkpoint last moved (SQLite `datetime('now')`, UTC), or nil.
    public var updatedAt: String? = nil

    public init(pushed: Int64, pulled: String, peerDatabase: String = "", updatedAt: String? = nil) {
        self.pushed = pushed
        self.pulled = pulled
        self.peerDatabase = peerDatabase
        self.updatedAt = updatedAt
    }
}

extension StationStore {
    /// The checkpoint kept for `peer` (zeroes before the first sync).
    public func checkpoint(peer: String) throws -> Checkpoint {
        try read { db in
            let row = try Row.fetchOne(db, sql: "SELECT pushed, pulled, peerDatabase, updatedAt FROM checkpoint WHERE peer = ?", arguments: [peer])
            return Checkpoint(pushed: row?["pushed"] ?? 0, pulled: row?["pulled"] ?? "", peerDatabase: row?["peerDatabase"] ?? "", updatedAt: row?["updatedAt"])
        }
    }

    /// Records that local changes up to `seq` have reached `peer`.
    public func setPushed(_ seq: Int64, peer: String) throws {
        // Not durable: a checkpoint lost to a power cut only means pushing those batches again.
        try immediateTransaction(durable: false) { db in
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, pushed, updatedAt) VALUES (?, ?, datetime('now'))
                    ON CONFLICT(peer) DO UPDATE SET pushed = excluded.pushed, updatedAt = excluded.updatedAt
                    """,
                arguments: [peer, seq])
        }
    }
}

extension StationStore {
    /// All checkpoints, by peer.
    public func checkpoints() throws -> [String: Checkpoint] {
        try read { db in
            var result: [String: Checkpoint] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT peer, pushed, pulled, peerDatabase, updatedAt FROM checkpoint") {
                result[row["peer"]] = Checkpoint(pushed: row["pushed"], pulled: row["pulled"], peerDatabase: row["peerDatabase"], updatedAt: row["updatedAt"])
            }
            return result
        }
    }

    /// Starts over with `peer` whose database is now `peerDatabase` (first sync, or the peer's
    /// database was replaced): everything will be pushed and pulled again. Merging is idempotent,
    /// so this repeats work but never harms.
    /// Records whether `peer` lets this node bring writes of others it has not seen (what its
    /// session said): own versions are kept for the peers that do not (see StationStore+Waiting.swift).
    public func setPeerMayRelay(_ relay: Bool, peer: String) throws {
        let known = try read { db in try Bool.fetchOne(db, sql: "SELECT mayRelay FROM checkpoint WHERE peer = ?", arguments: [peer]) }
        guard known != relay else { return }
        try immediateTransaction(durable: false) { db in
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, mayRelay, updatedAt) VALUES (?, ?, datetime('now'))
                    ON CONFLICT(peer) DO UPDATE SET mayRelay = excluded.mayRelay
                    """,
                arguments: [peer, relay])
        }
    }

    public func resetCheckpoint(peer: String, peerDatabase: String) throws {
        try immediateTransaction { db in
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, pushed, pulled, peerDatabase, updatedAt) VALUES (?, 0, '', ?, datetime('now'))
                    ON CONFLICT(peer) DO UPDATE SET pushed = 0, pulled = '', peerDatabase = excluded.peerDatabase, updatedAt = excluded.updatedAt
                    """,
                arguments: [peer, peerDatabase])
            // Everything is pushed again: nothing waits any longer.
            try db.execute(sql: "DELETE FROM push_waiting WHERE peer = ?", arguments: [peer])
        }
    }

    /// Adds to the stored schema what `additions` declares and it does not (new collections, newly
    /// listed fields), in one transaction. The caller checks first that the two agree.
    public func extendSchema(with additions: Schema) throws {
        let extended = schema.adding(additions)
        guard extended != schema else { return }
        try immediateTransaction { db in
            for name in extended.collectionNames {
                let definition = try extended.collection(name)
                try db.execute(
                    sql: "INSERT INTO collection (name, definition) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET definition = excluded.definition",
                    arguments: [name, Schema.definitionJSON(definition).canonicalText])
            }
        }
        schemaBox.withLock { $0 = extended }
        logger.info("schema extended", metadata: ["collections": "\(extended.collections.count)"])
    }
}
