import GRDB
import StationCore
import StationSync

/// One entry of a record's history as this node stored it (see ``HistoryEntry``).
public struct StoredHistoryEntry: Sendable, Equatable {
    /// The entry's number: entries are numbered in the order this node stored them.
    public var number: Int64
    /// When this node stored the version (ms since 1970, by this node's clock).
    public var storedAt: UInt64
    /// The node a merged version came from; nil for a local write.
    public var peer: String?
    /// The entry (``HistoryEntry/json``): `kind`, `writes`, `changes`, `opened`, `resolved`.
    public var entry: JSONValue

    /// What the entry's kind says (`created`, `updated`, …; see ``HistoryEntry/Kind``).
    public var kind: HistoryEntry.Kind? { entry.objectValue?["kind"]?.stringValue.flatMap(HistoryEntry.Kind.init(rawValue:)) }

    /// The entry with its number, time and peer: `n`, `storedAt` (ms), `peer` (or null) and
    /// the fields of ``entry``.
    public var json: JSONValue {
        var o = entry.objectValue ?? [:]
        o["n"] = .int(number)
        o["storedAt"] = .int(Int64(clamping: storedAt))
        o["peer"] = peer.map { .string($0) } ?? .null
        return .object(o)
    }
}

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
