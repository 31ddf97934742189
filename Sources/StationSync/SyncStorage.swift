import Logging
import StationCore
import StationStore

/// What the sync layer needs from a node's storage, on either side of a sync. The SQLite
/// ``StationStore`` implements it; a PostgreSQL hub store would implement the same.
public protocol SyncStorage: Sendable {
    /// This node's name.
    var node: NodeID { get }
    /// The name this database writes under (``node`` with its incarnation, see `NodeID`): sent
    /// with pushes and pulls, so a peer records it as the source of what it pushed and leaves
    /// exactly that out of its pulls (an earlier incarnation's writes, after a reinstall or a
    /// restore, come back).
    var writer: NodeID { get }
    /// The writer names this database wrote under before (restored or copied), oldest first.
    var lineage: [NodeID] { get }
    /// A random id of this database, so peers notice when it is replaced.
    var databaseID: String { get }
    /// The collections and their policies.
    var schema: Schema { get }

    /// The highest change-feed sequence so far.
    func lastSequence() throws -> Int64
    /// Changes after `since` in sequence order, a page ending at `limit` changes or at `maxBytes`
    /// of states (see ``StationStore/changes(since:limit:excludingSource:collections:maxBytes:)``).
    func changes(since: Int64, limit: Int, excludingSource: String?, collections: Set<String>?, maxBytes: Int) throws -> ChangeBatch
    /// Merges incoming states from `peer` in one transaction. `check`, when given, runs inside it,
    /// before each merge, with the state stored so far; if it or any merge throws, nothing
    /// changes. When `cursor` is given (a batch pulled from `peer`) it is stored as the pulled
    /// checkpoint for `peer` in the same transaction, and the commit need not wait for the disk:
    /// what a power cut takes, it takes with its cursor, and it is pulled again. A push (no
    /// cursor) is durable before this returns: the peer then moves its checkpoint past it.
    /// `claim`, for a push from a station's token, is checked first in the same transaction
    /// (``WriteTransaction/claimWriter(_:)``): it throws ``WriterRefusal`` when another database
    /// writes as that node.
    func apply(
        _ changes: [IncomingChange], from peer: String, cursor: String?, claim: WriterClaim?,
        check: ((IncomingChange, RecordState?) throws -> Void)?
    ) throws -> [MergeResult]
    /// Records a push refused by ``WriterRefusal`` (for the operator).
    func noteRefusedWriter(_ refusal: WriterRefusal)
    /// The state this node holds of a record, nil when it holds none (read outside any write).
    func state(of key: RecordKey) throws -> RecordState?

    /// Sync progress with `peer`.
    func checkpoint(peer: String) throws -> Checkpoint
    /// The records `peer` answered `waiting` for, in key order after `after`, with their current
    /// states (see ``StationStore/waitingChanges(peer:after:limit:)``).
    func waitingChanges(peer: String, after: RecordKey?, limit: Int) throws -> [Change]
    /// Records `peer` answered `waiting` for, and records it took that were waiting.
    func updateWaiting(peer: String, waiting: [RecordKey], taken: [RecordKey]) throws
    /// Whether own versions are kept (records as this node wrote them, see ``StationStore/waitingChanges(peer:after:limit:)``).
    func hasOwnVersions() throws -> Bool
    /// Drops one own version (a peer took it).
    func dropOwnVersion(_ n: Int64) throws
    /// Drops every own version of these records.
    func dropOwnVersions(_ keys: [RecordKey]) throws
    /// How many records wait for `peer`.
    func waitingCount(peer: String) throws -> Int
    /// Records that local changes up to `seq` reached `peer`.
    func setPushed(_ seq: Int64, peer: String) throws
    /// Records whether `peer` lets this node bring others' writes it has not seen (its session's `relay`).
    func setPeerMayRelay(_ relay: Bool, peer: String) throws
    /// Records whether `peer` proved at its session that it holds this node's token (a hub this
    /// node syncs with by its token; see ``PeerSession/provenByToken``).
    func setPeerProvenByToken(_ proven: Bool, peer: String) throws
    /// Starts over with `peer` (first contact, or its database was replaced).
    func resetCheckpoint(peer: String, peerDatabase: String) throws
    /// Adds what `additions` declares to the schema (the caller checked they agree), noting
    /// `peer` as where new collections came from.
    func extendSchema(with additions: Schema, from peer: String?) throws
    /// Puts the schema back as it was before a sync's additions (the sync failed and kept nothing
    /// that needs them): collections it added go if they hold no record.
    func restoreSchema(_ schema: Schema) throws
    /// The bearer token with this id.
    func token(id: String) throws -> StoredToken?
    /// How many records hold at least one conflict.
    func conflictedRecordCount() throws -> Int
    /// Notes what a station did here (for the hub's dashboard). May be written later, in the
    /// background: it must not make a sync request wait.
    func noteActivity(station: String, pulledThrough: Int64?, pushed: Int?)
    /// Writes the activity noted so far (when the node stops).
    func flushActivity() throws
    /// Notes how far ahead (positive) or behind a station's clock was at its last session.
    func noteClockOffset(station: String, milliseconds: Int64)
    /// This node's wall clock, ms since 1970.
    func wallTime() -> UInt64
}

/// A change received from a peer, decoded and validated against the local schema.
public struct IncomingChange: Sendable, Equatable {
    public var collection: String
    public var id: String
    public var state: RecordState
    /// The state's canonical JSON, when encoded already: stored as is if the state is kept whole
    /// (see ``WriteTransaction/merge(_:_:_:from:encoded:)``).
    public var encoded: [UInt8]?

    public init(collection: String, id: String, state: RecordState, encoded: [UInt8]? = nil) {
        self.collection = collection
        self.id = id
        self.state = state
        self.encoded = encoded
    }

    /// A change received in a message, decoded and validated for `collection`, with its canonical
    /// encoding (the message's bytes when they are exactly that, else encoded now). The receiver
    /// does this on the thread that reads the message, in parallel with other work, so the write
    /// transaction (one at a time per database) only stores the bytes.
    public init(_ change: WireChange, collection: CollectionSchema) throws(CoreError) {
        // Past the size a state may take: left out before anything is decoded.
        let size = change.stateBytes.count
        guard size <= Limits.stateBytes else { throw Limits.stateTooLarge(size, collection: change.collection, id: change.id) }
        let (state, encoded) = try change.decodeStateAndEncoding(collection: collection)
        self.init(collection: change.collection, id: change.id, state: state, encoded: encoded)
    }
}

extension StationStore: SyncStorage {
    public func state(of key: RecordKey) throws -> RecordState? {
        try record(key.collection, key.id)?.state
    }

    public func apply(
        _ changes: [IncomingChange], from peer: String, cursor: String?, claim: WriterClaim?,
        check: ((IncomingChange, RecordState?) throws -> Void)?
    ) throws -> [MergeResult] {
        // Grouped: concurrent pushes at a hub share one commit.
        try writeGrouped(durable: cursor == nil) { tx in
            if let claim { try tx.claimWriter(claim) }
            var results: [MergeResult] = []
            results.reserveCapacity(changes.count)
            for change in changes {
                do {
                    results.append(
                        try tx.merge(
                            change.collection, change.id, change.state, from: peer, encoded: change.encoded,
                            check: check.map { check in { local in try check(change, local) } }))
                } catch {
                    // Found before the merge writes anything (see MergeResult.leftOut(by:)): this
                    // record is left as it is, and the others go on. One such record must not hold
                    // up a node's every sync.
                    guard let result = MergeResult.leftOut(by: error) else { throw error }
                    if result != .waiting { Logger(label: "stationsync.sync").warning("\(error)", metadata: ["from": "\(peer)"]) }
                    results.append(result)
                }
            }
            if let cursor { try tx.setPulledCursor(cursor, peer: peer) }
            return results
        }
    }
}

extension MergeResult {
    /// The result of a received change that was left out, by the error its check or merge
    /// threw; nil for an error that refuses the whole request. The one place that says which
    /// refusals hold back only their record: a push, a pull and a change file share it.
    /// - `waiting`: writes of other nodes this node has not seen, from a caller that may not relay;
    /// - `collision`: a write this node holds under the same dot with other content;
    /// - `over_limit`: joined with the version held, more than a state may hold;
    /// - `ahead`: another node's write stamped too far ahead of this node's clock;
    /// - `refused`: a relayed state that rewrites or drops what this node holds (a pull), or one
    ///   whose join with the version held would be inconsistent (one of the two dropped a total
    ///   the other's stocktake saw).
    public static func leftOut(by error: any Error) -> MergeResult? {
        if let error = error as? SyncError {
            switch error.code {
            case .unseenWrites: return .waiting
            case .dotCollision: return .collision
            case .writeAhead: return .ahead
            case .refusedChange: return .refused
            default: return nil
            }
        }
        if let error = error as? CoreError {
            switch error.code {
            case .dotCollision: return .collision
            case .tooManyWriters: return .overLimit
            case .inconsistentJoin: return .refused
            case .beyondLimit: return .overLimit
            default: return nil
            }
        }
        return nil
    }
}

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
