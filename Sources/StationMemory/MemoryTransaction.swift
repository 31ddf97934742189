import StationCore
import StationSync

/// One write transaction on a ``MemoryStore``: local writes (put, add, delete, resolve) and merges
/// of received versions, each stamped with the next change-feed sequence. Obtained from
/// ``MemoryStore/write(_:)``; it changes the store's state in place, under the store's lock, and
/// if its body throws, everything it did is undone (the clock included).
public final class MemoryTransaction {
    /// The store's state, moved in for the transaction and moved back after it.
    var s: MemoryState
    let node: NodeID
    let writer: NodeID
    let physicalClock: @Sendable () -> UInt64
    let servesAsHub: Bool
    /// What undoes each change made so far, in the order made.
    private var undo: [(inout MemoryState) -> Void] = []
    private let clockBefore: HybridLogicalClock
    private let lastSequenceBefore: Int64
    /// Per peer, for the merges of this transaction (see ``OwnVersions/Rule``).
    private var ownVersionRules: [NodeID?: OwnVersions.Rule] = [:]

    init(state: consuming MemoryState, store: MemoryStore) {
        s = state
        node = store.node
        writer = store.writer
        physicalClock = store.physicalClock
        servesAsHub = store.servesAsHub
        clockBefore = s.clock
        lastSequenceBefore = s.lastSequence
    }

    /// Puts everything back as it was when the transaction began.
    func rollBack() {
        for step in undo.reversed() { step(&s) }
        undo.removeAll()
        s.clock = clockBefore
        s.lastSequence = lastSequenceBefore
    }

    // MARK: - Local writes

    /// Sets the given fields of a record and keeps the others (creating the record if needed).
    /// A put of what the record already shows writes nothing, unless `force`.
    @discardableResult
    public func put(
        _ collection: String, _ id: String, _ values: [String: JSONValue], force: Bool = false, author: String? = nil
    ) throws -> LocalWrite {
        let c = try s.schema.collection(collection)
        try Names.checkRecordID(id, collection: collection)
        let time = s.clock.now(physical: physicalClock())
        let key = RecordKey(collection, id)
        var state = s.records[key]?.state ?? RecordState()
        guard try state.put(values, by: writer, at: time, in: c, id: id, force: force, author: author) != nil else {
            return LocalWrite(state: state, changed: false)
        }
        try save(state, collection: c, key: key, source: nil)
        return LocalWrite(state: state, changed: true)
    }

    /// Adds `amount` to a counter field (creating the record if needed).
    @discardableResult
    public func add(_ collection: String, _ id: String, field: String, amount: Int64, author: String? = nil) throws -> RecordState {
        let c = try s.schema.collection(collection)
        try Names.checkRecordID(id, collection: collection)
        let time = s.clock.now(physical: physicalClock())
        let key = RecordKey(collection, id)
        var state = s.records[key]?.state ?? RecordState()
        try state.add(amount, to: field, by: writer, at: time, in: c, id: id, author: author)
        try save(state, collection: c, key: key, source: nil)
        return state
    }

    /// Deletes a record (a tombstone that keeps its values). Nil when it was already deleted;
    /// throws when it never existed.
    @discardableResult
    public func delete(_ collection: String, _ id: String, author: String? = nil) throws -> RecordState? {
        let c = try s.schema.collection(collection)
        let key = RecordKey(collection, id)
        guard var state = s.records[key]?.state else { throw CoreError(.recordNotFound, "\(collection)/\(id) does not exist") }
        guard try state.delete(by: writer, at: s.clock.now(physical: physicalClock()), in: c, id: id, author: author) != nil else { return nil }
        try save(state, collection: c, key: key, source: nil)
        return state
    }

    /// Resolves a conflict of a record with one local write.
    @discardableResult
    public func resolve(
        _ collection: String, _ id: String, conflict: String, _ choice: RecordState.ResolutionChoice, person: String? = nil
    ) throws -> RecordState {
        let c = try s.schema.collection(collection)
        let key = RecordKey(collection, id)
        guard var state = s.records[key]?.state else { throw CoreError(.recordNotFound, "\(collection)/\(id) does not exist") }
        try state.resolve(conflict, choice, by: writer, at: s.clock.now(physical: physicalClock()), in: c, id: id, person: person)
        try save(state, collection: c, key: key, source: nil)
        return state
    }

    // MARK: - Received versions

    /// Merges a version received from `peer` (nil: unknown origin), by the rule every backend
    /// applies (``ReceivedMerge``); `check`, when given, runs with the held state before anything
    /// is written. A refusal writes nothing.
    @discardableResult
    public func merge(
        _ collection: String, _ id: String, _ incoming: RecordState, from peer: NodeID?, encoded: [UInt8]? = nil,
        check: ((RecordState?) throws -> Void)? = nil
    ) throws -> MergeResult {
        let c = try s.schema.collection(collection)
        let key = RecordKey(collection, id)
        try ReceivedMerge.validate(incoming, collection: c, id: id)
        let held = s.records[key]?.state
        try ReceivedMerge.checkOwnWrites(incoming, held: held, receiver: writer, key: key)
        try check?(held)
        let decision = try ReceivedMerge.decide(incoming, held: held, collection: c, id: id)
        guard case .store(let state, let result) = decision else { return .unchanged }
        let whole = decision.keepsReceivedWhole
        var checked: [UInt8]?
        if let held, OwnVersions.holdsOwnWrites(held, node: node) {
            checked = try ReceivedMerge.checkSize(state, encoded: whole ? encoded : nil, collection: c.name, id: id)
            keepOwnVersion(held, key: key, mergingFrom: peer)
        }
        try save(state, collection: c, key: key, source: whole ? peer?.rawValue : nil, encoded: checked ?? (whole ? encoded : nil))
        // The clock observes the version's time only when the version is kept.
        s.clock.observe(incoming.latestTime, physical: physicalClock())
        return result
    }

    /// Keeps `state`, the record as it is before a peer's version is merged on top of it, when
    /// ``OwnVersions`` says so.
    private func keepOwnVersion(_ state: RecordState, key: RecordKey, mergingFrom peer: NodeID?) {
        guard OwnVersions.holdsOwnWrites(state, node: node) else { return }
        let rule: OwnVersions.Rule
        if let known = ownVersionRules[peer] {
            rule = known
        } else {
            let fromHub = peer.flatMap { s.peers[$0]?.mayRelay } == false
            let pushedToHubs = s.peers.filter { $0.key != peer && $0.value.mayRelay == false }.map(\.value.checkpoint.pushed).min()
            rule = .merging(fromHub: fromHub, pushedToOtherHubs: pushedToHubs, atAHub: servesAsHub)
            ownVersionRules[peer] = rule
        }
        let allowed = OwnVersions.ruleAllows(
            rule, seq: { s.records[key]?.seq },
            waitsAtAHub: { s.waiting.contains { peer, keys in s.peers[peer]?.mayRelay == false && keys.contains(key) } })
        guard allowed else { return }
        let kept = s.ownVersionsByRecord[key] ?? []
        let newest = kept.last.flatMap { s.ownVersions[$0]?.state }
        guard OwnVersions.keeps(state, node: node, newestKept: newest, keptCount: kept.count) else { return }
        s.lastOwnVersion += 1
        let n = s.lastOwnVersion
        s.ownVersions[n] = (key, state)
        s.ownVersionsByRecord[key, default: []].append(n)
        undo.append { s in
            s.ownVersions[n] = nil
            s.ownVersionsByRecord[key]?.removeLast()
            if s.ownVersionsByRecord[key]?.isEmpty == true { s.ownVersionsByRecord[key] = nil }
            s.lastOwnVersion -= 1
        }
    }

    /// Records the cursor reached in `peer`'s change feed, with the batch merged from it.
    public func setPulledCursor(_ cursor: FeedCursor, peer: NodeID) {
        let before = s.peers[peer]
        s.peers[peer, default: PeerProgress()].checkpoint.pulled = cursor
        s.peers[peer]?.checkpoint.updatedAt = StoredTime.now()
        undo.append { $0.peers[peer] = before }
    }

    /// Checks that `claim`'s database may push as its node here and records it (the rule every
    /// backend applies, ``WriterClaim/decide(against:)``); throws ``WriterRefusal`` otherwise.
    public func claimWriter(_ claim: WriterClaim) throws {
        let rows = s.writers.values.filter { $0.node.hasSameBytes(as: claim.node) }
        let now = StoredTime.now()
        let before = rows
        undo.append { s in
            for row in s.writers.values where row.node.hasSameBytes(as: claim.node) { s.writers[row.writer] = nil }
            for row in before { s.writers[row.writer] = row }
        }
        guard case .becomesLive(let reason, let live) = try claim.decide(against: rows) else {
            s.writers[claim.writer]?.lastPushAt = now
            return
        }
        if let live {
            s.writers[live.writer]?.status = .retired
            s.writers[live.writer]?.retiredAt = now
            s.writers[live.writer]?.retiredBy = claim.writer
        }
        var row = s.writers[claim.writer] ?? NodeWriter(node: claim.node, writer: claim.writer, status: .live, firstSeenAt: now)
        row.status = .live
        row.lastPushAt = now
        row.reason = reason
        row.retiredAt = nil
        row.retiredBy = nil
        s.writers[claim.writer] = row
        s.pruneWriters(of: claim.node)
    }

    // MARK: - Rows

    /// Stores a record's state with the next sequence.
    private func save(_ state: RecordState, collection: CollectionSchema, key: RecordKey, source: String?, encoded: [UInt8]? = nil) throws {
        let text = encoded.map { String(decoding: $0, as: UTF8.self) } ?? state.canonicalText
        // Every path that stores a state comes here: a state past the limit is refused before
        // anything is written.
        let size = text.utf8.count
        guard size <= Limits.stateBytes else { throw Limits.stateTooLarge(size, collection: collection.name, id: key.id) }
        let status = state.status(in: collection)
        let previous = s.records[key]
        s.lastSequence += 1
        let seq = s.lastSequence
        s.setRecord(key, MemoryRecord(state: state, text: text, seq: seq, source: source, deleted: status.deleted, conflicts: status.conflicts))
        if let previous { s.feed[previous.seq] = nil }
        s.appendToFeed(seq, key)
        undo.append { s in
            s.takeBackFromFeed(seq, key)
            if let previous { s.feed[previous.seq] = key }
            s.setRecord(key, previous)
        }
    }
}

extension MemoryState {
    /// Forgets `node`'s past writers beyond what ``NodeWriter/forgotten(among:)`` keeps.
    mutating func pruneWriters(of node: String) {
        for writer in NodeWriter.forgotten(among: writers.values.filter { $0.node.hasSameBytes(as: node) }) { writers[writer] = nil }
    }
}

extension MemoryStore {
    /// Runs `body` in one transaction: all its writes are kept together, or none are.
    public func write<T>(_ body: (MemoryTransaction) throws -> T) throws -> T {
        try state.withLock { s in
            let tx = MemoryTransaction(state: s, store: self)
            s = MemoryState(schema: Schema(collections: [:]))  // the state is the transaction's now
            defer {
                s = tx.s
                s.compactFeed()
            }
            do {
                return try body(tx)
            } catch {
                tx.rollBack()
                throw error
            }
        }
    }

    /// Sets the given fields of a record and keeps the others: one write, one transaction.
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
