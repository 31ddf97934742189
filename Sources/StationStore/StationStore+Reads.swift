import StationSync
import GRDB
import StationCore

extension StationStore {
    /// A record, or nil if this node never had it. Throws for an unknown collection.
    public func record(_ collection: String, _ id: String) throws -> StoredRecord? {
        let c = try schema.collection(collection)
        return try read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT seq, state, source FROM record WHERE collection = ? AND id = ?", arguments: [collection, id])
            return try row.map { try Self.storedRecord(row: $0, collection: c, id: id) }
        }
    }

    /// Calls `body` for each record of a collection in id order, reading in pages so memory stays
    /// bounded whatever the collection's size.
    public func forEachRecord(
        in collection: String, includeDeleted: Bool = false, pageSize: Int = 1000, _ body: (StoredRecord) throws -> Void
    ) throws {
        let c = try schema.collection(collection)
        var after: String? = nil
        while true {
            let page = try read { db -> [StoredRecord] in
                let filter = includeDeleted ? "" : "AND deleted = 0"
                // Two statements, not `(? IS NULL OR id > ?)`: SQLite cannot read a range of the
                // primary key through that OR, and every page would start from the first record.
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT id, seq, state, source FROM record
                        WHERE collection = ? \(after == nil ? "" : "AND id > ?") \(filter)
                        ORDER BY id LIMIT ?
                        """,
                    arguments: after.map { [collection, $0, pageSize] } ?? [collection, pageSize])
                return try rows.map { try Self.storedRecord(row: $0, collection: c, id: $0["id"]) }
            }
            for record in page { try body(record) }
            guard page.count == pageSize, let last = page.last else { return }
            after = last.id
        }
    }

    /// All records of a collection (see ``forEachRecord(in:includeDeleted:pageSize:_:)`` for large ones).
    public func records(in collection: String, includeDeleted: Bool = false) throws -> [StoredRecord] {
        var all: [StoredRecord] = []
        try forEachRecord(in: collection, includeDeleted: includeDeleted) { all.append($0) }
        return all
    }

    /// Record counts per collection: (alive, deleted).
    public func counts() throws -> [String: (alive: Int, deleted: Int)] {
        try read { db in
            var result: [String: (alive: Int, deleted: Int)] = [:]
            for name in schema.collectionNames { result[name] = (0, 0) }
            for row in try Row.fetchAll(db, sql: "SELECT collection, deleted, count(*) AS n FROM record GROUP BY collection, deleted") {
                let name: String = row["collection"]
                let n: Int = row["n"]
                if (row["deleted"] as Int) == 0 { result[name, default: (0, 0)].alive = n } else { result[name, default: (0, 0)].deleted = n }
            }
            return result
        }
    }

    static func storedRecord(row: Row, collection: CollectionSchema, id: String) throws -> StoredRecord {
        let state = try RecordState(jsonText: row["state"])
        return StoredRecord(
            collection: collection.name, id: id, seq: row["seq"], state: state, source: row["source"],
            view: state.view(in: collection, id: id))
    }
}

extension StationStore {
    /// How many records hold at least one conflict (read from a partial index).
    public func conflictedRecordCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE conflicts > 0") ?? 0 }
    }
}
