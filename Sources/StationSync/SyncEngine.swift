import Foundation
import Logging
import StationCore

/// What one sync did.
public struct SyncSummary: Sendable, Equatable {
    /// The peer's node name.
    public var peer: String = ""
    /// Changes sent, and what the peer did with them.
    public var pushed = 0
    /// Changes received.
    public var pulled = 0
    /// What merging the received changes did here.
    public var created = 0
    public var applied = 0
    public var merged = 0
    public var unchanged = 0
    /// Local changes that could not be sent: collections the peer does not have, or may not be
    /// written with this token. They stay here; the checkpoint moves past them, so after the
    /// peer's schema or the token changes, `station sync --full` sends everything again.
    public var notSent = 0
    /// Records the peer did not take yet: they hold writes of other nodes that the peer has not
    /// seen, and this token may not relay them (a station that synced with a neighbour on the
    /// LAN). They are sent again at every sync, and go once those writes reach the peer.
    public var waiting = 0
    /// Which records wait (`collection/id`, at most 100).
    public var waitingRecords: [String] = []
    /// Records where this node and the peer hold two different writes under one dot (a database
    /// restored together with its watermark, a forged state): neither side took the other's
    /// version; every other record went on. Pushed ones are sent again at every sync.
    public var collisions = 0
    /// Which records collide (`collection/id`, at most 100).
    public var collisionRecords: [String] = []
    /// Records where this node's version and the peer's would join into a state beyond what a
    /// state may hold (writers, values, resolutions): neither side took the other's; every other
    /// record went on. Pushed ones are sent again at every sync.
    public var overLimit = 0
    /// Which records (`collection/id`, at most 100).
    public var overLimitRecords: [String] = []
    /// Records holding a write of another node stamped more than the allowed drift ahead of the
    /// receiver's clock (that node's clock is wrong): pushed ones the peer did not take (sent
    /// again at every sync, taken once its clock is within the drift), pulled ones (from a peer
    /// other than this node's hub) not merged here.
    public var ahead = 0
    /// Which records (`collection/id`, at most 100).
    public var aheadRecords: [String] = []
    /// Records pulled from a peer other than this node's hub and not taken: they rewrite, drop or
    /// bring back what this node holds of another node's writes (a forged or broken state).
    public var refused = 0
    /// Which records (`collection/id`, at most 100).
    public var refusedRecords: [String] = []
    /// Records the peer refused to take from this node (origin binding: 403 `forbidden` naming
    /// them): this node's version rewrites or drops what another node wrote, as the peer holds it.
    /// An honest station comes to hold one from a rogue LAN peer or a crafted change file, when
    /// it had no copy of the record (or an older one) to check that version against. Every other
    /// record went on; these wait here, sent again at every sync.
    public var refusedByPeer = 0
    /// Which records (`collection/id`, at most 100).
    public var refusedByPeerRecords: [String] = []
    /// Records not sent: they hold a write of this node stamped more than the allowed drift
    /// ahead of this node's clock, made while this machine's clock was wrong (set ahead, then
    /// put right). The peer would refuse them, and the whole push with them, until its clock
    /// reaches their time; they wait here, sent again at every sync, and everything else goes on.
    public var heldBack = 0
    /// Which records (`collection/id`, at most 100).
    public var heldBackRecords: [String] = []
    /// Records here holding conflicts after the sync (any policy).
    public var recordsWithConflicts = 0
    /// Whether the checkpoint was reset because the peer's database is new to this node.
    public var startedOver = false
    /// Collections added to the local schema from the peer's.
    public var schemaAdditions: [String] = []
    /// Whether the pull stopped at ``SyncEngine/maxPulledFromPeer`` changes from a peer that is
    /// not this node's hub, with more to come: the next sync goes on from there.
    public var pullCut = false
    /// Whether the pull stopped early because the sync was asked to stop (``SyncEngine/stopRequested``,
    /// a shutdown): the next sync goes on from there.
    public var stopped = false
    public var seconds = 0.0
    /// Body bytes on the wire (filled in by an HTTP caller; 0 in process).
    public var bytesSent = 0
    public var bytesReceived = 0
    /// How far this node's clock is ahead (positive) of the peer's or behind it, in ms, measured
    /// at the session (nil: the peer did not say its time).
    public var clockOffset: Int64?

    /// What stands after a sync beyond what moved, which a periodic sync reports when it
    /// changes: the records left out and why, and a clock off by more than ``clockWarning``.
    public var standing: [Int] {
        [
            notSent, waiting, collisions, overLimit, ahead, refused, refusedByPeer, heldBack, schemaWaiting,
            (clockOffset.map { abs($0) > Self.clockWarning } ?? false) ? 1 : 0,
        ]
    }

    /// Whether the sync sent or received anything, or did something once worth a line (took
    /// schema additions, started over with the peer, cut its pull short, stopped).
    public var moved: Bool { pushed > 0 || pulled > 0 || !schemaAdditions.isEmpty || startedOver || pullCut || stopped }

    /// A clock offset past which `station sync` warns (one minute).
    public static let clockWarning: Int64 = 60_000

    public init() {}

    /// Records pulled from a peer that is not the schema's source of truth and not merged: they
    /// need a collection or a field policy that peer declares and this node does not (yet).
    public var schemaWaiting = 0
    /// Which (`collection/id`, at most 100).
    public var schemaWaitingRecords: [String] = []

    /// Counts `key` once in `count` and names it in `records` (at most 100).
    private static func note(_ key: RecordKey, _ count: inout Int, _ records: inout [String]) {
        // A record left out on the push and the pull of one sync is one record.
        guard !records.contains(key.description) else { return }
        count += 1
        if records.count < 100 { records.append(key.description) }
    }

    mutating func noteSchemaWaiting(_ key: RecordKey) {
        schemaWaiting += 1
        if schemaWaitingRecords.count < 100 { schemaWaitingRecords.append(key.description) }
    }

    mutating func noteCollision(_ key: RecordKey) { Self.note(key, &collisions, &collisionRecords) }
    mutating func noteOverLimit(_ key: RecordKey) { Self.note(key, &overLimit, &overLimitRecords) }
    mutating func noteAhead(_ key: RecordKey) { Self.note(key, &ahead, &aheadRecords) }
    mutating func noteHeldBack(_ key: RecordKey) { Self.note(key, &heldBack, &heldBackRecords) }
    mutating func noteRefusedByPeer(_ key: RecordKey) { Self.note(key, &refusedByPeer, &refusedByPeerRecords) }

    /// Notes a record the peer or this node left out for `result` (collision, over_limit, ahead).
    mutating func noteLeftOut(_ key: RecordKey, _ result: MergeResult) {
        switch result {
        case .collision: noteCollision(key)
        case .overLimit: noteOverLimit(key)
        case .ahead: noteAhead(key)
        case .refused: Self.note(key, &refused, &refusedRecords)
        case .waiting, .unchanged, .applied, .merged, .created: break
        }
    }

    public var json: JSONValue {
        .object([
            "peer": .string(peer), "pushed": .int(Int64(pushed)), "pulled": .int(Int64(pulled)),
            "created": .int(Int64(created)), "applied": .int(Int64(applied)), "merged": .int(Int64(merged)),
            "unchanged": .int(Int64(unchanged)), "notSent": .int(Int64(notSent)), "waiting": .int(Int64(waiting)),
            "waitingRecords": .array(waitingRecords.map { .string($0) }),
            "collisions": .int(Int64(collisions)), "collisionRecords": .array(collisionRecords.map { .string($0) }),
            "overLimit": .int(Int64(overLimit)), "overLimitRecords": .array(overLimitRecords.map { .string($0) }),
            "ahead": .int(Int64(ahead)), "aheadRecords": .array(aheadRecords.map { .string($0) }),
            "heldBack": .int(Int64(heldBack)), "heldBackRecords": .array(heldBackRecords.map { .string($0) }),
            "refused": .int(Int64(refused)), "refusedRecords": .array(refusedRecords.map { .string($0) }),
            "refusedByPeer": .int(Int64(refusedByPeer)), "refusedByPeerRecords": .array(refusedByPeerRecords.map { .string($0) }),
            "recordsWithConflicts": .int(Int64(recordsWithConflicts)), "startedOver": .bool(startedOver), "pullCut": .bool(pullCut),
            "stopped": .bool(stopped),
            "schemaAdditions": .array(schemaAdditions.map { .string($0) }), "seconds": .double(seconds),
            "bytesSent": .int(Int64(bytesSent)), "bytesReceived": .int(Int64(bytesReceived)),
            "clockOffset": clockOffset.map { .int($0) } ?? .null,
            "schemaWaiting": .int(Int64(schemaWaiting)), "schemaWaitingRecords": .array(schemaWaitingRecords.map { .string($0) }),
        ])
    }
}

/// A clock offset in words, for people.
public enum ClockOffset {
    /// A duration in words: `3 h 2 min`, `5 min 10 s`, `42 s`.
    public static func duration(_ ms: Int64) -> String {
        let s = abs(ms) / 1000
        if s >= 86_400 { return "\(s / 86_400) d \(s % 86_400 / 3600) h" }
        if s >= 3600 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        if s >= 60 { return "\(s / 60) min \(s % 60) s" }
        return "\(s) s"
    }

    /// `3 h 2 min ahead of` (positive) or `… behind`.
    public static func words(_ ms: Int64) -> String { duration(ms) + (ms > 0 ? " ahead of" : " behind") }

    /// What a dashboard or `hub info` shows of a station's offset: `ok` within a minute, else
    /// `3 h 2 min ahead` or `… behind`; `unknown` when not measured.
    public static func status(_ ms: Int64?) -> String {
        guard let ms else { return "unknown" }
        guard abs(ms) > SyncSummary.clockWarning else { return "ok" }
        return duration(ms) + (ms > 0 ? " ahead" : " behind")
    }
}

/// Progress of a running sync, for a progress bar.
public struct SyncProgress: Sendable {
    public enum Phase: String, Sendable { case push, pull }
    public var phase: Phase
    public var done: Int
    /// Known for pushes (local changes to send); nil for pulls.
    public var total: Int?
}

/// One sync with one peer: push local changes since the push checkpoint, then pull the peer's
/// since the pull checkpoint, in bounded batches.
///
/// - Memory is bounded by the batch size, whatever the size of either database.
/// - Each pulled batch is merged in one transaction together with its checkpoint, so a crash
///   anywhere loses nothing and repeats only idempotent work.
/// - Changes that came from the peer are not sent back to it.
/// - A sync with nothing new costs a session call, one empty index range on each side and no
///   schema transfer (schemas are compared by fingerprint first).
public struct SyncEngine {
    public var storage: any SyncStorage
    public var transport: any SyncTransport
    public var batchSize: Int
    public var logger: Logger
    public var progress: ((SyncProgress) -> Void)?
    /// Asks the peer to make this database its node's one though another database writes as it
    /// (`station sync --take-over`, see StationStore+Writers.swift).
    public var takeOver = false
    /// Takes schema additions from this peer though it is not a hub this node syncs with by its
    /// token (`station sync --trust-schema`: a peer the operator trusts with the schema).
    public var trustSchema = false
    /// Starts over with the peer: pushes and pulls everything again (`--full`; merging makes it
    /// safe).
    public var full = false
    /// The most changes one sync pulls from a peer that is not this node's hub (nor trusted with
    /// the schema): a LAN peer answering `more` without end (a rogue one) cannot fill this node's
    /// disk in one sync. What it holds beyond comes at the next sync, from where this one stopped.
    public var maxPulledFromPeer = 200_000
    /// Asked between pulled pages: true ends the pull after the page being merged, each page
    /// kept with its cursor (a shutdown: `sync --every` stops promptly, the next sync goes on
    /// from there).
    public var stopRequested: @Sendable () -> Bool = { false }

    public init(
        storage: any SyncStorage, transport: any SyncTransport, batchSize: Int = 500,
        logger: Logger = Logger(label: "stationsync.sync"), progress: ((SyncProgress) -> Void)? = nil
    ) {
        self.storage = storage
        self.transport = transport
        self.batchSize = batchSize
        self.logger = logger
        self.progress = progress
    }

    /// Runs one sync.
    public func run() async throws -> SyncSummary {
        let started = Date()
        var summary = SyncSummary()
        let asked = storage.wallTime()
        let session = try await transport.session()
        let answered = storage.wallTime()
        // Checked as a node name when the session's answer was read (PeerInfo).
        let peer = NodeID(unchecked: session.info.node)
        summary.peer = peer.rawValue
        if let time = session.time {
            // The peer's clock read `time` somewhere between asking and the answer: take the middle.
            let middle = asked / 2 + answered / 2
            summary.clockOffset = Int64(clamping: middle) - Int64(clamping: time)
        }
        guard !peer.rawValue.hasSameBytes(as: storage.node.rawValue) else {
            throw SyncError(.badRequest, "the peer is this node itself (\(peer)); sync with another node")
        }
        if let station = session.station, station != storage.node.rawValue {
            throw SyncError(
                .forbidden,
                "the token belongs to \(station) but this node is \(storage.node); each node syncs with its own token (hub token add --db … \(storage.node))"
            )
        }
        guard session.info.protocolVersion == PeerInfo.currentProtocol else {
            let version = session.info.protocolVersion, ours = PeerInfo.currentProtocol
            throw SyncError(
                .protocolError,
                "\(peer) speaks protocol \(version) and this node \(ours): upgrade StationSync "
                    + (version < ours ? "on \(peer)" : "on this node")
                    + " (\(PeerInfo.whatChanged(since: min(version, ours)))); nothing was synced")
        }

        // A hub this node syncs with by its token proves at every session that it holds the
        // token (the transport checked it). A peer naming itself after such a hub without that
        // proof is posing as it: its answers would move the hub's checkpoint (and so hide
        // everything after it from this node) and be taken without the checks a LAN peer's
        // answers meet. Refused before anything changes.
        let known = try await storage.checkpoint(peer: peer)
        if known.byToken == true, !session.provenByToken {
            throw SyncError(
                .unprovenPeer,
                "this peer names itself \(peer), a hub this node syncs with by its token, but did not prove that it holds this node's token "
                    + "(a LAN peer posing as the hub, or the hub asked with another token); nothing was synced. Sync with \(peer) with "
                    + "this node's own token")
        }

        // Schemas: compare by fingerprint; fetch and check only when they differ. Additions are
        // taken from the schema's source of truth only: a hub this node syncs with by its token
        // (`provenByToken`), or a peer the operator trusts with it (`trustSchema`). What another
        // peer declares beyond this schema waits: records that need it are not merged (listed).
        var peerCollections = Set(storage.schema.collectionNames)
        var pending: [String: Set<String>] = [:]
        var previousSchema: Schema?
        if session.info.schemaFingerprint != storage.schema.fingerprint {
            let remote = try await transport.schema()
            let disagreements = storage.schema.disagreements(with: remote)
            if !disagreements.isEmpty {
                throw SyncError(
                    .schemaMismatch,
                    "schema mismatch with \(peer): " + disagreements.map(\.description).joined(separator: "; ")
                        + " (a field's policy and type must be the same on every node)")
            }
            if session.provenByToken || trustSchema {
                let extended = storage.schema.adding(remote)
                if extended != storage.schema {
                    do {
                        try extended.checkBounds(what: "the schema with \(peer)'s additions")
                    } catch {
                        throw SyncError(.schemaMismatch, "\(error); nothing of it was taken")
                    }
                    let before = storage.schema
                    previousSchema = before
                    try await storage.extendSchema(with: remote, from: peer)
                    let after = storage.schema
                    summary.schemaAdditions = after.additions(over: before)
                    // Records of this peer held back for want of these (an earlier sync without
                    // trust) are behind the pull cursor: start over with it (merging is idempotent).
                    try await startOver(with: peer, database: session.info.database, known: known)
                    summary.startedOver = true
                }
            } else {
                pending = storage.schema.pendingFields(from: remote)
            }
            peerCollections = Set(remote.collectionNames)
        }
        do {
            try await exchange(session: session, peer: peer, pending: pending, peerCollections: peerCollections, summary: &summary)
        } catch {
            // Additions are never kept from a failed sync that kept nothing needing them.
            if let previousSchema, summary.created + summary.applied + summary.merged + summary.unchanged == 0 {
                try? await storage.restoreSchema(previousSchema)
            }
            throw error
        }
        summary.seconds = Date().timeIntervalSince(started)
        return summary
    }

    /// Starts over with `peer`, whose database is now `database` (`known`: its checkpoint until
    /// now). When that database replaced another (restored from a backup, made again), or on
    /// `full`, the records that came from the peer go back to it too (``LeftBehind/sendsBack``),
    /// noted before anything is pushed, so that a sync failing on the way goes on sending back.
    private func startOver(with peer: NodeID, database: String, known: Checkpoint) async throws {
        let replaced = !known.peerDatabase.isEmpty && known.peerDatabase != database
        // In the same transaction as the reset: a sync killed after it still sends back.
        try await storage.resetCheckpoint(peer: peer, peerDatabase: database, sendsBack: replaced || full)
    }

    /// The most pushes one sync tries, after the peer refused some records (see ``Refused``):
    /// one per batch holding such records.
    static let maxPushAttempts = 1000

    /// The push and pull of a sync, once the session and schemas are settled.
    private func exchange(
        session: PeerSession, peer: NodeID, pending: [String: Set<String>], peerCollections: Set<String>, summary: inout SyncSummary
    ) async throws {

        // A peer database we have not synced with (or that was replaced): start over with it.
        // So too when the peer proves it holds this node's token (a hub) and the checkpoint kept
        // under its name was moved by a peer that did not: one naming itself after the hub
        // before this node first synced with the hub (see ``run()``). A checkpoint older than
        // the proof (nil) is the hub's own.
        var checkpoint = try await storage.checkpoint(peer: peer)
        let movedByAnother = session.provenByToken && checkpoint.byToken == false
        let unreadable = checkpoint.leftBehind.unreadable
        if checkpoint.peerDatabase != session.info.database || full || movedByAnother || unreadable {
            if unreadable {
                logger.warning(
                    "what earlier syncs left behind with this peer cannot be read from this database; syncing everything again",
                    metadata: ["peer": "\(peer)"])
            } else if movedByAnother {
                logger.warning(
                    "a peer that did not prove it holds this node's token synced under this hub's name before; syncing everything again",
                    metadata: ["peer": "\(peer)"])
            } else if !checkpoint.peerDatabase.isEmpty, !full {
                logger.warning("peer database changed; syncing everything again", metadata: ["peer": "\(peer)"])
            }
            try await startOver(with: peer, database: session.info.database, known: checkpoint)
            checkpoint = try await storage.checkpoint(peer: peer)
            summary.startedOver = true
        }
        try await storage.setPeerProvenByToken(session.provenByToken, peer: peer)

        try await storage.setPeerMayRelay(session.relay, peer: peer)
        // What earlier syncs moved past without syncing it (see ``LeftBehind``), synced now if it can be.
        var left = checkpoint.leftBehind
        let sendsBack = left.sendsBack
        let sendable = peerCollections.filter { session.write.allows($0) }
        var from = checkpoint.pushed
        var pullFrom = checkpoint.pulled
        let nowSendable = left.unsent.intersection(sendable)
        let declared = left.declared(in: storage.schema)
        if !nowSendable.isEmpty || !declared.isEmpty {
            // What can be synced now leaves the list in the same transaction as the positions
            // move back: a sync cut short goes on from where they are then; what the push and
            // pull below find left behind again joins the list as they go.
            let pushAgain = !nowSendable.isEmpty && from > 0
            let pullAgain = !declared.isEmpty && !pullFrom.isBeginning
            if pushAgain {
                logger.notice(
                    "changes of collections earlier syncs could not send (the peer lacked them or the token could not write them) can go now; pushing everything again",
                    metadata: ["peer": "\(peer)", "collections": "\(nowSendable.sorted().joined(separator: ", "))"])
            }
            if pullAgain {
                logger.notice(
                    "records this peer served that waited for this node's schema can be merged now; pulling everything again from it",
                    metadata: ["peer": "\(peer)", "collections": "\(declared.keys.sorted().joined(separator: ", "))"])
            }
            let update = LeftBehind.Update(sendable: nowSendable, declared: declared)
            left = left.applying(update, peerDatabase: session.info.database)
            try await storage.rewind(peer: peer, pushed: pushAgain ? 0 : nil, pullAgain: pullAgain, update: update)
            if pushAgain { from = 0 }
            if pullAgain { pullFrom = .beginning }
        }
        var holdBack = false
        var refused: Refused = []
        var attempts = 0
        while true {
            attempts += 1
            do {
                try await push(
                    from: from, to: peer, session: session, sendable: sendable, sendsBack: sendsBack, holdBack: holdBack, refused: &refused,
                    left: &left, summary: &summary)
                break
            } catch let error as SyncError where error.code == .clockDrift && !holdBack {
                // The peer refused a write of this node stamped too far ahead of its clock. If this
                // node's clock says so too, the write was made while it was wrong (and it is right
                // now): such records are held back and the rest goes. If not, the retry is refused
                // again, and this machine's clock is wrong now: the error says so.
                logger.warning("\(error); trying again without the records this node wrote while its clock was wrong", metadata: ["peer": "\(peer)"])
                holdBack = true
            } catch let error as SyncError {
                // The peer refused records of a batch by origin binding (see ``Refused``): the push
                // goes on without them, from the first batch not acknowledged. Every retry leaves
                // out more records (all the peer refuses in a batch at once), so this ends; a peer
                // that names records without end is given up on.
                guard let named = Self.newlyRefused(error, refused: refused), attempts < Self.maxPushAttempts else { throw error }
                logger.warning("\(error); trying again without them", metadata: ["peer": "\(peer)", "refused": "\(named.count)"])
                refused.formUnion(named)
            }
            from = try await storage.checkpoint(peer: peer).pushed
        }
        // One push of everything has finished: what came from the peer went back.
        if left.sendsBack {
            left.sendsBack = false
            try await storage.updateLeftBehind(peer: peer, LeftBehind.Update(sentBack: session.info.database))
        }
        // What this node's hub (or a peer trusted with the schema) serves it took under its own
        // clock's drift rule and origin binding: not checked again here (this node's clock may be
        // the wrong one). What another peer serves meets both, record by record: a write stamped
        // too far ahead, or a state that rewrites or drops what another node wrote (which the hub
        // would refuse at every later push of this node), is left out.
        let checksDrift = !session.provenByToken && !trustSchema
        try await pull(
            from: pullFrom, until: session.feed, peer: peer, database: session.info.database, pending: pending, checksDrift: checksDrift,
            limit: checksDrift ? maxPulledFromPeer : nil, left: &left, summary: &summary)

        summary.recordsWithConflicts = try await storage.conflictedRecordCount()
    }

    /// Pulls batches until the peer has no more. Each batch is merged, with its cursor, in a task
    /// of its own while the next one is requested and decoded; a failed request waits for the
    /// merge in progress to finish, so everything received before it is kept. No merge outlives
    /// the pull: each is awaited before the next starts, and on every way out.
    /// `limit`: the most changes to take in this sync (see ``maxPulledFromPeer``), nil for no limit.
    /// Records holding what this schema lacks (`pending`) are not merged: what they need joins
    /// `left` (stored before the cursor moves past them), so that they are pulled again once it is declared.
    /// `until`: where the peer's feed stood at the session; the pull ends once past it (what was
    /// written there since comes at the next sync, so a sync ends however fast others write).
    private func pull(
        from start: FeedCursor, until end: FeedCursor?, peer: NodeID, database: String, pending: [String: Set<String>], checksDrift: Bool,
        limit: Int?, left: inout LeftBehind, summary: inout SyncSummary
    ) async throws {
        let endSeq = end.map { $0.seq(in: database) }
        var cursor = start
        // What this pull noted as waiting for this node's schema (see ``LeftBehind/pullWaiting``).
        var notedWaiting = LeftBehind()
        var merging: Task<[MergeResult], any Error>?
        var mergingKeys: [RecordKey] = []
        func finishMerge() async throws {
            guard let work = merging else { return }
            merging = nil
            for (key, r) in zip(mergingKeys, try await work.value) {
                switch r {
                case .created: summary.created += 1
                case .applied: summary.applied += 1
                case .merged: summary.merged += 1
                case .unchanged: summary.unchanged += 1
                case .waiting: break  // only a push is answered so
                case .collision, .overLimit, .ahead, .refused: summary.noteLeftOut(key, r)
                }
            }
            progress?(SyncProgress(phase: .pull, done: summary.pulled, total: nil))
        }
        do {
            while true {
                let response = try await transport.pull(cursor: cursor, limit: batchSize)
                guard response.node.hasSameBytes(as: peer.rawValue) else {
                    throw SyncError(.protocolError, "expected changes from \(peer), got them from \(response.node)")
                }
                // A page holds at most the changes asked for (review round 8, F2: one page of
                // 300,000 changes passed every bound of a sync).
                guard response.changes.count <= batchSize else {
                    throw SyncError(.protocolError, "\(peer) answered \(response.changes.count) changes where at most \(batchSize) were asked for")
                }
                // A page says more follow only when it is full: an empty one saying so would be
                // asked for again without end.
                guard !response.more || !response.changes.isEmpty else {
                    throw SyncError(
                        .protocolError, "\(peer) answered an empty page of changes saying more follow (from cursor \(cursor.text.prefix(64)))")
                }
                let schema = storage.schema
                var incoming: [IncomingChange] = []
                incoming.reserveCapacity(response.changes.count)
                var waitingFor: [String: Set<String>] = [:]
                for change in response.changes {
                    guard let collection = schema.collections[change.collection] else {
                        if pending[change.collection] != nil {
                            // A collection the peer declares and the hub does not (yet): waits.
                            summary.noteSchemaWaiting(RecordKey(change.collection, change.id))
                            waitingFor[change.collection] = []
                            continue
                        }
                        throw SyncError(
                            .unknownCollection, "\(peer) sent \(change.collection)/\(change.id) but this node has no collection \(change.collection)")
                    }
                    let decoded: IncomingChange
                    do {
                        decoded = try IncomingChange(change, collection: collection)
                    } catch  where error.code == .beyondLimit {
                        // Past a limit of what a state may hold (an older node stored it): left
                        // out and listed; the others go on.
                        logger.warning("\(change.collection)/\(change.id) from \(peer): \(error); left out")
                        summary.noteOverLimit(RecordKey(change.collection, change.id))
                        continue
                    } catch {
                        throw SyncError(.invalidState, "\(peer) sent an invalid \(change.collection)/\(change.id): \(error)")
                    }
                    if let fields = pending[change.collection], case let held = fields.filter({ decoded.state.fields[$0] != nil }), !held.isEmpty {
                        // It holds a field the peer declares with another policy than it has here.
                        summary.noteSchemaWaiting(RecordKey(change.collection, change.id))
                        waitingFor[change.collection, default: []].formUnion(held)
                        continue
                    }
                    incoming.append(decoded)
                }
                if !waitingFor.isEmpty {
                    var grown = notedWaiting
                    grown.addPullWaiting(waitingFor)
                    // Decided by what this sync noted, not by the value read when it started
                    // (another sync with this peer may have taken it out since; review 16, G1).
                    if grown != notedWaiting {
                        // Noted before this page's cursor is stored.
                        try await finishMerge()
                        notedWaiting = grown
                        left.addPullWaiting(waitingFor)
                        try await storage.updateLeftBehind(peer: peer, LeftBehind.Update(pullWaiting: waitingFor))
                    }
                }
                // Batches are merged in order: the previous one first.
                try await finishMerge()
                let (storage, next) = (self.storage, response.next)
                mergingKeys = incoming.map { RecordKey($0.collection, $0.id) }
                merging = Task { [incoming] in
                    let now = storage.wallTime()
                    // Read before the transaction: the check runs inside it and must not call the storage.
                    let collections = storage.schema.collections
                    let check: @Sendable (IncomingChange, RecordState?) throws -> Void = { change, local in
                        do {
                            try OriginCheck.verify(
                                change.state, local: local, caller: nil, collection: change.collection, id: change.id,
                                schema: collections[change.collection])
                        } catch let error as SyncError where error.code == .forbidden {
                            throw SyncError(.refusedChange, "\(error.message) (served by \(peer); not taken)")
                        }
                        try SyncService.checkDrift(
                            change.state, local: local, now: now, sender: nil, collection: change.collection, id: change.id)
                    }
                    return try await storage.apply(incoming, from: peer, cursor: next, claim: nil, check: checksDrift ? check : nil)
                }
                summary.pulled += incoming.count
                cursor = response.next
                if !response.more { break }
                if let endSeq, endSeq > 0, cursor.seq(in: database) >= endSeq {
                    logger.info(
                        "pulled what the peer held when this sync began; what was written there since comes at the next sync",
                        metadata: ["peer": "\(peer)", "changes": "\(summary.pulled)"])
                    break
                }
                if stopRequested() {
                    logger.notice("stopping: the pull ends after the page merged; the next sync goes on from here", metadata: ["peer": "\(peer)"])
                    summary.stopped = true
                    break
                }
                if let limit, summary.pulled >= limit {
                    logger.warning(
                        "pulled the most changes one sync takes from a peer that is not this node's hub; the next sync goes on from here",
                        metadata: ["peer": "\(peer)", "changes": "\(summary.pulled)"])
                    summary.pullCut = true
                    break
                }
            }
            try await finishMerge()
        } catch {
            _ = try? await merging?.value
            throw error
        }
    }
}
