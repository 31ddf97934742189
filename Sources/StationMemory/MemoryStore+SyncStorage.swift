import StationCore
import StationSync

// The memory store plays every role the sync engine asks of storage (StationSync/Ports), with
// the rules every backend shares (ReceivedMerge, OwnVersions, PageCut, WriterClaim.decide).

extension MemoryStore: SyncStorage {
    // MARK: ChangeFeed

    public func lastSequence() -> Int64 { state.withLock { $0.lastSequence } }

    public func changes(
        since: Int64, limit: Int, excludingSource: String? = nil, collections: Set<String>? = nil, maxBytes: Int = Limits.pageBytes
    ) -> ChangeBatch {
        precondition(limit > 0)
        let page = PageCut(limit: limit, maxBytes: maxBytes)
        return state.withLock { s in
            var changes: [Change] = []
            var bytes = 0
            var hasMore = false
            for seq in s.feedSequences(after: since, collections: collections) {
                guard let key = s.feed[seq], let record = s.records[key] else { continue }
                if let excludingSource, let source = record.source, source.hasSameBytes(as: excludingSource) { continue }
                guard page.takes(index: changes.count, bytesBefore: bytes) else {
                    hasMore = true
                    break
                }
                changes.append(Change(seq: seq, collection: key.collection, id: key.id, stateText: record.text, source: record.source))
                bytes += record.text.utf8.count
            }
            // Nothing more matches: the cursor moves past whatever was skipped.
            let next = hasMore ? changes[changes.count - 1].seq : max(since, s.lastSequence)
            return ChangeBatch(changes: changes, nextSince: next, hasMore: hasMore)
        }
    }

    public func state(of key: RecordKey) -> RecordState? {
        state.withLock { $0.records[key]?.state }
    }

    public func conflictedRecordCount() -> Int {
        state.withLock { $0.conflictedRecords }
    }

    // MARK: ChangeSink

    public func apply(
        _ changes: [IncomingChange], from peer: NodeID, cursor: FeedCursor?, claim: WriterClaim?,
        check: (@Sendable (IncomingChange, RecordState?) throws -> Void)?
    ) throws -> [MergeResult] {
        try write { tx in
            if let claim { try tx.claimWriter(claim) }
            let results = try ReceivedMerge.mergeEach(changes, from: peer) { change in
                try tx.merge(
                    change.collection, change.id, change.state, from: peer, encoded: change.encoded,
                    check: check.map { check in { held in try check(change, held) } })
            }
            if let cursor { tx.setPulledCursor(cursor, peer: peer) }
            return results
        }
    }

    public func extendSchema(with additions: Schema, from peer: NodeID?) {
        state.withLock { s in
            let extended = s.schema.adding(additions)
            for name in extended.collectionNames where s.schema.collections[name] == nil { s.addedBy[name] = peer?.rawValue ?? "?" }
            s.schema = extended
        }
    }

    public func restoreSchema(_ previous: Schema) {
        state.withLock { s in
            var kept = previous
            for name in s.schema.collectionNames where previous.collections[name] == nil {
                if let held = s.tally[name], held.alive + held.deleted > 0 {
                    kept.collections[name] = s.schema.collections[name]
                } else {
                    s.addedBy[name] = nil
                }
            }
            s.schema = kept
        }
    }

    // MARK: CheckpointStore

    public func checkpoint(peer: NodeID) -> Checkpoint {
        state.withLock { $0.peers[peer]?.checkpoint ?? Checkpoint(pushed: 0, pulled: .beginning) }
    }

    /// All checkpoints, by peer.
    public func checkpoints() -> [NodeID: Checkpoint] {
        state.withLock { $0.peers.mapValues(\.checkpoint) }
    }

    public func setPushed(_ seq: Int64, peer: NodeID) {
        state.withLock { s in
            s.peers[peer, default: PeerProgress()].checkpoint.pushed = seq
            s.peers[peer]?.checkpoint.updatedAt = StoredTime.now()
        }
    }

    public func setPeerMayRelay(_ relay: Bool, peer: NodeID) {
        state.withLock { s in s.peers[peer, default: PeerProgress()].mayRelay = relay }
    }

    public func setPeerProvenByToken(_ proven: Bool, peer: NodeID) {
        state.withLock { s in s.peers[peer, default: PeerProgress()].checkpoint.byToken = proven }
    }

    public func resetCheckpoint(peer: NodeID, peerDatabase: String, sendsBack: Bool) {
        state.withLock { s in
            var progress = s.peers[peer] ?? PeerProgress()
            progress.checkpoint.pushed = 0
            progress.checkpoint.pulled = .beginning
            progress.checkpoint.peerDatabase = peerDatabase
            progress.checkpoint.updatedAt = StoredTime.now()
            progress.checkpoint.leftBehind = LeftBehind(sendsBack: sendsBack || progress.checkpoint.leftBehind.sendsBack)
            s.peers[peer] = progress
            // Everything is pushed again: nothing waits any longer.
            s.waiting[peer] = nil
        }
    }

    public func updateLeftBehind(peer: NodeID, _ update: LeftBehind.Update) {
        guard !update.isEmpty else { return }
        state.withLock { s in
            var progress = s.peers[peer] ?? PeerProgress()
            // One that cannot be read stays as it is: the next sync starts over with the peer.
            guard !progress.checkpoint.leftBehind.unreadable else { return }
            progress.checkpoint.leftBehind = progress.checkpoint.leftBehind.applying(update, peerDatabase: progress.checkpoint.peerDatabase)
            s.peers[peer] = progress
        }
    }

    public func rewind(peer: NodeID, pushed: Int64?, pullAgain: Bool, update: LeftBehind.Update) {
        state.withLock { s in
            var progress = s.peers[peer] ?? PeerProgress()
            if let pushed { progress.checkpoint.pushed = pushed }
            if pullAgain { progress.checkpoint.pulled = .beginning }
            if !progress.checkpoint.leftBehind.unreadable {
                progress.checkpoint.leftBehind = progress.checkpoint.leftBehind.applying(update, peerDatabase: progress.checkpoint.peerDatabase)
            }
            progress.checkpoint.updatedAt = StoredTime.now()
            s.peers[peer] = progress
        }
    }

    public func waitingChanges(peer: NodeID, after: RecordKey?, limit: Int) -> [Change] {
        state.withLock { s in
            var changes: [Change] = []
            for key in s.waiting[peer]?.after(after) ?? [] {
                guard changes.count < limit else { break }
                guard let record = s.records[key] else { continue }
                var change = Change(seq: record.seq, collection: key.collection, id: key.id, stateText: record.text, source: record.source)
                // A record's oldest own version goes in place of its current state.
                if let n = s.ownVersionsByRecord[key]?.first, let own = s.ownVersions[n] {
                    change.stateText = own.state.canonicalText
                    change.ownVersion = n
                }
                changes.append(change)
            }
            return changes
        }
    }

    public func updateWaiting(peer: NodeID, waiting: [RecordKey], taken: [RecordKey]) {
        state.withLock { s in
            for key in waiting { s.waiting[peer, default: SortedRecordKeys()].insert(key) }
            for key in taken {
                s.waiting[peer]?.remove(key)
                s.dropOwnVersions(of: key)
            }
            if s.waiting[peer]?.isEmpty == true { s.waiting[peer] = nil }
        }
    }

    public func waitingCount(peer: NodeID) -> Int {
        state.withLock { $0.waiting[peer]?.count ?? 0 }
    }

    public func hasOwnVersions() -> Bool {
        state.withLock { !$0.ownVersions.isEmpty }
    }

    /// How many own versions are kept.
    public func ownVersionCount() -> Int {
        state.withLock { $0.ownVersions.count }
    }

    public func dropOwnVersion(_ n: Int64) {
        state.withLock { s in
            guard let (key, _) = s.ownVersions.removeValue(forKey: n) else { return }
            s.ownVersionsByRecord[key]?.removeAll { $0 == n }
            if s.ownVersionsByRecord[key]?.isEmpty == true { s.ownVersionsByRecord[key] = nil }
        }
    }

    public func dropOwnVersions(_ keys: [RecordKey]) {
        state.withLock { s in for key in keys { s.dropOwnVersions(of: key) } }
    }

    // MARK: CallerRecords

    public func token(id: String) -> StoredToken? {
        state.withLock { $0.tokens[id] }
    }

    public func noteActivity(station: String, pulledThrough: Int64?, pushed: Int?) {
        let now = StoredTime.now()
        state.withLock { s in
            s.activity[station, default: ActivityNote(lastSeenAt: now)].note(pulledThrough: pulledThrough, pushed: pushed, at: now)
        }
    }

    public func noteClockOffset(station: String, milliseconds: Int64) {
        let now = StoredTime.now()
        state.withLock { s in s.activity[station, default: ActivityNote(lastSeenAt: now)].note(clockOffset: milliseconds, at: now) }
    }

    /// Activity is written when noted: nothing waits.
    public func flushActivity() {}

    public func noteRefusedWriter(_ refusal: WriterRefusal) {
        let now = StoredTime.now()
        state.withLock { s in
            var row =
                s.writers[refusal.claim.writer]
                ?? NodeWriter(node: refusal.claim.node, writer: refusal.claim.writer, status: .refused, firstSeenAt: now)
            row.refusals += 1
            row.lastRefusedAt = now
            s.writers[refusal.claim.writer] = row
            s.pruneWriters(of: refusal.claim.node)
        }
    }
}

extension MemoryState {
    mutating func dropOwnVersions(of key: RecordKey) {
        for n in ownVersionsByRecord.removeValue(forKey: key) ?? [] { ownVersions[n] = nil }
    }
}
