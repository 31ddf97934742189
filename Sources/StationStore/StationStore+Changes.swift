import Foundation
import GRDB
import StationCore

/// A page of the change feed.
public struct ChangeBatch: Sendable, Equatable {
    /// Changes in sequence order.
    public var changes: [Change]
    /// The sequence to ask from next time (the last change's, or the `since` asked for).
    public var nextSince: Int64
    /// Whether more changes follow.
    public var hasMore: Bool
}

extension StationStore {
    /// The highest sequence stamped so far (0 for an empty database).
    public func lastSequence() throws -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM record") ?? 0 }
    }

    /// Changes after `since`, at most `limit`, in sequence order: each record changed since then
    /// appears once, with its latest state. The cost follows the number of changes returned, not
    /// the size of the database (a range scan of the sequence index).
    ///
    /// `excludingSource` leaves out changes that arrived from that peer, so they are not echoed
    /// back to it; the cursor still moves past them.
    /// `collections`, when given, keeps only changes of those collections (a station's read
    /// permission); the cursor still moves past the others.
    public func changes(since: Int64, limit: Int, excludingSource: String? = nil, collections: Set<String>? = nil) throws -> ChangeBatch {
        precondition(limit > 0)
        return try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: "SELECT seq, collection, id, state, source FROM record WHERE seq > ? ORDER BY seq LIMIT ?",
                arguments: [since, limit + 1])
            let hasMore = rows.count > limit
            var changes: [Change] = []
            var next = since
            for row in rows.prefix(limit) {
                let change = Change(seq: row["seq"], collection: row["collection"], id: row["id"], stateText: row["state"], source: row["source"])
                next = change.seq
                if let excluded = excludingSource, change.source == excluded { continue }
                if let collections, !collections.contains(change.collection) { continue }
                changes.append(change)
            }
            return ChangeBatch(changes: changes, nextSince: next, hasMore: hasMore)
        }
    }
}

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
        try immediateTransaction { db in
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
    public func resetCheckpoint(peer: String, peerDatabase: String) throws {
        try immediateTransaction { db in
            try db.execute(
                sql: """
                    INSERT INTO checkpoint (peer, pushed, pulled, peerDatabase, updatedAt) VALUES (?, 0, '', ?, datetime('now'))
                    ON CONFLICT(peer) DO UPDATE SET pushed = 0, pulled = '', peerDatabase = excluded.peerDatabase, updatedAt = excluded.updatedAt
                    """,
                arguments: [peer, peerDatabase])
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

/// A bearer token as stored: who it is for and what it allows; only a hash of its secret.
public struct StoredToken: Sendable, Equatable {
    public var id: String
    public var station: String
    public var secretHash: [UInt8]
    /// `*` or comma-separated collection names.
    public var read: String
    public var write: String
    public var relay: Bool
    /// Whether it opens the hub's dashboard.
    public var isOperator: Bool
    public var createdAt: String
    public var revokedAt: String?

    public init(
        id: String, station: String, secretHash: [UInt8], read: String, write: String, relay: Bool, isOperator: Bool = false,
        createdAt: String, revokedAt: String? = nil
    ) {
        self.id = id
        self.station = station
        self.secretHash = secretHash
        self.read = read
        self.write = write
        self.relay = relay
        self.isOperator = isOperator
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

extension StationStore {
    /// Stores a new token.
    public func addToken(_ token: StoredToken) throws {
        try immediateTransaction { db in
            try db.execute(
                sql: "INSERT INTO token (id, station, secretHash, read, write, relay, operator, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [token.id, token.station, Data(token.secretHash), token.read, token.write, token.relay, token.isOperator, token.createdAt])
        }
    }

    /// The token with this id, revoked or not.
    public func token(id: String) throws -> StoredToken? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [id]).map(Self.token(row:)) }
    }

    /// Every token, oldest first.
    public func tokens() throws -> [StoredToken] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM token ORDER BY createdAt, id").map(Self.token(row:)) }
    }

    /// Revokes every live token of `station`; returns how many.
    public func revokeTokens(station: String) throws -> Int {
        try immediateTransaction { db in
            try db.execute(sql: "UPDATE token SET revokedAt = datetime('now') WHERE station = ? AND revokedAt IS NULL", arguments: [station])
            return db.changesCount
        }
    }

    static func token(row: Row) -> StoredToken {
        StoredToken(
            id: row["id"], station: row["station"], secretHash: [UInt8](row["secretHash"] as Data), read: row["read"],
            write: row["write"], relay: row["relay"], isOperator: row["operator"], createdAt: row["createdAt"], revokedAt: row["revokedAt"])
    }
}


/// What a station was last seen doing at this node.
public struct StationActivity: Sendable, Equatable {
    public var station: String
    public var lastSeenAt: String
    public var lastPullAt: String?
    /// The sequence of this node's feed the station had pulled through at its last pull.
    public var pulledThrough: Int64
    public var lastPushAt: String?
    /// Changes it has pushed here, in all.
    public var pushedChanges: Int64
}

extension StationStore {
    /// Notes that `station` pulled through `pulledThrough`, or pushed `pushed` changes. A pull
    /// that moved nothing within a minute of the last one writes nothing, so frequent no-op
    /// syncs do not turn into writes at the hub.
    public func noteActivity(station: String, pulledThrough: Int64? = nil, pushed: Int? = nil) throws {
        if (pushed ?? 0) == 0, let pulledThrough {
            let unchanged = try read { db in
                try Bool.fetchOne(
                    db,
                    sql: "SELECT pulledThrough = ? AND lastSeenAt > datetime('now', '-60 seconds') FROM station_activity WHERE station = ?",
                    arguments: [pulledThrough, station]) ?? false
            }
            if unchanged { return }
        }
        try immediateTransaction { db in
            try db.execute(
                sql: """
                    INSERT INTO station_activity (station, lastSeenAt) VALUES (?, datetime('now'))
                    ON CONFLICT(station) DO UPDATE SET lastSeenAt = excluded.lastSeenAt
                    """,
                arguments: [station])
            if let pulledThrough {
                try db.execute(
                    sql: "UPDATE station_activity SET lastPullAt = datetime('now'), pulledThrough = ? WHERE station = ?",
                    arguments: [pulledThrough, station])
            }
            if let pushed {
                try db.execute(
                    sql: "UPDATE station_activity SET lastPushAt = datetime('now'), pushedChanges = pushedChanges + ? WHERE station = ?",
                    arguments: [pushed, station])
            }
        }
    }

    /// Every station seen here, by name.
    public func stationActivity() throws -> [StationActivity] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM station_activity ORDER BY station").map { row in
                StationActivity(
                    station: row["station"], lastSeenAt: row["lastSeenAt"], lastPullAt: row["lastPullAt"],
                    pulledThrough: row["pulledThrough"], lastPushAt: row["lastPushAt"], pushedChanges: row["pushedChanges"])
            }
        }
    }

    /// How many changes in this node's feed come after `seq` (what a station that pulled through
    /// `seq` has yet to receive, at most).
    public func changeCount(after seq: Int64) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE seq > ?", arguments: [seq]) ?? 0 }
    }
}
