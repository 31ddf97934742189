import GRDB
import StationCore

// Changes a peer answered `waiting` (issue 11): records holding writes of other nodes that the
// peer has not seen, pushed with a token that may not relay them (a station that synced with a
// neighbour on the LAN, then with the hub). The push checkpoint moves past them like past any
// answered change; they are listed here, per peer, and every later push to that peer sends them
// again first, until the peer takes them (once those writes have reached it).

extension StationStore {
    /// The records waiting for `peer`, in key order after `after` (nil: from the first), at most
    /// `limit`, each with its current state.
    public func waitingChanges(peer: String, after: RecordKey?, limit: Int) throws -> [Change] {
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
            return changes
        }
    }

    /// How many records wait for `peer`.
    public func waitingCount(peer: String) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM push_waiting WHERE peer = ?", arguments: [peer]) ?? 0 }
    }

    /// Records that `peer` answered `waiting` for (`waiting`), and that it took (`taken`).
    public func updateWaiting(peer: String, waiting: [RecordKey], taken: [RecordKey]) throws {
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
            }
        }
    }
}
