import StationSync
import GRDB
import StationCore

// Forgetting a record (the rule: ``ForgetRefusal``). The highest sequence handed out is kept in
// `meta.forgottenSeq`, so the feed goes on after a forgotten record's.

extension StationStore {
    /// The highest change-feed sequence handed out: the newest record's, or a forgotten one's.
    static let lastSequenceSQL = """
        SELECT max(coalesce((SELECT max(seq) FROM record), 0),
                   coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'forgottenSeq'), 0))
        """

    /// Forgets these records here (``ForgetRefusal``). Refuses, forgetting nothing, when one
    /// does not exist or holds a write of this station (any of its databases): forgetting would
    /// lose it. Returns the records forgotten.
    @discardableResult
    public func forget(_ keys: [RecordKey]) throws -> [RecordKey] {
        let station = node.rawValue
        return try immediateTransaction { db in
            var forgotten: [RecordKey] = []
            for key in keys {
                let text = try String.fetchOne(
                    db, sql: "SELECT state FROM record WHERE collection = ? AND id = ?", arguments: [key.collection, key.id])
                let state = try text.map { try RecordState(jsonText: $0) }
                try ForgetRefusal.check(key, state, station: station)
                if !forgotten.contains(key) { forgotten.append(key) }  // each once, however often named
            }
            let last = try Int64.fetchOne(db, sql: Self.lastSequenceSQL) ?? 0
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('forgottenSeq', ?)", arguments: [String(last)])
            for key in forgotten {
                // Its index rows and search text, found from the state (record_field has no index by record).
                if let c = schema.collections[key.collection], !c.indexes.isEmpty || !c.search.isEmpty,
                    let text = try String.fetchOne(
                        db, sql: "SELECT state FROM record WHERE collection = ? AND id = ?", arguments: [key.collection, key.id])
                {
                    let rows = try RecordRows(db)
                    let state = try RecordState(jsonText: text)
                    try rows.writeIndexed(c, key.id, state: nil, previous: state)
                    try rows.writeSearchText(c, key.id, state: nil, previous: state)
                }
                for table in ["record", "push_waiting", "own_version"] {
                    try db.execute(sql: "DELETE FROM \(table) WHERE collection = ? AND id = ?", arguments: [key.collection, key.id])
                }
                // The history says so: a record that `get` no longer finds, and why.
                if keepsHistory, (schema.collections[key.collection]?.keptHistoryDays ?? 0) > 0 {
                    var entry: [UInt8] = []
                    HistoryEntry(kind: .forgotten, writes: [], changes: [], opened: [], resolved: []).write(to: &entry)
                    try db.execute(
                        sql: "INSERT INTO record_history (collection, id, at, peer, entry) VALUES (?, ?, ?, NULL, ?)",
                        arguments: [key.collection, key.id, Int64(clamping: physicalClock()), String(decoding: entry, as: UTF8.self)])
                }
            }
            return forgotten
        }
    }
}
