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
