import Foundation
import StationCore
import StationSync
import Synchronization

/// A node's storage held in memory: records with their versions, the change feed, checkpoints,
/// waiting records and own versions, tokens, station activity and the databases that write as
/// each node, behind the same ports as the SQLite store (`SyncStorage`, `HubStorage`), with the
/// same merge rule (``ReceivedMerge``, ``OwnVersions``, ``WriterClaim/decide(against:)``).
///
/// For tests and simulations that need many nodes and many syncs fast, and as the second
/// backend of the conformance suite every backend passes. Nothing is kept when the process ends;
/// ``copy(renewing:)`` makes what a restored backup or a copied file is on disk.
///
/// Every operation holds one lock for the time its work takes (it never waits for anything
/// else); a write transaction changes the state in place and undoes what it did if it throws,
/// so it keeps everything or nothing, and it costs what it changes, not what the store holds.
public final class MemoryStore: Sendable {
    /// This node's name.
    public let node: NodeID
    /// The name this store writes under (``node`` with its incarnation).
    public let writer: NodeID
    /// The writer names this store's data was written under before (copies), oldest first.
    public let lineage: [NodeID]
    /// A random id of this store, so peers notice when it is replaced.
    public let databaseID: String
    /// The collections and their policies.
    public var schema: Schema { state.withLock { $0.schema } }
    /// Whether this is a hub's store (as `hub init` makes): it keeps no own versions.
    public let servesAsHub: Bool

    let state: Mutex<MemoryState>
    let physicalClock: @Sendable () -> UInt64

    /// Milliseconds since 1970 from the system clock.
    public static let systemClock: @Sendable () -> UInt64 = { UInt64(max(0, Date().timeIntervalSince1970 * 1000)) }

    /// A new, empty store for `node`. `incarnation` names its writes (`NODE.INCARNATION`; nil:
    /// the bare node name), as `station init` gives a new database one.
    public init(
        node: NodeID, schema: Schema, incarnation: String? = nil, servesAsHub: Bool = false,
        clock: @escaping @Sendable () -> UInt64 = MemoryStore.systemClock
    ) throws(CoreError) {
        if let incarnation, !NodeID.isValidIncarnation(incarnation) {
            throw CoreError(.invalidNodeName, "incarnation \"\(incarnation)\" must be 1-12 characters of a-z and 0-9")
        }
        self.node = node
        self.servesAsHub = servesAsHub
        writer = NodeID(node: node, incarnation: incarnation)
        lineage = []
        databaseID = MemoryStore.makeDatabaseID()
        state = Mutex(MemoryState(schema: schema))
        physicalClock = clock
    }

    private init(
        node: NodeID, writer: NodeID, lineage: [NodeID], databaseID: String, servesAsHub: Bool, state: MemoryState,
        clock: @escaping @Sendable () -> UInt64
    ) {
        self.node = node
        self.servesAsHub = servesAsHub
        self.writer = writer
        self.lineage = lineage
        self.databaseID = databaseID
        self.state = Mutex(state)
        physicalClock = clock
    }

    /// A copy of this store as it is now. With `renewing` (what a database found restored from
    /// a backup or copied does on disk), the copy takes a new database id and writes under the new
    /// incarnation given, this store's writer joining its lineage; without, it is the same
    /// database (a backup taken while this one is kept aside, to restore later with renewal).
    public func copy(renewing incarnation: String? = nil, clock: (@Sendable () -> UInt64)? = nil) -> MemoryStore {
        let snapshot = state.withLock { $0 }
        guard let incarnation else {
            return MemoryStore(
                node: node, writer: writer, lineage: lineage, databaseID: databaseID, servesAsHub: servesAsHub, state: snapshot,
                clock: clock ?? physicalClock)
        }
        return MemoryStore(
            node: node, writer: NodeID(node: node, incarnation: incarnation), lineage: lineage + [writer],
            databaseID: MemoryStore.makeDatabaseID(), servesAsHub: servesAsHub, state: snapshot, clock: clock ?? physicalClock)
    }

    /// This node's wall clock, ms since 1970.
    public func wallTime() -> UInt64 { physicalClock() }

    /// A random database id: 32 hex digits.
    static func makeDatabaseID() -> String {
        (0..<16).map { _ in
            let s = String(UInt8.random(in: 0...255), radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }
}

/// Everything a ``MemoryStore`` holds.
struct MemoryState: Sendable {
    var schema: Schema
    /// Where each collection came from: nil for the store's own schema, else the peer that added it.
    var addedBy: [String: String] = [:]
    /// The records, changed only through ``setRecord(_:_:)`` (which keeps the tallies below).
    private(set) var records: [RecordKey: MemoryRecord] = [:]
    /// Records with open conflicts.
    private(set) var conflictedRecords = 0
    /// Per collection, its records alive and deleted.
    private(set) var tally: [String: (alive: Int, deleted: Int)] = [:]
    /// Per collection, the keys of its records (so a collection is read without the others).
    private(set) var keysByCollection: [String: Set<RecordKey>] = [:]
    /// The records with open conflicts or resolutions (what conflict reports read).
    private(set) var keysWithConflicts: Set<RecordKey> = []
    /// The change feed: the record whose latest change has each sequence.
    var feed: [Int64: RecordKey] = [:]
    /// The feed's sequences in order, with those no longer in ``feed`` (superseded by a later
    /// change of their record) left in until ``compactFeed()`` drops them.
    var feedOrder: [Int64] = []
    /// ``feedOrder`` per collection: a page of some collections reads only theirs.
    var feedOrderByCollection: [String: [Int64]] = [:]
    var lastSequence: Int64 = 0
    var clock = HybridLogicalClock(last: HLCTimestamp(rawValue: 0))
    var peers: [NodeID: PeerProgress] = [:]
    /// Per peer: the records it answered `waiting` for.
    var waiting: [NodeID: SortedRecordKeys] = [:]
    /// Own versions by number (see ``OwnVersions``), and each record's numbers in order.
    var ownVersions: [Int64: (key: RecordKey, state: RecordState)] = [:]
    var ownVersionsByRecord: [RecordKey: [Int64]] = [:]
    var lastOwnVersion: Int64 = 0
    var tokens: [String: StoredToken] = [:]
    var activity: [String: ActivityNote] = [:]
    var writers: [String: NodeWriter] = [:]
    var sessions: [String: SessionRow] = [:]

    init(schema: Schema) { self.schema = schema }

    /// Stores (or, with nil, removes) the record `key`, keeping the tallies: so a count costs
    /// nothing however many records there are. Returns what was there.
    @discardableResult
    mutating func setRecord(_ key: RecordKey, _ record: MemoryRecord?) -> MemoryRecord? {
        let previous = record.map { records.updateValue($0, forKey: key) } ?? records.removeValue(forKey: key)
        for (r, sign) in [(previous, -1), (record, 1)] {
            guard let r else { continue }
            if r.conflicts > 0 { conflictedRecords += sign }
            if r.deleted { tally[key.collection, default: (0, 0)].deleted += sign } else { tally[key.collection, default: (0, 0)].alive += sign }
        }
        if let record {
            keysByCollection[key.collection, default: []].insert(key)
            if record.conflicts > 0 || !record.state.resolutions.isEmpty {
                keysWithConflicts.insert(key)
            } else {
                keysWithConflicts.remove(key)
            }
        } else {
            keysByCollection[key.collection]?.remove(key)
            keysWithConflicts.remove(key)
        }
        return previous
    }

    /// Drops the superseded sequences from ``feedOrder`` once they outnumber the live ones.
    mutating func compactFeed() {
        guard feedOrder.count > 2 * feed.count + 1024 else { return }
        feedOrder = feed.keys.sorted()
        feedOrderByCollection = [:]
        for seq in feedOrder { feedOrderByCollection[feed[seq]!.collection, default: []].append(seq) }
    }

    /// Appends `seq`, the latest change of `key`, to the feed's orders.
    mutating func appendToFeed(_ seq: Int64, _ key: RecordKey) {
        feed[seq] = key
        feedOrder.append(seq)
        feedOrderByCollection[key.collection, default: []].append(seq)
    }

    /// Takes back the last ``appendToFeed(_:_:)`` (of `key`).
    mutating func takeBackFromFeed(_ seq: Int64, _ key: RecordKey) {
        feedOrder.removeLast()
        feedOrderByCollection[key.collection]?.removeLast()
        feed[seq] = nil
    }

    /// The index in ``feedOrder`` of the first sequence after `since`.
    func feedIndex(after since: Int64) -> Int {
        Self.index(in: feedOrder, after: since)
    }

    /// The index in `order` (ascending) of the first sequence after `since`.
    static func index(in order: [Int64], after since: Int64) -> Int {
        var low = 0
        var high = order.count
        while low < high {
            let mid = (low + high) / 2
            if order[mid] <= since { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// The feed's sequences after `since`, in order: all of them, or those of `collections`
    /// (merged from their own orders, so the others are not walked).
    func feedSequences(after since: Int64, collections: Set<String>?) -> AnyIterator<Int64> {
        guard let collections else {
            var index = feedIndex(after: since)
            let order = feedOrder
            return AnyIterator {
                guard index < order.count else { return nil }
                defer { index += 1 }
                return order[index]
            }
        }
        var heads = collections.compactMap { name -> (order: [Int64], at: Int)? in
            guard let order = feedOrderByCollection[name] else { return nil }
            let at = Self.index(in: order, after: since)
            return at < order.count ? (order, at) : nil
        }
        return AnyIterator {
            var best: Int?
            for (i, head) in heads.enumerated() where best == nil || head.order[head.at] < heads[best!].order[heads[best!].at] {
                best = i
            }
            guard let best else { return nil }
            let seq = heads[best].order[heads[best].at]
            heads[best].at += 1
            if heads[best].at == heads[best].order.count { heads.remove(at: best) }
            return seq
        }
    }
}

/// A record as a ``MemoryStore`` holds it.
struct MemoryRecord: Sendable {
    var state: RecordState
    /// The state's canonical JSON (what the feed serves).
    var text: String
    var seq: Int64
    var source: String?
    var deleted: Bool
    var conflicts: Int
}

/// What a ``MemoryStore`` keeps of its sync with one peer.
struct PeerProgress: Sendable {
    var checkpoint = Checkpoint(pushed: 0, pulled: .beginning)
    /// What the peer's session said of relaying, nil before it said.
    var mayRelay: Bool?
}

/// An operator's dashboard session.
struct SessionRow: Sendable {
    var tokenID: String
    var csrf: String
    var expiresAt: String
    var flash: String?
}
