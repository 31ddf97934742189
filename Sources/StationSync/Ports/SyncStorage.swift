import StationCore

// The storage a sync needs, in the sync engine's own types, as the roles it plays. The engine
// and the serving side (`SyncService`) depend on these protocols only; a backend conforms to
// them (today SQLite, `StationStore`; an in-memory store and the hub's PostgreSQL store are the
// next). Every call is async: a backend may wait for its database without holding a thread.

/// A node's identity and its change feed, read by the pushing side of a sync and by pulls.
public protocol ChangeFeed: Sendable {
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
    /// This node's wall clock, ms since 1970.
    func wallTime() -> UInt64

    /// The highest change-feed sequence so far.
    func lastSequence() async throws -> Int64
    /// Changes after `since` in sequence order: a page of at most `limit` changes, ending at the
    /// change whose state brings the page to `maxBytes` (a larger state goes alone), without
    /// those whose last change came from `excludingSource`, and only of `collections` when given.
    func changes(since: Int64, limit: Int, excludingSource: String?, collections: Set<String>?, maxBytes: Int) async throws -> ChangeBatch
    /// The state this node holds of a record, nil when it holds none (read outside any write).
    func state(of key: RecordKey) async throws -> RecordState?
    /// How many records hold at least one conflict.
    func conflictedRecordCount() async throws -> Int
}

/// Where received changes go: merged with what the node holds, atomically.
public protocol ChangeSink: ChangeFeed {
    /// Merges incoming states from `peer` in one transaction. `check`, when given, runs inside it,
    /// before each merge, with the state stored so far (so it must not call the storage: a backend
    /// may hold its lock, as the in-memory one does); if it or any merge throws (but for the
    /// refusals that leave out only their record, ``MergeResult/leftOut(by:)``), nothing
    /// changes. When `cursor` is given (a batch pulled from `peer`) it is stored as the pulled
    /// checkpoint for `peer` in the same transaction, and the commit need not wait for the disk:
    /// what a power cut takes, it takes with its cursor, and it is pulled again. A push (no
    /// cursor) is durable before this returns: the peer then moves its checkpoint past it.
    /// `claim`, for a push from a station's token, is checked first in the same transaction
    /// (see ``WriterClaim``): it throws ``WriterRefusal`` when another database writes as that
    /// node. A database that cannot take writes now throws ``SyncError`` `unavailable`.
    func apply(
        _ changes: [IncomingChange], from peer: NodeID, cursor: FeedCursor?, claim: WriterClaim?,
        check: (@Sendable (IncomingChange, RecordState?) throws -> Void)?
    ) async throws -> [MergeResult]
    /// Adds what `additions` declares to the schema (the caller checked they agree), noting
    /// `peer` as where new collections came from.
    func extendSchema(with additions: Schema, from peer: NodeID?) async throws
    /// Puts the schema back as it was before a sync's additions (the sync failed and kept nothing
    /// that needs them): collections it added go if they hold no record.
    func restoreSchema(_ schema: Schema) async throws
}

/// What a node keeps of its sync with each peer: how far it pushed and pulled, and the records
/// the peer did not take yet.
public protocol CheckpointStore: Sendable {
    /// Sync progress with `peer` (zeroes before the first sync).
    func checkpoint(peer: NodeID) async throws -> Checkpoint
    /// Records that local changes up to `seq` reached `peer`.
    func setPushed(_ seq: Int64, peer: NodeID) async throws
    /// Records whether `peer` lets this node bring others' writes it has not seen (its session's `relay`).
    func setPeerMayRelay(_ relay: Bool, peer: NodeID) async throws
    /// Records whether `peer` proved at its session that it holds this node's token (a hub this
    /// node syncs with by its token; see ``PeerSession/provenByToken``).
    func setPeerProvenByToken(_ proven: Bool, peer: NodeID) async throws
    /// Starts over with `peer` (first contact, or its database was replaced), in one
    /// transaction: both positions back to the beginning, nothing waits, and nothing is left
    /// behind but ``LeftBehind/sendsBack``, set when `sendsBack` is or when it was set already
    /// (a push of everything had not finished; an ``LeftBehind/unreadable`` value counts as set).
    func resetCheckpoint(peer: NodeID, peerDatabase: String, sendsBack: Bool) async throws
    /// Applies `update` to what is stored as left behind with `peer`'s checkpoint (``LeftBehind``),
    /// reading and writing it in one transaction, durably: the positions move past what it adds
    /// only after. A stored value that is ``LeftBehind/unreadable`` is kept as it is.
    func updateLeftBehind(peer: NodeID, _ update: LeftBehind.Update) async throws
    /// Moves `peer`'s positions back to sync again what `update` takes out of what is left
    /// behind, in one transaction with applying it: the push position to `pushed` (nil: kept),
    /// the pull position to the beginning when `pullAgain`. A sync cut short after this goes on
    /// from where the positions then are, not from the beginning again.
    func rewind(peer: NodeID, pushed: Int64?, pullAgain: Bool, update: LeftBehind.Update) async throws
    /// The records `peer` answered `waiting` for, in key order after `after`, with their current
    /// states, or the oldest version this node wrote of them when it kept one (``Change/ownVersion``).
    func waitingChanges(peer: NodeID, after: RecordKey?, limit: Int) async throws -> [Change]
    /// Records `peer` answered `waiting` for, and records it took that were waiting.
    func updateWaiting(peer: NodeID, waiting: [RecordKey], taken: [RecordKey]) async throws
    /// How many records wait for `peer`.
    func waitingCount(peer: NodeID) async throws -> Int
    /// Whether own versions are kept (records as this node wrote them, while they wait).
    func hasOwnVersions() async throws -> Bool
    /// Drops one own version (a peer took it).
    func dropOwnVersion(_ n: Int64) async throws
    /// Drops every own version of these records.
    func dropOwnVersions(_ keys: [RecordKey]) async throws
}

/// What the serving side keeps of its callers: their tokens, what they did, and refused writers.
public protocol CallerRecords: Sendable {
    /// The bearer token with this id.
    func token(id: String) async throws -> StoredToken?
    /// Notes what a station did here (for the hub's dashboard). May be written later, in the
    /// background: it must not make a sync request wait.
    func noteActivity(station: String, pulledThrough: Int64?, pushed: Int?)
    /// Notes how far ahead (positive) or behind a station's clock was at its last session.
    func noteClockOffset(station: String, milliseconds: Int64)
    /// Writes the activity noted so far (when the node stops).
    func flushActivity() async throws
    /// Records a push refused by ``WriterRefusal`` (for the operator).
    func noteRefusedWriter(_ refusal: WriterRefusal) async
}

/// Everything a node's storage does for the sync engine and the serving side.
public protocol SyncStorage: ChangeSink, CheckpointStore, CallerRecords {}

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
    /// does this in the task that reads the message, in parallel with other work, so the write
    /// transaction (one at a time per database) only stores the bytes.
    public init(_ change: WireChange, collection: CollectionSchema) throws(CoreError) {
        // Past the size a state may take: left out before anything is decoded.
        let size = change.stateBytes.count
        guard size <= Limits.stateBytes else { throw Limits.stateTooLarge(size, collection: change.collection, id: change.id) }
        let (state, encoded) = try change.decodeStateAndEncoding(collection: collection)
        self.init(collection: change.collection, id: change.id, state: state, encoded: encoded)
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

extension CheckpointStore {
    /// Starts over with `peer`, sending back only what was to be sent back already.
    public func resetCheckpoint(peer: NodeID, peerDatabase: String) async throws {
        try await resetCheckpoint(peer: peer, peerDatabase: peerDatabase, sendsBack: false)
    }
}
