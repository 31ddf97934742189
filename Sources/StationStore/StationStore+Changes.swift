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
    /// back to it; `collections`, when given, keeps only changes of those collections (a
    /// station's read permission). Both filters run in SQL before the limit, so a page is full
    /// whenever enough changes match, however many are skipped; when no more match, the cursor
    /// moves past the skipped ones to the newest sequence, and the next call starts from there.
    public func changes(since: Int64, limit: Int, excludingSource: String? = nil, collections: Set<String>? = nil) throws -> ChangeBatch {
        precondition(limit > 0)
        var conditions = ["seq > ?"]
        var arguments: StatementArguments = [since]
        if let excludingSource {
            conditions.append("(source IS NULL OR source <> ?)")
            _ = arguments.append(contentsOf: [excludingSource])
        }
        if let collections {
            conditions.append("collection IN (\(Array(repeating: "?", count: collections.count).joined(separator: ",")))")
            _ = arguments.append(contentsOf: StatementArguments(collections.sorted()))
        }
        _ = arguments.append(contentsOf: [limit + 1])
        let sql = "SELECT seq, collection, id, state, source FROM record WHERE \(conditions.joined(separator: " AND ")) ORDER BY seq LIMIT ?"
        return try read { db in
            // Read in place, by column position (a lookup by name costs a lowercased copy of it
            // per column per row).
            let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
            var changes: [Change] = []
            changes.reserveCapacity(min(limit, 1024))
            var hasMore = false
            while let row = try rows.next() {
                guard changes.count < limit else {
                    hasMore = true
                    break
                }
                changes.append(Change(seq: row[0], collection: row[1], id: row[2], stateText: row[3], source: row[4]))
            }
            // Nothing more matches: the cursor moves past whatever was skipped, up to the newest
            // change of this snapshot (the read sees one consistent state of the database).
            let next = hasMore ? changes[changes.count - 1].seq : max(since, try Int64.fetchOne(db, sql: "SELECT max(seq) FROM record") ?? 0)
            return ChangeBatch(changes: changes, nextSince: next, hasMore: hasMore)
        }
    }
}
