import StationCore

// The station's own records as its people and programs use them: the records API and the
// clerk's page (StationServer) over this port, a station's storage (StationStore) under it.
// Local writes name their author; reads show what reads show (the view); queries, search and
// history are the command line's, answered by the same code.

/// One page of a query's answer.
public struct QueryPage: Sendable {
    /// The records, in the query's order.
    public var records: [StoredRecord]
    /// The cursor of the next page (`--after`), nil when this one is the last.
    public var next: String?
    /// How it was answered, for `--explain`: an index's range, or a scan of the collection.
    public var plan: String

    public init(records: [StoredRecord], next: String?, plan: String) {
        self.records = records
        self.next = next
        self.plan = plan
    }
}

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

    public init(number: Int64, storedAt: UInt64, peer: String?, entry: JSONValue) {
        self.number = number
        self.storedAt = storedAt
        self.peer = peer
        self.entry = entry
    }

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

/// A person who may use the station's records API and page (`station user add NAME`): the name
/// every write they make is authored by.
public struct LocalUser: Sendable, Equatable {
    public var name: String
    /// When the user was added (ISO 8601).
    public var createdAt: String

    public init(name: String, createdAt: String) {
        self.name = name
        self.createdAt = createdAt
    }
}

/// What the records API and the page ask of a station's storage. Every write is one local write
/// (one transaction) made by `author`; a refusal throws and changes nothing.
public protocol LocalRecords: Sendable {
    var schema: Schema { get }
    /// This database's node.
    var node: NodeID { get }

    /// The user a records-API token belongs to, or nil for a token no user holds.
    func user(holdingToken token: String) async throws -> LocalUser?

    func record(_ collection: String, _ id: String) async throws -> StoredRecord?
    /// Sets the given fields and keeps the others (`station put`); with `replacing`, the record
    /// holds exactly the given fields afterwards: every other field it shows is unset (counters
    /// are kept: a count is set by giving it).
    func writeRecord(
        _ collection: String, _ id: String, _ values: [String: JSONValue], replacing: Bool, author: String?
    ) async throws
        -> LocalWrite
    /// Adds to a counter; a record that does not exist is refused unless `create`.
    func addToCounter(
        _ collection: String, _ id: String, field: String, amount: Int64, create: Bool, author: String?
    ) async throws
        -> RecordState
    /// Deletes; nil when the record already reads as deleted.
    func deleteRecord(_ collection: String, _ id: String, author: String?) async throws -> RecordState?
    func findRecords(_ collection: String, _ query: RecordQuery, after: RecordQuery.Position?, limit: Int) async throws -> QueryPage
    func searchRecords(_ collection: String, _ text: String, after: String?, limit: Int) async throws -> QueryPage
    func recordHistory(_ collection: String, _ id: String, after: Int64?, limit: Int) async throws -> [StoredHistoryEntry]
    func conflictReports(collection: String?, status: ConflictReport.Status?) async throws -> [ConflictReport]
    func conflictReport(id: String) async throws -> ConflictReport?
    func resolveConflict(id: String, _ choice: RecordState.ResolutionChoice, person: String?) async throws -> ConflictReport
    /// The highest change-feed sequence so far.
    func lastSequence() async throws -> Int64
    /// The records changed after `since`, each once at its latest, at most `limit`, in sequence
    /// order; and the sequence to ask after next.
    func changedRecords(since: Int64, limit: Int) async throws -> (records: [StoredRecord], next: Int64)
}
