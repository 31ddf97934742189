import StationCore

extension SyncEngine {
    /// One batch of local changes ready to push: read, encoded and prepared for the transport,
    /// possibly ahead of time.
    struct OutgoingBatch: Sendable {
        /// The push request, encoded and prepared for the transport (compressed), or nil when
        /// nothing in the batch may be sent.
        var body: PreparedPush?
        var count: Int
        /// The records sent, in the order of the request (and of the peer's results).
        var keys: [RecordKey]
        var notSent: Int
        /// The collections of the changes not sent because the peer lacks them or the token may
        /// not write them (see ``LeftBehind/unsent``).
        var unsentCollections: Set<String> = []
        /// Changes read, sent or not (for progress).
        var read: Int
        var nextSince: Int64
        var hasMore: Bool
        /// Records not sent because they hold a write of this node stamped further ahead of its
        /// clock than a peer accepts (see ``HoldBack``).
        var heldBack: [RecordKey] = []
        /// Records not sent because the peer refused them earlier in this sync (see ``Refused``).
        var refused: [RecordKey] = []
    }

    /// Records a peer refused by origin binding (403 `forbidden` naming them in
    /// ``SyncError/records``): this node holds a version of them that rewrites or drops what
    /// another node wrote, as the peer holds it. An honest station gets such a version from a
    /// rogue LAN peer or a crafted change file when it held no copy (or an older one) to check it
    /// against. The push goes on without them; they wait here, sent again at every sync
    /// (``SyncSummary/refusedByPeer``), so nothing this node wrote elsewhere is held up.
    typealias Refused = Set<RecordKey>

    /// The records `error` names as refused, when it is an origin-binding refusal naming some
    /// that are not refused already (and, given `sent`, were sent); nil otherwise (the error stands).
    static func newlyRefused(_ error: SyncError, among sent: [RecordKey]? = nil, refused: Refused) -> Refused? {
        guard error.code == .forbidden, !error.records.isEmpty else { return nil }
        let sentKeys = sent.map(Set.init)
        let named = Set(error.records).filter { !refused.contains($0) && (sentKeys?.contains($0) ?? true) }
        return named.isEmpty ? nil : named
    }

    /// `changes` in pages that end at the change bringing their states to ``Limits/pageBytes``
    /// (a larger state goes alone), as the change feed's pages do.
    static func pages(of changes: [Change]) -> [[Change]] {
        var pages: [[Change]] = []
        var page: [Change] = []
        var bytes = 0
        for change in changes {
            if !page.isEmpty, bytes >= Limits.pageBytes {
                pages.append(page)
                page = []
                bytes = 0
            }
            page.append(change)
            bytes += change.stateText.utf8.count
        }
        if !page.isEmpty { pages.append(page) }
        return pages
    }

    /// The peer's answer to `batch`; a refusal naming records names only those of the batch (a
    /// peer naming others, made up by the thousand, costs this node nothing: see ``newlyRefused``).
    static func answer(to batch: OutgoingBatch, _ push: () async throws -> PushResponse) async throws -> PushResponse {
        do {
            return try await push()
        } catch var error as SyncError where !error.records.isEmpty {
            let sent = Set(batch.keys)
            error.records = error.records.filter { sent.contains($0) }
            throw error
        }
    }

    /// Holds back records holding a write of this node stamped more than
    /// ``HybridLogicalClock/defaultMaxForwardDrift`` ahead of `now`: written while this
    /// machine's clock was wrong (a year ahead, then put right). Every peer refuses them
    /// (`clock_drift`) until its clock reaches their time, and with them the whole push; held
    /// back, they wait here (sent again at every sync) and everything else goes on.
    struct HoldBack: Sendable {
        var node: NodeID
        var now: UInt64

        /// Whether `change` is to be held back (its state is decoded: only after a refusal, or
        /// for the few records that wait).
        func holds(_ change: Change) -> Bool {
            guard let state = try? RecordState(jsonText: change.stateText) else { return false }
            do {
                try SyncService.checkDrift(state, local: nil, now: now, sender: node, collection: change.collection, id: change.id)
                return false
            } catch {
                return error.code == .clockDrift
            }
        }
    }

    /// Reads the local changes after `cursor` that the peer may receive, encodes them and
    /// prepares the body with `prepare` (the transport's ``SyncTransport/preparePush``).
    /// Records `peer` sent (their source) are left out, unless `sendsBack`.
    static func outgoing(
        _ storage: any SyncStorage, after cursor: Int64, limit: Int, peer: NodeID, sendsBack: Bool = false, sendable: Set<String>,
        takeOver: Bool, holdBack: HoldBack?, refused: Refused = [], prepare: @Sendable ([UInt8]) throws -> PreparedPush
    ) async throws -> OutgoingBatch {
        let batch = try await storage.changes(
            since: cursor, limit: limit, excludingSource: sendsBack ? nil : peer.rawValue, collections: nil, maxBytes: Limits.pageBytes)
        return try outgoing(
            storage, batch.changes, sendable: sendable, nextSince: batch.nextSince, hasMore: batch.hasMore, takeOver: takeOver,
            holdBack: holdBack, refused: refused, prepare: prepare)
    }

    /// `changes` as a batch to push (those in collections the peer may receive). Each push names
    /// the database's writer and its lineage (see StationStore+Writers.swift); `takeOver` asks
    /// the peer to make this database its node's one.
    static func outgoing(
        _ storage: any SyncStorage, _ read: [Change], sendable: Set<String>, nextSince: Int64, hasMore: Bool, takeOver: Bool,
        holdBack: HoldBack?, refused: Refused = [], prepare: @Sendable ([UInt8]) throws -> PreparedPush
    ) throws -> OutgoingBatch {
        var changes: [(collection: String, id: String, seq: Int64, stateText: String)] = []
        changes.reserveCapacity(read.count)
        var heldBack: [RecordKey] = []
        var refusedHere: [RecordKey] = []
        var unsent: Set<String> = []
        for change in read {
            guard sendable.contains(change.collection) else {
                unsent.insert(change.collection)
                continue
            }
            if !refused.isEmpty, case let key = RecordKey(change.collection, change.id), refused.contains(key) {
                refusedHere.append(key)
                continue
            }
            if let holdBack, holdBack.holds(change) {
                heldBack.append(RecordKey(change.collection, change.id))
                continue
            }
            changes.append((change.collection, change.id, change.seq, change.stateText))
        }
        return OutgoingBatch(
            body: changes.isEmpty
                ? nil
                : try prepare(
                    PushRequest.encode(
                        node: storage.node.rawValue, writer: storage.writer.rawValue, lineage: storage.lineage.map(\.rawValue),
                        takeOver: takeOver, changes: changes)),
            count: changes.count, keys: changes.map { RecordKey($0.collection, $0.id) },
            notSent: read.count - changes.count - heldBack.count - refusedHere.count, unsentCollections: unsent,
            read: read.count, nextSince: nextSince, hasMore: hasMore, heldBack: heldBack, refused: refusedHere)
    }

    /// Sends again the records `peer` answered `waiting` for at earlier pushes, before anything
    /// new; those it takes now leave the list. Returns the records still waiting.
    ///
    /// A waiting record is sent as its oldest own version when it has one (see
    /// ``StationStore/waitingChanges(peer:after:limit:)``); one taken, the next goes, in passes
    /// until a pass takes no own version.
    ///
    /// Records the peer refuses by origin binding (see ``Refused``) join `refused` and still wait;
    /// the rest of their batch is sent again without them.
    func pushWaiting(
        to peer: NodeID, sendable: Set<String>, summary: inout SyncSummary, leftOut: inout [RecordKey: MergeResult], held: inout Set<RecordKey>,
        refused: inout Refused
    ) async throws -> Set<RecordKey> {
        // Waiting records are few: each is checked for writes of this node stamped too far ahead.
        let holdBack = HoldBack(node: storage.node, now: storage.wallTime())
        var stillWaiting: Set<RecordKey> = []
        var progress = true
        while progress {
            progress = false
            stillWaiting = []
            leftOut = [:]
            var after: RecordKey?
            while true {
                let read = try await storage.waitingChanges(peer: peer, after: after, limit: batchSize)
                guard let last = read.last else { break }
                after = RecordKey(last.collection, last.id)
                var sent: [Change] = []
                for change in read where sendable.contains(change.collection) {
                    let key = RecordKey(change.collection, change.id)
                    if refused.contains(key) {
                        stillWaiting.insert(key)
                    } else if holdBack.holds(change) {
                        stillWaiting.insert(key)
                        held.insert(key)
                    } else {
                        sent.append(change)
                    }
                }
                // Pushed in pages bounded by bytes, as the feed's are (Limits.pageBytes).
                for var page in Self.pages(of: sent) {
                    while true {
                        let batch = try Self.outgoing(
                            storage, page, sendable: sendable, nextSince: 0, hasMore: false, takeOver: takeOver, holdBack: nil,
                            prepare: transport.preparePush)
                        guard let body = batch.body else { break }
                        let response: PushResponse
                        do {
                            response = try await transport.push(body)
                        } catch let error as SyncError {
                            guard let named = Self.newlyRefused(error, among: batch.keys, refused: refused) else { throw error }
                            logger.warning("\(error); the others go on without them", metadata: ["peer": "\(peer)", "refused": "\(named.count)"])
                            refused.formUnion(named)
                            stillWaiting.formUnion(named)
                            page.removeAll { named.contains(RecordKey($0.collection, $0.id)) }
                            continue
                        }
                        guard response.results.count == batch.count else {
                            throw SyncError(.protocolError, "\(peer) answered \(response.results.count) results for \(batch.count) changes")
                        }
                        var taken: [RecordKey] = []
                        for ((key, change), result) in zip(zip(batch.keys, page), response.results) {
                            if result.result.isLeftOut, result.result != .waiting {
                                stillWaiting.insert(key)
                                leftOut[key] = result.result
                            } else if result.result == .waiting {
                                stillWaiting.insert(key)
                            } else if let n = change.ownVersion {
                                // An own version taken: the record still waits, with its next version.
                                try await storage.dropOwnVersion(n)
                                stillWaiting.insert(key)
                                progress = true
                            } else {
                                taken.append(key)
                            }
                        }
                        summary.pushed += taken.count
                        try await storage.updateWaiting(peer: peer, waiting: [], taken: taken)
                        break
                    }
                }
                if read.count < batchSize { break }
            }
        }
        return stillWaiting
    }

    /// Pushes batches until none is left, keeping the peer and this node busy at the same time:
    /// - the next batch is read, encoded and compressed in a task of its own while the current
    ///   one is in flight;
    /// - up to ``SyncTransport/concurrentPushes`` batches are in flight at once (the HTTP
    ///   transport: 2, so the hub decodes one while it merges the other);
    /// - the checkpoint is saved in a task of its own, in order, and moves only past batches the
    ///   peer has acknowledged, all earlier ones included. The push ends (or fails) only once the
    ///   last acknowledged checkpoint is saved.
    ///
    /// Batches in flight together may be merged by the peer in either order: merging is
    /// commutative, so the result is the same.
    ///
    /// `holdBack`: records holding a write of this node stamped too far ahead of its clock are
    /// not sent but listed as waiting (see ``HoldBack``): after a peer refused a push for such a
    /// write (`clock_drift`), the sync tries again so.
    ///
    /// `refused`: records the peer refused by origin binding earlier in this sync (see
    /// ``Refused``): not sent but listed as waiting. Those it refuses among the waiting records
    /// join it; a batch it refuses so throws, and the sync tries again with them in `refused`.
    ///
    /// `sendable`: the collections the peer has and the token may write. The collections of
    /// changes not sent for that join `left` (stored before the checkpoint moves past them).
    ///
    /// `sendsBack`: records the peer sent are pushed too (normally left out: the peer has them).
    /// For a peer whose database was replaced (restored from a backup): what the backup lacked
    /// comes back from its peers, what it had is `unchanged`.
    func push(
        from start: Int64, to peer: NodeID, session: PeerSession, sendable: Set<String>, sendsBack: Bool, holdBack: Bool,
        refused: inout Refused, left: inout LeftBehind, summary: inout SyncSummary
    ) async throws {
        let last = try await storage.lastSequence()
        let (storage, limit, prepare, takeOver) = (self.storage, batchSize, transport.preparePush, self.takeOver)
        let holding = holdBack ? HoldBack(node: storage.node, now: storage.wallTime()) : nil
        if takeOver {
            // The claim first, in a push of its own: it holds even when nothing is to be sent.
            let claim = PushRequest.encode(
                node: storage.node.rawValue, writer: storage.writer.rawValue, lineage: storage.lineage.map(\.rawValue), takeOver: true,
                changes: [])
            _ = try await transport.push(try prepare(claim))
            logger.notice("this database is \(storage.node) at \(peer) now (took over)", metadata: ["writer": "\(storage.writer)"])
        }
        let window = max(1, transport.concurrentPushes)
        let transport = self.transport
        var cursor = start
        var done = 0
        // Records the peer left out for another reason than `waiting` (collision, over_limit,
        // ahead): sent again at every push, like a waiting record, so they are reported at every sync.
        var leftOut: [RecordKey: MergeResult] = [:]
        // Records held back (see ``HoldBack``).
        var held: Set<RecordKey> = []
        var waiting = try await pushWaiting(to: peer, sendable: sendable, summary: &summary, leftOut: &leftOut, held: &held, refused: &refused)
        let excluded = refused
        // A peer that may not take others' unseen writes took a record: its own versions are done.
        let dropsOwnVersions = try await !session.relay ? storage.hasOwnVersions() : false

        /// The collections this push noted as not sent (see ``LeftBehind/unsent``).
        var noted: Set<String> = []
        /// Batches sent and not yet acknowledged, oldest first.
        var inFlight: [(batch: OutgoingBatch, response: Task<PushResponse, any Error>)] = []
        var saving: Task<Void, any Error>?  // one checkpoint save at a time, in order
        func finishSaving() async throws {
            let work = saving
            saving = nil
            try await work?.value
        }
        /// Counts an answered batch (`response` nil: nothing was sent) and moves the checkpoint
        /// past it; every earlier batch is acknowledged already.
        func acknowledge(_ batch: OutgoingBatch, _ response: PushResponse?) async throws {
            if !batch.refused.isEmpty {
                // Listed as waiting before the checkpoint moves past them: sent again at every sync.
                try await storage.updateWaiting(peer: peer, waiting: batch.refused.filter { waiting.insert($0).inserted }, taken: [])
            }
            if !batch.heldBack.isEmpty {
                // Listed as waiting before the checkpoint moves past them: sent again at every sync.
                held.formUnion(batch.heldBack)
                try await storage.updateWaiting(peer: peer, waiting: batch.heldBack.filter { waiting.insert($0).inserted }, taken: [])
            }
            if let response {
                guard response.results.count == batch.count else {
                    throw SyncError(.protocolError, "\(peer) answered \(response.results.count) results for \(batch.count) changes")
                }
                // Records the peer left waiting are listed before the checkpoint moves past them
                // (and records it took now, that were waiting, leave the list).
                var nowWaiting: [RecordKey] = []
                var taken: [RecordKey] = []
                for (key, result) in zip(batch.keys, response.results) {
                    if result.result.isLeftOut, result.result != .waiting {
                        leftOut[key] = result.result
                        if waiting.insert(key).inserted { nowWaiting.append(key) }
                    } else if result.result == .waiting {
                        if waiting.insert(key).inserted { nowWaiting.append(key) }
                    } else if waiting.remove(key) != nil {
                        taken.append(key)
                    }
                }
                try await storage.updateWaiting(peer: peer, waiting: nowWaiting, taken: taken)
                if dropsOwnVersions {
                    try await storage.dropOwnVersions(
                        zip(batch.keys, response.results).filter { !$0.1.result.isLeftOut }
                            .map(\.0))
                }
                summary.pushed += batch.count - response.results.lazy.filter { $0.result.isLeftOut }.count
            }
            summary.notSent += batch.notSent
            if !batch.unsentCollections.isSubset(of: noted) {
                // Noted before the checkpoint moves past them: sent once they can be. Decided by
                // what this sync noted, not by the value read when it started: another sync with
                // this peer at once (another token) may have taken them out since (review 16, G1).
                noted.formUnion(batch.unsentCollections)
                left.unsent.formUnion(batch.unsentCollections)
                try await finishSaving()
                try await storage.updateLeftBehind(peer: peer, LeftBehind.Update(unsent: batch.unsentCollections))
            }
            if batch.nextSince > cursor {
                try await finishSaving()
                let acknowledged = batch.nextSince
                saving = Task { try await storage.setPushed(acknowledged, peer: peer) }
                cursor = acknowledged
            }
            done += batch.read
            progress?(SyncProgress(phase: .push, done: done, total: Int(max(0, last - start))))
        }
        /// Waits for the oldest batch in flight and acknowledges it.
        func acknowledgeOldest() async throws {
            let (batch, work) = inFlight.removeFirst()
            try await acknowledge(batch, try await Self.answer(to: batch) { try await work.value })
        }

        var following: Task<OutgoingBatch, any Error>?
        do {
            var batch = try await Self.outgoing(
                storage, after: cursor, limit: limit, peer: peer, sendsBack: sendsBack, sendable: sendable, takeOver: takeOver, holdBack: holding,
                refused: excluded,
                prepare: prepare)
            while true {
                let after = batch.nextSince
                following =
                    batch.hasMore
                    ? Task {
                        try await Self.outgoing(
                            storage, after: after, limit: limit, peer: peer, sendsBack: sendsBack, sendable: sendable, takeOver: takeOver,
                            holdBack: holding,
                            refused: excluded, prepare: prepare)
                    }
                    : nil
                if let body = batch.body, window > 1 {
                    inFlight.append((batch, Task { try await transport.push(body) }))
                    if inFlight.count >= window { try await acknowledgeOldest() }
                } else {
                    // One at a time (or nothing to send): in this task, after the earlier ones.
                    while !inFlight.isEmpty { try await acknowledgeOldest() }
                    var response: PushResponse?
                    if let body = batch.body { response = try await Self.answer(to: batch) { try await transport.push(body) } }
                    try await acknowledge(batch, response)
                }
                guard let next = following else { break }
                following = nil
                batch = try await next.value
            }
            while !inFlight.isEmpty { try await acknowledgeOldest() }
            try await finishSaving()
        } catch {
            // No work outlives the sync, and what the peer acknowledged stays acknowledged (up to
            // the first batch that failed).
            _ = try? await following?.value
            for (_, work) in inFlight { _ = try? await work.value }
            _ = try? await finishSaving()
            throw error
        }
        if !waiting.isEmpty, try await storage.hasOwnVersions() {
            // Records found waiting now may have own versions the peer can take at once.
            waiting = try await pushWaiting(to: peer, sendable: sendable, summary: &summary, leftOut: &leftOut, held: &held, refused: &refused)
        }
        for key in held.sorted(by: { $0.description.utf8.lexicographicallyPrecedes($1.description.utf8) }) { summary.noteHeldBack(key) }
        waiting.subtract(held)
        for key in refused.sorted(by: { $0.description.utf8.lexicographicallyPrecedes($1.description.utf8) }) { summary.noteRefusedByPeer(key) }
        waiting.subtract(refused)
        for (key, result) in leftOut.sorted(by: { $0.key.description.utf8.lexicographicallyPrecedes($1.key.description.utf8) }) {
            summary.noteLeftOut(key, result)
        }
        waiting.subtract(leftOut.keys)
        summary.waiting = waiting.count
        summary.waitingRecords = waiting.map(\.description).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.prefix(100).map { $0 }
        if !waiting.isEmpty {
            logger.warning(
                "records wait: they hold writes of other nodes the peer has not seen, and this token may not relay them; they are sent again at every sync",
                metadata: ["peer": "\(peer)", "records": "\(waiting.count)", "first": "\(summary.waitingRecords.prefix(5).joined(separator: ", "))"])
        }
        if summary.notSent > 0 {
            logger.warning(
                "local changes not sent: collections the peer lacks or this token may not write",
                metadata: ["peer": "\(peer)", "changes": "\(summary.notSent)"])
        }
    }
}
