import GRDB
import StationCore
import StationSync

extension StationStore {
    /// A record's history on this node, oldest first: every version stored that changed what
    /// reads show, kept for its collection's `historyDays`. `after` pages (entries numbered above
    /// it), `limit` bounds the page. Empty for a record with none (a hub keeps none). Throws for
    /// an unknown collection.
    public func history(_ collection: String, _ id: String, after: Int64? = nil, limit: Int = 1000) throws -> [StoredHistoryEntry] {
        _ = try schema.collection(collection)
        return try read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT n, at, peer, entry FROM record_history
                    WHERE collection = ? AND id = ? AND n > ? ORDER BY n LIMIT ?
                    """,
                arguments: [collection, id, after ?? 0, max(0, limit)])
            return try rows.map { row in
                let text: String = row["entry"]
                let entry: JSONValue
                do {
                    entry = try JSONParser.parse(bytes: Array(text.utf8))
                } catch {
                    throw StoreError(.sqlite, "\(collection)/\(id): history entry \(row["n"] as Int64) cannot be read: \(error)")
                }
                return StoredHistoryEntry(
                    number: row["n"], storedAt: UInt64(max(0, row["at"] as Int64)), peer: row["peer"], entry: entry)
            }
        }
    }
}
