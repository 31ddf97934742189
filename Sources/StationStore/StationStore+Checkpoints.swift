import StationSync
import Foundation
import GRDB
import StationCore

extension StationStore {
    /// The checkpoint kept for `peer` (zeroes before the first sync).
    public func checkpoint(peer: NodeID) throws -> Checkpoint {
        try read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT pushed, pulled, peerDatabase, updatedAt, byToken, leftBehind FROM checkpoint WHERE peer = ?", arguments: [peer])
            return Checkpoint(
                pushed: row?["pushed"] ?? 0, pulled: FeedCursor(stored: row?["pulled"] ?? ""), peerDatabase: row?["peerDatabase"] ?? "",
                updatedAt: row?["updatedAt"],
                byToken: row?["byToken"], leftBehind: LeftBehind(jsonText: row?["leftBehind"]))
        }
    }

    /// Records that local changes up to `seq` have reached `peer`.
    public func setPushed(_ seq: Int64, peer: NodeID) throws {
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
    public func checkpoints() throws -> [NodeID: Checkpoint] {
        try read { db in
            var result: [NodeID: Checkpoint] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT peer, pushed, pulled, peerDatabase, updatedAt, byToken, leftBehind FROM checkpoint") {
                result[row["peer"]] = Checkpoint(
                    pushed: row["pushed"], pulled: FeedCursor(stored: row["pulled"]), peerDatabase: row["peerDatabase"], updatedAt: row["updatedAt"],
                    byToken: row["byToken"], leftBehind: LeftBehind(jsonText: row["leftBehind"]))
            }
            return result
        }
    }

    /// Starts over with `peer` whose database is now `peerDatabase` (first sync, or the peer's
    /// database was replaced): everything will be pushed and pulled again. Merging is idempotent,
    /// so this repeats work but never harms.
    /// Records whether `peer` lets this node bring writes of others it has not seen (what its
    /// session said): own versions are kept for the peers that do not (see StationStore+Waiting.swift).
    public func setPeerMayRelay(_ relay: Bool, peer: NodeID) throws {
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

    /// Records whether `peer` proved at this session that it holds this node's token (see
    /// ``Checkpoint/byToken``).
    public func setPeerProvenByToken(_ proven: Bool, peer: NodeID) throws {
        let known = try read { db in try Bool.fetchOne(db, sql: "SELECT byToken FROM checkpoint WHERE peer = ?", arguments: [peer]) }
        guard known != proven else { return }
        try immediateTransaction(durable: false) { db in
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, byToken, updatedAt) VALUES (?, ?, datetime('now'))
                    ON CONFLICT(peer) DO UPDATE SET byToken = excluded.byToken
                    """,
                arguments: [peer, proven])
        }
    }

    public func resetCheckpoint(peer: NodeID, peerDatabase: String, sendsBack: Bool) throws {
        try immediateTransaction { db in
            let stored = try Self.leftBehind(db, peer: peer).left
            let leftBehind = LeftBehind(sendsBack: sendsBack || stored.sendsBack)
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, pushed, pulled, peerDatabase, updatedAt, leftBehind) VALUES (?, 0, '', ?, datetime('now'), ?)
                    ON CONFLICT(peer) DO UPDATE SET pushed = 0, pulled = '', peerDatabase = excluded.peerDatabase, updatedAt = excluded.updatedAt,
                        leftBehind = excluded.leftBehind
                    """,
                arguments: [peer, peerDatabase, Self.text(leftBehind)])
            // Everything is pushed again: nothing waits any longer.
            try db.execute(sql: "DELETE FROM push_waiting WHERE peer = ?", arguments: [peer])
        }
    }

    public func updateLeftBehind(peer: NodeID, _ update: LeftBehind.Update) throws {
        guard !update.isEmpty else { return }
        try immediateTransaction { db in
            let (stored, peerDatabase) = try Self.leftBehind(db, peer: peer)
            // One that cannot be read stays as it is: the next sync starts over with the peer.
            guard !stored.unreadable else { return }
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, leftBehind, updatedAt) VALUES (?, ?, datetime('now'))
                    ON CONFLICT(peer) DO UPDATE SET leftBehind = excluded.leftBehind
                    """,
                arguments: [peer, Self.text(stored.applying(update, peerDatabase: peerDatabase))])
        }
    }

    public func rewind(peer: NodeID, pushed: Int64?, pullAgain: Bool, update: LeftBehind.Update) throws {
        try immediateTransaction { db in
            let (stored, peerDatabase) = try Self.leftBehind(db, peer: peer)
            let left = stored.unreadable ? stored : stored.applying(update, peerDatabase: peerDatabase)
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, leftBehind, updatedAt) VALUES (?, ?, datetime('now'))
                    ON CONFLICT(peer) DO UPDATE SET leftBehind = CASE WHEN ? THEN leftBehind ELSE excluded.leftBehind END,
                        updatedAt = excluded.updatedAt, pushed = coalesce(?, pushed), pulled = CASE WHEN ? THEN '' ELSE pulled END
                    """,
                arguments: [peer, Self.text(left), stored.unreadable, pushed, pullAgain])
        }
    }

    /// What is stored as left behind with `peer`'s checkpoint, and the peer database it is for.
    static func leftBehind(_ db: Database, peer: NodeID) throws -> (left: LeftBehind, peerDatabase: String) {
        let row = try Row.fetchOne(db, sql: "SELECT leftBehind, peerDatabase FROM checkpoint WHERE peer = ?", arguments: [peer])
        return (LeftBehind(jsonText: row?["leftBehind"]), row?["peerDatabase"] ?? "")
    }

    /// How ``LeftBehind`` is stored (NULL: nothing).
    static func text(_ left: LeftBehind) -> String? { left.isEmpty ? nil : left.json.canonicalText }

    /// Adds what `additions` declares and this schema does not (collections, fields); new
    /// collections remember `peer` as where they came from (`station schema` lists them).
    public func extendSchema(with additions: Schema, from peer: NodeID? = nil) throws {
        let before = schema
        let extended = before.adding(additions)
        guard extended != before else { return }
        try immediateTransaction { db in
            for name in extended.collectionNames {
                let definition = try extended.collection(name)
                guard before.collections[name] != definition else { continue }
                try db.execute(
                    sql: """
                        INSERT INTO collection (name, definition, addedBy) VALUES (?, ?, ?)
                        ON CONFLICT(name) DO UPDATE SET definition = excluded.definition
                        """,
                    arguments: [name, Schema.definitionJSON(definition).canonicalText, peer?.rawValue ?? "?"])
            }
        }
        schemaBox.withLock { $0 = extended }
        logger.info("schema extended", metadata: ["collections": "\(extended.collections.count)", "from": "\(peer?.rawValue ?? "?")"])
    }

    /// Puts the schema back to `previous` (a sync's additions, when the sync failed before keeping
    /// anything): definitions as they were, collections it does not have removed unless they hold
    /// records.
    public func restoreSchema(_ previous: Schema) throws {
        let current = schema
        guard current != previous else { return }
        var kept = previous
        try immediateTransaction { db in
            for name in current.collectionNames {
                if let definition = previous.collections[name] {
                    try db.execute(
                        sql: "UPDATE collection SET definition = ? WHERE name = ?",
                        arguments: [Schema.definitionJSON(definition).canonicalText, name])
                } else if try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM record WHERE collection = ?)", arguments: [name]) ?? false {
                    kept.collections[name] = current.collections[name]
                } else {
                    try db.execute(sql: "DELETE FROM collection WHERE name = ?", arguments: [name])
                }
            }
        }
        schemaBox.withLock { $0 = kept }
    }

    /// Every collection with where it came from (nil: this database's own schema, from init) and
    /// how many records it holds (deleted ones included).
    public func schemaCollections() throws -> [(name: String, addedBy: String?, records: Int)] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.name, c.addedBy, (SELECT count(*) FROM record r WHERE r.collection = c.name) AS n
                    FROM collection c ORDER BY c.name
                    """
            ).map { ($0["name"], $0["addedBy"], $0["n"]) }
        }
    }

    /// Drops a collection a sync added that holds no record; throws, changing nothing, for one
    /// this database was made with or one holding records.
    public func dropAddedCollection(_ name: String) throws {
        try immediateTransaction { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT addedBy FROM collection WHERE name = ?", arguments: [name]) else {
                throw StoreError(.invalidInput, "no collection \(name) here")
            }
            guard let addedBy: String = row["addedBy"] else {
                throw StoreError(.invalidInput, "\(name) is part of this database's own schema (from init), not an addition; it stays")
            }
            let records = try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE collection = ?", arguments: [name]) ?? 0
            guard records == 0 else {
                throw StoreError(
                    .invalidInput,
                    "\(name) (added by \(addedBy)) holds \(records) record\(records == 1 ? "" : "s"); only an addition nobody wrote to can be dropped"
                )
            }
            try db.execute(sql: "DELETE FROM collection WHERE name = ?", arguments: [name])
        }
        schemaBox.withLock { $0.collections[name] = nil }
    }
}
