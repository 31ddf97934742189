import StationCore

/// Cursors into a node's change feed: `<databaseID>.<seq>`. A cursor into another database (the
/// peer's was replaced) means "from the start".
public enum Cursor {
    public static func make(database: String, seq: Int64) -> String { "\(database).\(seq)" }

    /// The sequence a cursor stands for in `database`: 0 for "" or another database's cursor.
    public static func parse(_ cursor: String?, database: String) throws(SyncError) -> Int64 {
        guard let cursor, !cursor.isEmpty else { return 0 }
        guard let dot = cursor.lastIndex(of: "."), cursor[cursor.index(after: dot)...].utf8.allSatisfy({ (48...57).contains($0) }),
            let seq = Int64(cursor[cursor.index(after: dot)...]), seq >= 0,
            cursor.utf8.count <= 128
        else {
            throw SyncError(.invalidCursor, "cursor \"\(cursor.prefix(64))\" is not one this node gave out (expected DATABASE.SEQ)")
        }
        return cursor[..<dot] == database ? seq : 0
    }
}
