import GRDB
import StationCore
import StationSync

/// One write transaction on a station database: local writes (put, add, delete) and merges of
/// remote versions, each stamped with the next change-feed sequence. Obtained from
/// ``StationStore/write(_:)``; everything done through it commits or rolls back together.
public final class WriteTransaction {
    let db: Database
    let store: StationStore
    var hlc: HybridLogicalClock
    private let initialHLC: HybridLogicalClock
    /// The sequence the next change gets.
    private(set) var nextSeq: Int64
    /// The sequence the first change of this transaction got.
    private let firstSeq: Int64
    /// The record table's statements (read, insert, update).
    private let rows: RecordRows
    /// Scratch space for the canonical JSON of the states saved, reused by every write.
    private var encoded: [UInt8] = []
    /// Scratch space for the history entries written.
    private var historyEncoded: [UInt8] = []
    /// This node's wall clock (ms since 1970) as last read by this transaction: what its history
    /// entries are stamped with and pruned by. Never the hybrid clock, which a peer's write from a
    /// clock running ahead can carry forward.
    private var lastPhysical: UInt64?

    /// Reads this node's wall clock, and keeps it for the history (``lastPhysical``).
    private func physicalNow() -> UInt64 {
        let now = store.physicalClock()
        lastPhysical = now
        return now
    }
    /// The record this transaction last read or wrote, with its stored state (nil: no row). A sync
    /// reads each incoming record's state to check it (``state(_:_:)``) and then merges into it;
    /// with this the row is read and decoded once. Only this class writes record rows, and every
    /// write replaces the entry, so it is always the row's current content.
    private var lastRecord: (collection: String, id: String, state: RecordState?)?
    /// Whether the last local write created its record: the next one is then tried as new first
    /// (see ``writeCreatingIfNeeded(_:_:_:)``).
    private var lastWriteCreated = false
    /// When this transaction's merges keep own versions (see ``keepOwnVersion(_:_:_:mergingFrom:)``),
    /// worked out at the first merge that needs it.
    /// Per peer: a grouped transaction merges pushes of several.
    private var ownVersionRules: [NodeID?: OwnVersions.Rule] = [:]

    init(db: Database, store: StationStore) throws {
        self.db = db
        self.store = store
        rows = try RecordRows(db)
        let raw = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'hlc'").flatMap { UInt64($0) } ?? 0
        hlc = HybridLogicalClock(last: HLCTimestamp(rawValue: raw))
        initialHLC = hlc
        nextSeq = (try Int64.fetchOne(db, sql: StationStore.lastSequenceSQL) ?? 0) + 1
        firstSeq = nextSeq
    }

    /// The feed sequence of the last change this transaction made, or nil when it made none.
    var lastWrittenSeq: Int64? { nextSeq > firstSeq ? nextSeq - 1 : nil }

    /// Persists the clock if it moved. Called once, at the end of the transaction.
    func finish() throws {
        if hlc != initialHLC {
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'hlc'", arguments: [String(hlc.last.rawValue)])
        }
        if nextSeq > firstSeq { try pruneHistoryIfDue() }
    }

    /// How often the histories are pruned to their horizon.
    static let historyPruneInterval: UInt64 = 3_600_000

    /// Deletes history entries older than their collection's `historyDays`, once an hour at most
    /// (at the end of a transaction that wrote). Entries are numbered in the order they were
    /// written, so the cut is found by reading from the oldest: the work is the entries deleted.
    func pruneHistoryIfDue() throws {
        guard store.keepsHistory else { return }
        // This node's wall clock as the transaction last read it (for its writes or the versions
        // it kept): not the hybrid clock, which a peer's clock running ahead carries forward.
        let now = lastPhysical ?? physicalNow()
        let due = store.historyPrunedAt.withLock { last in
            guard last == 0 || now >= last &+ Self.historyPruneInterval || now < last else { return false }
            last = now
            return true
        }
        guard due else { return }
        for name in store.schema.collectionNames {
            let days = UInt64(store.schema.collections[name]!.keptHistoryDays)
            let horizon = now > days * 86_400_000 ? now - days * 86_400_000 : 0
            // The first entry inside the horizon (of any collection); nil: none is.
            let first = try Int64.fetchOne(
                db, sql: "SELECT n FROM record_history WHERE at >= ? ORDER BY n LIMIT 1", arguments: [Int64(clamping: horizon)])
            try db.execute(
                sql: "DELETE FROM record_history WHERE n < ? AND +collection = ?", arguments: [first ?? Int64.max, name])
        }
    }

    /// Runs `body` in a savepoint: if it throws, what it wrote is rolled back, the transaction
    /// goes on, and the error is rethrown. Group commit keeps its writers apart with this.
    func savepoint<T>(_ body: () throws -> T) throws -> T {
        var result: T?
        let seqBefore = nextSeq
        let hlcBefore = hlc
        do {
            try db.inSavepoint {
                result = try body()
                return .commit
            }
        } catch {
            // Rolled back: the rows may no longer be what this transaction last read or wrote.
            lastRecord = nil
            lastWriteCreated = false
            // The sequences it took are free again: the feed (and the watermark) end where they did.
            nextSeq = seqBefore
            // And the clock is where it was: a refused request moves nothing, the clock included.
            hlc = hlcBefore
            throw error
        }
        return result!
    }

    // MARK: - Local writes

    /// Sets the given fields of a record and keeps the others (creating the record if needed).
    /// A put of what the record already shows writes nothing (``LocalWrite/changed`` is false),
    /// unless `force` (see ``RecordState/put(_:by:at:in:id:how:force:requiringFields:author:)``).
    /// `author` is the person who writes (``Person/checked(_:)``), kept with every value written.
    @discardableResult
    public func put(
        _ collection: String, _ id: String, _ values: [String: JSONValue], force: Bool = false, author: String? = nil
    ) throws -> LocalWrite {
        let c = try store.schema.collection(collection)
        try Names.checkRecordID(id, collection: collection)
        let time = hlc.now(physical: physicalNow())
        return try writeCreatingIfNeeded(c, id) { state in
            try state.put(values, by: store.writer, at: time, in: c, id: id, force: force, author: author) != nil
        }
    }

    /// Adds `amount` to a counter field (creating the record if needed).
    @discardableResult
    public func add(_ collection: String, _ id: String, field: String, amount: Int64, author: String? = nil) throws -> RecordState {
        let c = try store.schema.collection(collection)
        try Names.checkRecordID(id, collection: collection)
        let time = hlc.now(physical: physicalNow())
        return try writeCreatingIfNeeded(c, id) { state in
            try state.add(amount, to: field, by: store.writer, at: time, in: c, id: id, author: author)
            return true
        }.state
    }

    /// A local write that creates the record when it has no row: `change` applied to the stored
    /// state (or to an empty one), saved with the next sequence.
    ///
    /// Writes come in runs: an import or a busy counter creates record after record, a day's edits
    /// update existing ones. After a write that created its record, the next one is first tried as
    /// new: `change` applied to an empty state and INSERTed, which saves the SELECT that would find
    /// nothing. When the record does exist, the INSERT writes nothing and the write is done again
    /// on the stored state; the same `change` (with the same time) gives what it would have given
    /// had the row been read first. A refusal of the first try sends the write on to the stored
    /// state too, so only the second try's refusals are thrown.
    /// `change` returns whether it wrote; one that did not (a put of what the record shows) saves
    /// nothing. On an empty state every write writes.
    private func writeCreatingIfNeeded(
        _ c: CollectionSchema, _ id: String, _ change: (inout RecordState) throws -> Bool
    ) throws -> LocalWrite {
        if triedAsNew(c.name, id) {
            var state = RecordState()
            // A refusal of the write as new is decided again on the stored state below: some
            // depend on the record being new (a required field not given, a count past a bound).
            if (try? change(&state)) != nil, try save(state, collection: c, id: id, source: nil, isNew: true) {
                return LocalWrite(state: state, changed: true)
            }
        }
        let stored = try load(c.name, id)
        var state = stored ?? RecordState()
        guard try change(&state) else {
            lastWriteCreated = false
            return LocalWrite(state: state, changed: false)
        }
        try save(state, collection: c, id: id, source: nil, isNew: stored == nil, previous: stored)
        lastWriteCreated = stored == nil
        return LocalWrite(state: state, changed: true)
    }

    /// Deletes a record (a tombstone that keeps its values). Returns nil when it was already
    /// deleted; throws when it never existed.
    @discardableResult
    public func delete(_ collection: String, _ id: String, author: String? = nil) throws -> RecordState? {
        let c = try store.schema.collection(collection)
        // The core's error, as every backend throws it.
        guard let stored = try load(collection, id) else { throw CoreError(.recordNotFound, "\(collection)/\(id) does not exist") }
        var state = stored
        guard try state.delete(by: store.writer, at: hlc.now(physical: physicalNow()), in: c, id: id, author: author) != nil else {
            return nil
        }
        try save(state, collection: c, id: id, source: nil, isNew: false, previous: stored)
        return state
    }

    // MARK: - Remote versions

    /// Merges a version received from `peer` (nil: unknown origin). The version is validated
    /// against the schema first; an invalid one throws and, the caller rolling back, changes nothing.
    ///
    /// The stored change remembers `peer` as its source only when the stored state is exactly the
    /// one received (created or applied), so it is not echoed back; a join is new to the peer.
    ///
    /// Like local writes, merges come in runs: after one that created its record (an initial
    /// sync), the next is first tried as new, which saves the read that would find nothing; when
    /// the record is there after all, the INSERT writes nothing and the merge goes the usual way.
    ///
    /// `encoded`, when given, is `incoming`'s canonical JSON (made by the caller beforehand, off
    /// the transaction): stored as is when the state is kept whole (created or applied).
    ///
    /// `check`, when given, runs before anything is written, with the state stored so far (nil:
    /// none); if it throws, nothing is written. When the record is tried as new, it runs first as
    /// for an absent record, and if it refuses that, or the record is there after all, again with
    /// the stored state: so it always decides on the state the merge starts from.
    @discardableResult
    public func merge(
        _ collection: String, _ id: String, _ incoming: RecordState, from peer: NodeID?, encoded: [UInt8]? = nil,
        check: ((RecordState?) throws -> Void)? = nil
    ) throws -> MergeResult {
        let c = try store.schema.collection(collection)
        // The rule every backend applies (ReceivedMerge): validate, refuse a claim of this
        // database's writes it never made, check, decide.
        try ReceivedMerge.validate(incoming, collection: c, id: id)
        if ReceivedMerge.ownWritesClaimed(by: incoming, receiver: store.writer) > 0 {
            try ReceivedMerge.checkOwnWrites(incoming, held: try load(collection, id), receiver: store.writer, key: RecordKey(collection, id))
        }
        // The clock observes the version's time only when the version is kept (created, applied,
        // merged): one refused, waiting, colliding or already known moves nothing.
        func observe() { hlc.observe(incoming.latestTime, physical: physicalNow()) }
        func passesAsAbsent() -> Bool {
            guard let check else { return true }
            return (try? check(nil)) != nil
        }
        if triedAsNew(c.name, id), !incoming.isEmpty, passesAsAbsent(),
            try save(incoming, collection: c, id: id, source: peer?.rawValue, isNew: true, encoded: encoded, from: peer)
        {
            observe()
            return .created
        }
        let stored = try load(collection, id)
        try check?(stored)
        let decision = try ReceivedMerge.decide(incoming, held: stored, collection: c, id: id)
        guard case .store(let state, let result) = decision else {
            if stored != nil { lastWriteCreated = false }
            return .unchanged
        }
        let whole = decision.keepsReceivedWhole
        let keepsOwnVersion = stored.map { OwnVersions.holdsOwnWrites($0, node: store.node) } ?? false
        // Past the limit, nothing is kept of the merge, an own version neither.
        let checked = keepsOwnVersion ? try ReceivedMerge.checkSize(state, encoded: whole ? encoded : nil, collection: c.name, id: id) : nil
        lastWriteCreated = result == .created
        if let stored, keepsOwnVersion { try keepOwnVersion(stored, collection, id, mergingFrom: peer) }
        try save(
            state, collection: c, id: id, source: whole ? peer?.rawValue : nil, isNew: stored == nil, encoded: checked ?? (whole ? encoded : nil),
            previous: stored, from: peer)
        observe()
        return result
    }

    /// Before a peer's version is merged on top of a record holding this node's own writes that
    /// another peer, one that may not take others' unseen writes from this node (a hub, with a
    /// station token), has not received yet, keeps the record as it is now (an own version, see
    /// StationStore+Waiting.swift): a peer that may not take the writes of others it has not seen
    /// can take this version, and so every node's own writes reach it even when each node's
    /// current state also holds the other's (two stations that synced on the LAN first).
    private func keepOwnVersion(_ state: RecordState, _ collection: String, _ id: String, mergingFrom peer: NodeID?) throws {
        guard OwnVersions.holdsOwnWrites(state, node: store.node) else { return }
        let rule: OwnVersions.Rule
        if let known = ownVersionRules[peer] {
            rule = known
        } else {
            let fromHub = try Bool.fetchOne(db, sql: "SELECT mayRelay = 0 FROM checkpoint WHERE peer IS ?", arguments: [peer]) ?? false
            let pushedToHubs = try Int64.fetchOne(
                db, sql: "SELECT min(pushed) FROM checkpoint WHERE peer IS NOT ? AND mayRelay = 0", arguments: [peer])
            let atAHub = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'role'") == DatabaseRole.hub.rawValue
            rule = .merging(fromHub: fromHub, pushedToOtherHubs: pushedToHubs, atAHub: atAHub)
            ownVersionRules[peer] = rule
        }
        guard
            try OwnVersions.ruleAllows(
                rule, seq: { try Int64.fetchOne(db, sql: "SELECT seq FROM record WHERE collection = ? AND id = ?", arguments: [collection, id]) },
                waitsAtAHub: {
                    try Bool.fetchOne(
                        db,
                        sql: """
                            SELECT EXISTS (SELECT 1 FROM push_waiting w JOIN checkpoint c ON c.peer = w.peer
                                           WHERE c.mayRelay = 0 AND w.collection = ? AND w.id = ?)
                            """,
                        arguments: [collection, id]) ?? false
                })
        else { return }
        let kept = try Row.fetchAll(
            db, sql: "SELECT state FROM own_version WHERE collection = ? AND id = ? ORDER BY n DESC LIMIT ?",
            arguments: [collection, id, OwnVersions.maxPerRecord])
        let newest = kept.first.flatMap { try? RecordState(jsonText: $0["state"]) }
        guard OwnVersions.keeps(state, node: store.node, newestKept: newest, keptCount: kept.count) else { return }
        try db.execute(
            sql: "INSERT INTO own_version (collection, id, state) VALUES (?, ?, ?)", arguments: [collection, id, state.canonicalText])
    }

    /// Records the cursor reached in `peer`'s change feed, in this same transaction as the batch
    /// merged from it, so a crash never separates the two.
    public func setPulledCursor(_ cursor: FeedCursor, peer: NodeID) throws {
        try db.execute(
            sql: """
                INSERT INTO checkpoint (peer, pulled, updatedAt) VALUES (?, ?, datetime('now'))
                ON CONFLICT(peer) DO UPDATE SET pulled = excluded.pulled, updatedAt = excluded.updatedAt
                """,
            arguments: [peer, cursor.text])
    }

    /// Resolves a conflict of a record with one local write (see ``RecordState/resolve(_:_:by:at:in:id:)``).
    @discardableResult
    public func resolve(
        _ collection: String, _ id: String, conflict: String, _ choice: RecordState.ResolutionChoice, person: String? = nil
    ) throws -> RecordState {
        let c = try store.schema.collection(collection)
        guard let stored = try load(collection, id) else { throw CoreError(.recordNotFound, "\(collection)/\(id) does not exist") }
        var state = stored
        try state.resolve(conflict, choice, by: store.writer, at: hlc.now(physical: physicalNow()), in: c, id: id, person: person)
        try save(state, collection: c, id: id, source: nil, isNew: false, previous: stored)
        return state
    }

    // MARK: - Rows

    /// Whether a write to this record is tried as new first (see ``writeCreatingIfNeeded(_:_:_:)``
    /// and ``merge(_:_:_:from:encoded:check:)``): the last write created its record, and this is
    /// not the record last read or written.
    private func triedAsNew(_ collection: String, _ id: String) -> Bool {
        lastWriteCreated && !(lastRecord.map { $0.collection.hasSameBytes(as: collection) && $0.id.hasSameBytes(as: id) } ?? false)
    }

    /// The stored state of a record, or nil.
    func load(_ collection: String, _ id: String) throws -> RecordState? {
        // By bytes: two canonically equivalent ids are two records (String == would take one for the other).
        if let last = lastRecord, last.id.hasSameBytes(as: id), last.collection.hasSameBytes(as: collection) { return last.state }
        let state = try rows.withState(collection, id) { bytes in try RecordState(jsonBytes: bytes) }
        lastRecord = (collection, id, state)
        return state
    }

    /// Writes a record's state with the next sequence: a new row when `isNew` (the record was not
    /// stored when this write loaded it, or it is tried as new), else an update of its row.
    /// Returns false, writing nothing, when a row tried as new was there after all (never for a
    /// record this transaction read as absent: only this class writes record rows).
    /// `encoded`, when given, is the state's canonical JSON, made beforehand.
    @discardableResult
    func save(
        _ state: RecordState, collection: CollectionSchema, id: String, source: String?, isNew: Bool, encoded given: [UInt8]? = nil,
        previous: RecordState? = nil, from peer: NodeID? = nil
    ) throws -> Bool {
        // The index rows and the history entry come from the state this one replaces: an update needs it.
        precondition(isNew || previous != nil, "an update of \(collection.name)/\(id) without the state it replaces")
        if given == nil {
            encoded.removeAll(keepingCapacity: true)
            state.write(to: &encoded)
        }
        // Every path that stores a state comes here: a state past the limit is refused before
        // anything is written (a local write throws, a merge leaves its record out, over_limit).
        let size = given?.count ?? encoded.count
        guard size <= Limits.stateBytes else { throw Limits.stateTooLarge(size, collection: collection.name, id: id) }
        let status = state.status(in: collection)
        let written = try rows.write(
            collection.name, id, state: given ?? encoded,
            RecordRows.Values(
                seq: nextSeq, deleted: status.deleted, conflicted: status.conflicted, conflicts: status.conflicts,
                source: source, resolved: state.resolutions.count),
            isNew: isNew)
        guard written else { return false }
        try rows.writeIndexed(collection, id, state: state, previous: isNew ? nil : previous)
        try rows.writeSearchText(collection, id, state: state, previous: isNew ? nil : previous)
        if store.keepsHistory, collection.keptHistoryDays > 0,
            let entry = HistoryEntry(previous: isNew ? nil : previous, next: state, in: collection, id: id, writer: store.writer)
        {
            historyEncoded.removeAll(keepingCapacity: true)
            entry.write(to: &historyEncoded)
            // When this node stored it, by its own wall clock (a local write read it just now).
            let local = state.clock[store.writer] > (previous?.clock[store.writer] ?? 0)
            let at = local ? lastPhysical ?? physicalNow() : physicalNow()
            try rows.writeHistory(collection.name, id, at: at, peer: peer?.station, entry: historyEncoded)
        }
        nextSeq += 1
        lastRecord = (collection.name, id, state)
        return true
    }
}

extension StationStore {
    /// Like ``write(_:)``, but the transaction, and its commit, are shared with the writers that
    /// arrive at the same time (group commit, see `GroupCommit`); `body` runs in a savepoint of its
    /// own, so if it throws only its own writes are undone. For the hub, where many stations push
    /// at once and a commit per push would queue them all behind one fsync each. The caller is
    /// suspended, holding no thread, while it waits for its group.
    ///
    /// With `durable` false the commit need not wait for the disk (see `immediateTransaction`),
    /// unless another writer of the same group needs it to.
    public func writeGrouped<T: Sendable>(durable: Bool = true, _ body: @escaping @Sendable (WriteTransaction) throws -> T) async throws -> T {
        try await groupCommit.write(in: self, durable: durable, body)
    }

    /// Runs `body` in one IMMEDIATE transaction: all its writes commit together, or none do.
    /// With `durable` false the commit need not wait for the disk (see `immediateTransaction`).
    public func write<T>(durable: Bool = true, _ body: (WriteTransaction) throws -> T) throws -> T {
        var lastSeq: Int64?
        let result = try immediateTransaction(durable: durable) { db in
            let transaction = try WriteTransaction(db: db, store: self)
            let result = try body(transaction)
            try transaction.finish()
            lastSeq = transaction.lastWrittenSeq
            return result
        }
        noteCommitted(lastSeq)
        return result
    }

    /// ``write(durable:_:)`` from a task: suspended until GRDB's writer runs it, holding no thread.
    func writeSuspending<T: Sendable>(
        durable: Bool = true, _ body: @escaping @Sendable (WriteTransaction) throws -> T
    ) async throws
        -> T
    {
        let (result, lastSeq): (T, Int64?) = try await immediateTransactionSuspending(durable: durable) { db in
            let transaction = try WriteTransaction(db: db, store: self)
            let result = try body(transaction)
            try transaction.finish()
            return (result, transaction.lastWrittenSeq)
        }
        noteCommitted(lastSeq)
        return result
    }

    /// Committed: how far the feed got, for noticing a restored copy (StationStore+Watermark).
    private func noteCommitted(_ lastSeq: Int64?) {
        if let lastSeq { StationStore.writeWatermark(Watermark(databaseID: databaseID, seq: lastSeq), path: path, logger: logger) }
    }

    /// Sets the given fields of a record and keeps the others: one write, one transaction (none
    /// when the record already shows those values, unless `force`).
    @discardableResult
    public func put(
        _ collection: String, _ id: String, _ values: [String: JSONValue], force: Bool = false, author: String? = nil
    ) throws -> LocalWrite {
        try write { try $0.put(collection, id, values, force: force, author: author) }
    }

    /// Adds `amount` (possibly negative) to a counter field: one write, one transaction.
    @discardableResult
    public func add(_ collection: String, _ id: String, field: String, amount: Int64, author: String? = nil) throws -> RecordState {
        try write { try $0.add(collection, id, field: field, amount: amount, author: author) }
    }

    /// Deletes a record: one write, one transaction. Nil when it was already deleted.
    @discardableResult
    public func delete(_ collection: String, _ id: String, author: String? = nil) throws -> RecordState? {
        try write { try $0.delete(collection, id, author: author) }
    }
}
