import StationSync
import GRDB
import StationCore

// Forgetting a record: the remedy for records a rogue LAN peer or a crafted change file brought
// that no hub will ever take (junk under other nodes' names, a forgery colliding with the real
// writes under the same dots). Only what other nodes wrote is forgotten, never this station's own
// writes; it is local (no tombstone travels), and a record that is real comes back from whoever
// holds it (the hub's copy with `station sync --full`).
//
// The change feed never reuses a sequence: a peer's cursor may point at the forgotten record's,
// so the highest sequence handed out is kept (`meta.forgottenSeq`) and the feed goes on after it.

extension StationStore {
    /// The highest change-feed sequence handed out: the newest record's, or a forgotten one's.
    static let lastSequenceSQL = """
        SELECT max(coalesce((SELECT max(seq) FROM record), 0),
                   coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'forgottenSeq'), 0))
        """

    /// Forgets these records here (see the comment above). Refuses, forgetting nothing, when one
    /// does not exist or holds a write of this station (any of its databases): forgetting would
    /// lose it. Returns the records forgotten.
    @discardableResult
    public func forget(_ keys: [RecordKey]) throws -> [RecordKey] {
        let station = node.rawValue
        return try immediateTransaction { db in
            var forgotten: [RecordKey] = []
            for key in keys {
                guard
                    let text = try String.fetchOne(
                        db, sql: "SELECT state FROM record WHERE collection = ? AND id = ?", arguments: [key.collection, key.id])
                else {
                    throw StoreError(.recordNotFound, "\(key) does not exist here; nothing was forgotten")
                }
                let state = try RecordState(jsonText: text)
                if let own = state.clock.sortedEntries.first(where: { $0.node.isIncarnation(of: station) }) {
                    throw StoreError(
                        .invalidInput,
                        "\(key) holds writes of this station (\(own.node), \(own.counter)): forgetting it would lose them; nothing was forgotten "
                            + "(write the values to keep, or delete it, instead)")
                }
                forgotten.append(key)
            }
            let last = try Int64.fetchOne(db, sql: Self.lastSequenceSQL) ?? 0
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('forgottenSeq', ?)", arguments: [String(last)])
            for key in forgotten {
                for table in ["record", "push_waiting", "own_version"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE collection = ? AND id = ?", arguments: [key.collection, key.id])
                }
            }
            return forgotten
        }
    }
}
