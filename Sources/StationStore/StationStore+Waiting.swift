import StationSync
import GRDB
import StationCore

// Changes a peer answered `waiting` (issue 11): records holding writes of other nodes that the
// peer has not seen, pushed with a token that may not relay them (a station that synced with a
// neighbour on the LAN, then with the hub). The push checkpoint moves past them like past any
// answered change; they are listed here, per peer, and every later push to that peer sends them
// again first, until the peer takes them (once those writes have reached it).
//
// Two stations that both wrote a record and synced on the LAN before either reached the hub
// would wait for each other forever: each one's state holds the other's write. So a node keeps
// its own versions: before a peer's version is merged on top of a record holding its own writes
// that another peer has not received, the record as it was is kept (`own_version`). A waiting
// record is sent as its oldest own version first: that holds no write of others the receiver
// lacks (or fewer), so it is taken, and the next one after it, until the current state is. A
// record's own versions go once a peer took its current state after it waited, or with the
// records a peer that may not relay took (``dropOwnVersions(_:)``).

extension StationStore {
    /// The records waiting for `peer`, in key order after `after` (nil: from the first), at most
    /// `limit`, each with its current state.
    public func waitingChanges(peer: NodeID, after: RecordKey?, limit: Int) throws -> [Change] {
        try read { db in
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT r.seq, r.collection, r.id, r.state, r.source FROM push_waiting w
                    JOIN record r ON r.collection = w.collection AND r.id = w.id
                    WHERE w.peer = ?1 AND (w.collection, w.id) > (?2, ?3)
                    ORDER BY w.collection, w.id LIMIT ?4
                    """,
                arguments: [peer, after?.collection ?? "", after?.id ?? "", limit])
            var changes: [Change] = []
            while let row = try rows.next() {
                changes.append(Change(seq: row[0], collection: row[1], id: row[2], stateText: row[3], source: row[4]))
            }
            // A record's oldest own version goes in place of its current state.
            for (i, change) in changes.enumerated() {
                if let own = try Row.fetchOne(
                    db, sql: "SELECT n, state FROM own_version WHERE collection = ? AND id = ? ORDER BY n LIMIT 1",
                    arguments: [change.collection, change.id])
                {
                    changes[i].stateText = own["state"]
                    changes[i].ownVersion = own["n"]
                }
            }
            return changes
        }
    }

    /// Whether any own version is kept.
    public func hasOwnVersions() throws -> Bool {
        try read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM own_version)") ?? false }
    }

    /// Drops one own version (a peer took it).
    public func dropOwnVersion(_ n: Int64) throws {
        try immediateTransaction { db in try db.execute(sql: "DELETE FROM own_version WHERE n = ?", arguments: [n]) }
    }

    /// Drops every own version of these records (a peer that may not relay took their current state).
    public func dropOwnVersions(_ keys: [RecordKey]) throws {
        guard !keys.isEmpty else { return }
        try immediateTransaction { db in
            for key in keys {
                try db.execute(sql: "DELETE FROM own_version WHERE collection = ? AND id = ?", arguments: [key.collection, key.id])
            }
        }
    }

    /// How many own versions are kept.
    public func ownVersionCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM own_version") ?? 0 }
    }

    /// How many records wait for `peer`.
    public func waitingCount(peer: NodeID) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM push_waiting WHERE peer = ?", arguments: [peer]) ?? 0 }
    }

    /// Records that `peer` answered `waiting` for (`waiting`), and that it took (`taken`).
    public func updateWaiting(peer: NodeID, waiting: [RecordKey], taken: [RecordKey]) throws {
        guard !waiting.isEmpty || !taken.isEmpty else { return }
        try immediateTransaction { db in
            for key in waiting {
                try db.execute(
                    sql: "INSERT OR IGNORE INTO push_waiting (peer, collection, id) VALUES (?, ?, ?)",
                    arguments: [peer, key.collection, key.id])
            }
            for key in taken {
                try db.execute(
                    sql: "DELETE FROM push_waiting WHERE peer = ? AND collection = ? AND id = ?",
                    arguments: [peer, key.collection, key.id])
                try db.execute(sql: "DELETE FROM own_version WHERE collection = ? AND id = ?", arguments: [key.collection, key.id])
            }
        }
    }
}
