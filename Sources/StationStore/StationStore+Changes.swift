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
    /// the size of the database: a range of the sequence index, or with `collections`, one range
    /// of the per-collection index for each (merged here in sequence order).
    ///
    /// `excludingSource` leaves out changes that arrived from that peer, so they are not echoed
    /// back to it; `collections`, when given, keeps only changes of those collections (a
    /// station's read permission). Both filters apply before the limit, so a page is full
    /// whenever enough changes match, however many are skipped; when no more match, the cursor
    /// moves past the skipped ones to the newest sequence, and the next call starts from there.
    public func changes(since: Int64, limit: Int, excludingSource: String? = nil, collections: Set<String>? = nil) throws -> ChangeBatch {
        precondition(limit > 0)
        let source = excludingSource.map { _ in " AND (source IS NULL OR source <> ?)" } ?? ""
        return try read { db in
            var changes: [Change]
            if let collections {
                // One index range per collection, each cut at the limit, then merged: reading them
                // together with `collection IN (...) ORDER BY seq` makes SQLite sort every change of
                // those collections after `since`, page after page.
                let sql = """
                    SELECT seq, collection, id, state, source FROM record INDEXED BY record_collection_seq
                    WHERE collection = ? AND seq > ?\(source) ORDER BY seq LIMIT ?
                    """
                changes = []
                for collection in collections.sorted() {
                    var arguments: StatementArguments = [collection, since]
                    if let excludingSource { _ = arguments.append(contentsOf: [excludingSource]) }
                    _ = arguments.append(contentsOf: [limit + 1])
                    changes += try Self.fetchChanges(db, sql: sql, arguments: arguments, limit: limit + 1)
                }
                changes.sort { $0.seq < $1.seq }
                if changes.count > limit + 1 { changes.removeSubrange((limit + 1)...) }
            } else {
                let sql = "SELECT seq, collection, id, state, source FROM record WHERE seq > ?\(source) ORDER BY seq LIMIT ?"
                var arguments: StatementArguments = [since]
                if let excludingSource { _ = arguments.append(contentsOf: [excludingSource]) }
                _ = arguments.append(contentsOf: [limit + 1])
                changes = try Self.fetchChanges(db, sql: sql, arguments: arguments, limit: limit + 1)
            }
            let hasMore = changes.count > limit
            if hasMore { changes.removeLast() }
            // Nothing more matches: the cursor moves past whatever was skipped, up to the newest
            // change of this snapshot (the read sees one consistent state of the database).
            let next = hasMore ? changes[changes.count - 1].seq : max(since, try Int64.fetchOne(db, sql: "SELECT max(seq) FROM record") ?? 0)
            return ChangeBatch(changes: changes, nextSince: next, hasMore: hasMore)
        }
    }

    /// The changes a `SELECT seq, collection, id, state, source` returns, read in place by column
    /// position (a lookup by name costs a lowercased copy of it per column per row).
    private static func fetchChanges(_ db: Database, sql: String, arguments: StatementArguments, limit: Int) throws -> [Change] {
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        var changes: [Change] = []
        changes.reserveCapacity(min(limit, 1024))
        while let row = try rows.next() {
            changes.append(Change(seq: row[0], collection: row[1], id: row[2], stateText: row[3], source: row[4]))
        }
        return changes
    }
}
