import StationSync
import Foundation
import GRDB
import StationCore

extension StationStore {
    /// The highest sequence stamped so far (0 for an empty database).
    public func lastSequence() throws -> Int64 {
        try read { db in try Int64.fetchOne(db, sql: Self.lastSequenceSQL) ?? 0 }
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
    ///
    /// A page also ends at the change that brings its states to `maxBytes` (a state larger than
    /// that goes alone): pages are bounded by bytes as well as by count (``Limits/pageBytes``).
    public func changes(
        since: Int64, limit: Int, excludingSource: String? = nil, collections: Set<String>? = nil, maxBytes: Int = Limits.pageBytes
    ) throws -> ChangeBatch {
        precondition(limit > 0)
        let page = PageCut(limit: limit, maxBytes: maxBytes)
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
                    changes += try Self.fetchChanges(db, sql: sql, arguments: arguments, page: page)
                }
                // Each collection's range ends at the change its own count or bytes stop at, and
                // the merged page reaches each such change no later (it holds at least as many
                // changes and bytes before it): nothing of a range is missing below the cut.
                // (The first change past the page stays, to tell that more follow.)
                changes.sort { $0.seq < $1.seq }
                changes.removeSubrange(min(changes.count, page.end(of: changes) + 1)...)
            } else {
                let sql = "SELECT seq, collection, id, state, source FROM record WHERE seq > ?\(source) ORDER BY seq LIMIT ?"
                var arguments: StatementArguments = [since]
                if let excludingSource { _ = arguments.append(contentsOf: [excludingSource]) }
                _ = arguments.append(contentsOf: [limit + 1])
                changes = try Self.fetchChanges(db, sql: sql, arguments: arguments, page: page)
            }
            // The change past the page, read to know whether more follow, is dropped.
            let end = page.end(of: changes)
            let hasMore = changes.count > end
            if hasMore { changes.removeSubrange(end...) }
            // Nothing more matches: the cursor moves past whatever was skipped, up to the newest
            // change of this snapshot (the read sees one consistent state of the database).
            let next = hasMore ? changes[changes.count - 1].seq : max(since, try Int64.fetchOne(db, sql: Self.lastSequenceSQL) ?? 0)
            return ChangeBatch(changes: changes, nextSince: next, hasMore: hasMore)
        }
    }

    /// The changes a `SELECT seq, collection, id, state, source` returns, read in place by column
    /// position (a lookup by name costs a lowercased copy of it per column per row).
    /// Reads until the first change past `page` (included, to tell that more follow).
    private static func fetchChanges(_ db: Database, sql: String, arguments: StatementArguments, page: PageCut) throws -> [Change] {
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        var changes: [Change] = []
        changes.reserveCapacity(min(page.limit + 1, 1024))
        var bytes = 0
        while let row = try rows.next() {
            let change = Change(seq: row[0], collection: row[1], id: row[2], stateText: row[3], source: row[4])
            let inPage = page.takes(index: changes.count, bytesBefore: bytes)
            changes.append(change)
            if !inPage { break }
            bytes += change.stateText.utf8.count
        }
        return changes
    }
}
