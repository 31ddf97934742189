import Foundation
import Logging
import StationCore

/// The serving side of the sync protocol, as plain functions over a node's storage: the HTTP
/// server maps requests to these, and tests call them directly. Everything a request is refused
/// for is checked before anything is written.
public struct SyncService: Sendable {
    /// How callers authenticate.
    public enum Authentication: Sendable {
        /// Bearer tokens made with `hub token add`, stored hashed in the database.
        case tokens
        /// One shared bearer token (`station serve --token`); callers are trusted peers.
        case sharedToken(String)
        /// No authentication (`station serve` without a token, loopback use).
        case none
    }

    public let storage: any SyncStorage
    public let authentication: Authentication
    /// Most changes in one push.
    public var maxPushChanges = 1000
    /// Most changes in one pull, and the default.
    public var maxPullLimit = 1000
    public var defaultPullLimit = 500
    /// What pushes and pulls are counted into (nothing, by default).
    public var metrics = SyncMetrics()
    /// Where CPU-bound work runs (decoding a push): inline by default; `hub serve` and `station
    /// serve` pass threads of their own, so that sessions, pulls and health checks keep being
    /// served on the cooperative pool while a large push decodes (review 16, G2).
    public var cpuWork: any CPUWork = InlineCPUWork()
    let logger: Logger

    public init(storage: any SyncStorage, authentication: Authentication, logger: Logger = Logger(label: "stationsync.sync")) {
        self.storage = storage
        self.authentication = authentication
        self.logger = logger
    }

    /// The principal behind an `Authorization` header value (`Bearer TOKEN`).
    public func authenticate(authorization: String?) async throws(SyncError) -> Principal {
        let token: String? = authorization.flatMap { header in
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            return String(parts[1]).trimmingCharacters(in: .whitespaces)
        }
        switch authentication {
        case .none:
            return .trustedPeer
        case .sharedToken(let shared):
            guard let token, Tokens.constantTimeEqual(Array(token.utf8), Array(shared.utf8)) else {
                throw SyncError(.unauthorized, "missing or invalid bearer token")
            }
            return .trustedPeer
        case .tokens:
            do {
                return try await Tokens.authenticate(token) { id in try await storage.token(id: id) }
            } catch  where error.code == .tokenRevoked {
                logger.warning("a revoked token was used", metadata: ["error": "\(error.message)"])
                throw error
            }
        }
    }

    /// `GET /v1/health`.
    public func health() -> PeerInfo {
        PeerInfo(node: storage.node.rawValue, database: storage.databaseID, schemaFingerprint: storage.schema.fingerprint)
    }

    /// `GET /v1/session`: who the caller is here and what it may do, with the node's identity and
    /// its wall time (`time`, ms since 1970), so the caller can tell how far off its clock is.
    /// `callerTime`, the caller's wall time as it sent the request, is noted as its clock offset
    /// (for the dashboard and `hub info`).
    ///
    /// `challenge`: the caller's random challenge; when the caller presented a stored token, the
    /// answer's `proof` shows that this node holds that token (``Tokens/sessionProof``).
    public func session(
        _ principal: Principal, callerTime: UInt64? = nil, requester: String? = nil, challenge: String? = nil
    ) async -> JSONValue {
        let now = storage.wallTime()
        var info = health().json.objectValue!
        // Where the feed stands now: a caller's pull ends there, so a sync ends however fast
        // others write meanwhile (what they write comes at its next sync).
        if let last = try? await storage.lastSequence() {
            info["feed"] = .string(FeedCursor(database: storage.databaseID, seq: last).text)
        }
        info["station"] = principal.station.map { .string($0) } ?? .null
        if let station = principal.station, let secretHash = principal.secretHash, let challenge, Tokens.isChallenge(challenge) {
            info["proof"] = .string(
                Tokens.sessionProof(
                    secretHash: secretHash, challenge: challenge, node: storage.node.rawValue, database: storage.databaseID, station: station))
        }
        info["read"] = .string(principal.read.description)
        info["write"] = .string(principal.write.description)
        info["relay"] = .bool(principal.relay)
        info["time"] = .int(Int64(clamping: now))
        if let callerTime, callerTime <= HLCTimestamp.maxWall,
            let station = principal.station ?? requester.flatMap({ NodeID.isValid($0) ? NodeID(unchecked: $0).station : nil })
        {
            storage.noteClockOffset(station: station, milliseconds: Int64(callerTime) - Int64(clamping: now))
        }
        return .object(info)
    }

    /// The checks a received state meets before it is merged, a push's and a change file's alike:
    /// origin binding against `origin` (nil: the caller may relay), for a collection the caller
    /// may write but not read (`writeOnly`) only its own writes; then the drift rule against
    /// `sender`. Origin first: a station's push that brings another node's write this node has
    /// not seen waits for it, whatever that write's time.
    public static func checkReceived(
        _ state: RecordState, local: RecordState?, origin: NodeID?, sender: NodeID, now: UInt64, collection: String, id: String,
        schema: CollectionSchema?, writeOnly: Bool = false
    ) throws(SyncError) {
        if let origin {
            if writeOnly { try OriginCheck.verifyOnlyOwn(state, caller: origin, collection: collection, id: id) }
            try OriginCheck.verify(state, local: local, caller: origin, collection: collection, id: id, schema: schema)
        }
        try checkDrift(state, local: local, now: now, sender: sender, collection: collection, id: id)
    }

    /// Refuses a received state holding a write stamped further ahead of this node's wall clock
    /// than ``HybridLogicalClock/defaultMaxForwardDrift``, unless this node holds that very value
    /// (its dot and time) already: such a write would win every `lww` race for as long as its
    /// time is ahead. Every value and resolution entry counts, not only those of writes new to
    /// this node: an old dot carrying a new time is no less ahead.
    ///
    /// A write of `sender` itself (any incarnation) refuses the whole request (`clock_drift`,
    /// naming the record, the writer and the time): the sender's clock is wrong, and it is told
    /// so. A write of another node only leaves this record out (`write_ahead`, merge result
    /// `ahead`): a station that took it from a LAN peer, or a relay that forwards it, is not held
    /// up for every other record. `sender` nil (a pull): every such write leaves its record out.
    public static func checkDrift(
        _ incoming: RecordState, local: RecordState?, now: UInt64, sender: NodeID?, collection: String, id: String
    ) throws(SyncError) {
        let limit = now &+ HybridLogicalClock.defaultMaxForwardDrift
        var own: (Dot, HLCTimestamp)?
        var other: (Dot, HLCTimestamp)?
        func note(_ dot: Dot, _ time: HLCTimestamp) {
            if let sender, dot.node.isIncarnation(of: sender.station) {
                if own == nil { own = (dot, time) }
            } else if other == nil {
                other = (dot, time)
            }
        }
        if incoming.latestTime.wall > limit {
            func held<V>(_ v: DottedValue<V>, in register: [DottedValue<V>]?) -> Bool {
                register?.contains { $0.dot == v.dot && $0.time == v.time } ?? false
            }
            for v in incoming.existence where v.time.wall > limit && !held(v, in: local?.existence) { note(v.dot, v.time) }
            for (name, register) in incoming.fields {
                for v in register where v.time.wall > limit && !held(v, in: local?.fields[name]) { note(v.dot, v.time) }
            }
        }
        for r in incoming.resolutions where r.time.wall > limit && !(local?.resolutions.contains(r) ?? false) { note(r.by, r.time) }
        func stamped(_ dot: Dot, _ time: HLCTimestamp) -> String {
            let by = ClockOffset.duration(Int64(clamping: time.wall - now))
            let when = Date(timeIntervalSince1970: Double(time.wall) / 1000).formatted(.iso8601)
            return "\(collection)/\(id): the write \(dot) is stamped \(when), \(by) ahead of this node's clock "
                + "(at most \(HybridLogicalClock.defaultMaxForwardDrift / 3_600_000) h is accepted)"
        }
        if let (dot, time) = own {
            throw SyncError(
                .clockDrift,
                stamped(dot, time)
                    + ": the clock of \(dot.node.station) is wrong; fix it (station sync warns when a station's clock is off); nothing was taken")
        }
        if let (dot, time) = other {
            throw SyncError(
                .writeAhead,
                stamped(dot, time)
                    + ": the clock of \(dot.node.station) is wrong; this record is left out (result ahead) until this node's clock is within the drift of it; the others go on"
            )
        }
    }

    /// `GET /v1/schema`.
    public func schema() -> JSONValue {
        .object(["node": .string(storage.node.rawValue), "fingerprint": .string(storage.schema.fingerprint), "schema": storage.schema.json])
    }

    /// One page of the change feed as `GET /v1/changes` answers it.
    public struct PullPage: Sendable {
        /// The encoded response body.
        public var body: [UInt8]
        /// The feed sequence the page reaches (its `next` cursor).
        public var nextSince: Int64
        /// The cursor to ask for the next page with.
        public var next: FeedCursor
        /// Whether more changes follow.
        public var more: Bool
        /// How many changes it holds.
        public var count: Int

        public init(body: [UInt8], nextSince: Int64, next: FeedCursor, more: Bool, count: Int = 0) {
            self.body = body
            self.nextSince = nextSince
            self.next = next
            self.more = more
            self.count = count
        }
    }

    /// `GET /v1/changes?since=CURSOR&limit=N`: the encoded response body. `requester` (the
    /// caller's node) is left out as a source, so its own changes are not echoed back.
    public func pull(since: String?, limit: String?, principal: Principal, requester: String?) async throws(SyncError) -> [UInt8] {
        let page = try await readPage(since: since, limit: limit, principal: principal, requester: requester)
        notePulled(page, principal: principal, requester: requester)
        return page.body
    }

    /// The page `pull` answers, read without noting the caller's activity (see ``notePulled``):
    /// a server may read a page ahead, before the caller asks for it.
    ///
    /// `requester` is the caller's writer name (`NODE.INCARNATION`, or a bare node name): what it
    /// pushed here was recorded under that name, and exactly that is left out. Writes an earlier
    /// incarnation of the same node pushed (before a reinstall or a restore) come back to it.
    public func readPage(since sinceText: String?, limit: String?, principal: Principal, requester: String?) async throws(SyncError) -> PullPage {
        if let requester, !NodeID.isValid(requester) {
            throw SyncError(.badRequest, "X-StationSync-Node \"\(requester.prefix(80))\" is not a node name")
        }
        if let station = principal.station, let requester, !NodeID(unchecked: requester).isIncarnation(of: station) {
            // Its changes would be left out as the token owner's: the caller would silently miss them.
            throw SyncError(.forbidden, "this token belongs to \(station); node \(requester) must sync with its own token")
        }
        let since: FeedCursor
        do {
            since = try FeedCursor(checking: sinceText ?? "")
        } catch {
            throw SyncError(.invalidCursor, "cursor \"\((sinceText ?? "").prefix(64))\" is not one this node gave out (expected DATABASE.SEQ)")
        }
        var seq = since.seq(in: storage.databaseID)
        if seq > 0 {
            // A cursor past this feed's end was never given out by this database (a peer posing
            // as this node handed it to the caller): from the start, so the caller misses nothing.
            let last: Int64
            do { last = try await storage.lastSequence() } catch {
                metrics.recordStoreError("feed")
                throw SyncError(.internal, "reading the change feed failed")
            }
            if seq > last {
                logger.warning(
                    "a pull from past the end of the change feed (a cursor this node never gave out); serving it from the start",
                    metadata: ["since": "\(seq)", "last": "\(last)", "caller": "\(requester ?? principal.station ?? "?")"])
                seq = 0
            }
        }
        var n = defaultPullLimit
        if let limit {
            guard let value = Int(limit), value >= 1, value <= maxPullLimit else {
                throw SyncError(.badRequest, "limit must be an integer from 1 to \(maxPullLimit), not \"\(limit.prefix(32))\"")
            }
            n = value
        }
        let readable: Set<String>? = principal.read == .all ? nil : principal.read.filter(storage.schema.collectionNames)
        let batch: ChangeBatch
        do {
            batch = try await storage.changes(
                since: seq, limit: n, excludingSource: requester ?? principal.station, collections: readable, maxBytes: Limits.pageBytes)
        } catch {
            logger.error("pull failed", metadata: ["error": "\(error)"])
            metrics.recordStoreError("pull")
            throw SyncError(.internal, "reading changes failed")
        }
        let next = FeedCursor(database: storage.databaseID, seq: batch.nextSince)
        var out = [UInt8]()
        out.reserveCapacity(256 + batch.changes.reduce(0) { $0 + $1.stateText.utf8.count + 64 })
        out.append(contentsOf: #"{"node":"#.utf8)
        JSONWriter.writeString(storage.node.rawValue, to: &out)
        out.append(contentsOf: #","changes":["#.utf8)
        for (i, c) in batch.changes.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            WireChange.write(collection: c.collection, id: c.id, seq: c.seq, stateText: c.stateText, to: &out)
        }
        out.append(contentsOf: #"],"next":"#.utf8)
        JSONWriter.writeString(next.text, to: &out)
        out.append(contentsOf: #","more":"#.utf8)
        out.append(contentsOf: (batch.hasMore ? "true" : "false").utf8)
        out.append(UInt8(ascii: "}"))
        return PullPage(body: out, nextSince: batch.nextSince, next: next, more: batch.hasMore, count: batch.changes.count)
    }

    /// Notes that the caller received `page` (for the hub's dashboard).
    public func notePulled(_ page: PullPage, principal: Principal, requester: String?) {
        if let station = principal.station ?? requester.map({ NodeID(unchecked: $0).station }) {
            storage.noteActivity(station: station, pulledThrough: page.nextSince, pushed: nil)
        }
    }

    /// A push refused by origin binding (`error`, for its first such record), naming every
    /// record of the batch refused so (``SyncError/records``), found by checking each against
    /// what this node holds (the push changed nothing). An honest station may hold such a state:
    /// a rogue LAN peer or a crafted change file gave it a version of another node's record that
    /// it had no copy to check against. Named, those records wait at that station and its other
    /// changes go on; one forged record must not stop a station's every sync.
    func refusal(
        _ error: SyncError, of incoming: [IncomingChange], check: (IncomingChange, RecordState?) throws -> Void
    ) async -> SyncError {
        var refused: [RecordKey] = []
        var named: Set<RecordKey> = []
        for change in incoming {
            let key = RecordKey(change.collection, change.id)
            let local: RecordState?
            do {
                local = try await storage.state(of: key)
            } catch {
                continue
            }
            if Self.isRefusal(change, local, check), named.insert(key).inserted { refused.append(key) }
        }
        guard !refused.isEmpty else { return error }
        let more =
            refused.count > 1
            ? "; \(refused.count) records of this push are refused so (the answer's records name them), the rest was not taken either" : ""
        return SyncError(.forbidden, error.message + more, records: refused)
    }

    private static func isRefusal(_ change: IncomingChange, _ local: RecordState?, _ check: (IncomingChange, RecordState?) throws -> Void) -> Bool {
        do {
            try check(change, local)
            return false
        } catch let error as SyncError {
            return error.code == .forbidden
        } catch {
            return false
        }
    }

    /// A push decoded and checked against the schema and the caller's lists, ready to merge.
    struct DecodedPush: Sendable {
        var request: PushRequest
        var incoming: [IncomingChange]
        /// Changes past a limit of what a state may hold (Limits): left out (`over_limit`).
        var beyondLimits: Set<Int>
    }

    /// Decodes a push body and checks each change (CPU work, in proportion to the body; no storage).
    static func decode(
        _ body: [UInt8], principal: Principal, schema: Schema, node: NodeID, maxChanges: Int, logger: Logger
    ) throws(SyncError) -> DecodedPush {
        let request: PushRequest
        do {
            request = try PushRequest(bytes: body, maxChanges: maxChanges)
        } catch {
            if error.code == .tooMany { throw SyncError(.tooLarge, error.message) }
            throw SyncError(.badRequest, error.message)
        }
        if let station = principal.station, station != request.node {
            throw SyncError(.forbidden, "this token belongs to \(station); it cannot push as \(request.node)")
        }
        if let station = principal.station, station == node.rawValue {
            // A token named after this node itself would push writes as this node's own.
            throw SyncError(.forbidden, "a token named \(station), this node's own name, cannot push here")
        }
        var incoming: [IncomingChange] = []
        incoming.reserveCapacity(request.changes.count)
        // Changes past a limit of what a state may hold (Limits): left out (`over_limit`), the rest goes on.
        var beyondLimits: Set<Int> = []
        // Each record once: a push repeating one (its latest state is all a node ever sends)
        // would cost this node a merge, and at a refusal a check, per repeat.
        var positions: [RecordKey: Int] = [:]
        positions.reserveCapacity(request.changes.count)
        for (i, change) in request.changes.enumerated() {
            // Only errors name the change: no string is built per change on the way through.
            func what() -> String { "changes[\(i)] (\(change.collection)/\(change.id))" }
            if let first = positions.updateValue(i, forKey: RecordKey(change.collection, change.id)) {
                throw SyncError(.badRequest, "\(what()): the push carries this record already (changes[\(first)]); a push carries each record once")
            }
            guard let collection = schema.collections[change.collection] else {
                throw SyncError(.unknownCollection, "\(what()): unknown collection \"\(change.collection)\"")
            }
            guard principal.write.allows(change.collection) else {
                throw SyncError(.forbidden, "\(what()): \(principal.station ?? "this caller") may not write \(change.collection)")
            }
            do {
                incoming.append(try IncomingChange(change, collection: collection))
            } catch  where error.code == .beyondLimit {
                logger.warning("\(what()): \(error); left out", metadata: ["from": "\(request.node)"])
                beyondLimits.insert(i)
                continue
            } catch {
                throw SyncError(error.code == .counterOverflow ? .counterOverflow : .invalidState, "\(what()): \(error)")
            }
            if incoming.last!.state.isEmpty { throw SyncError(.invalidState, "\(what()): empty record state") }
        }
        return DecodedPush(request: request, incoming: incoming, beyondLimits: beyondLimits)
    }

    /// `POST /v1/changes`: checks the whole batch, then merges it in one transaction. The
    /// decoding runs on ``cpuWork`` (a server's thread pool of its own).
    public func push(body: [UInt8], principal: Principal) async throws(SyncError) -> PushResponse {
        let (schema, node, maxChanges, logger) = (storage.schema, storage.node, maxPushChanges, self.logger)
        let decoded: DecodedPush
        do {
            decoded = try await cpuWork.run {
                try Self.decode(body, principal: principal, schema: schema, node: node, maxChanges: maxChanges, logger: logger)
            }
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError(.unavailable, "the node is shutting down; push again")
        }
        let (request, incoming, beyondLimits) = (decoded.request, decoded.incoming, decoded.beyondLimits)
        let origin = principal.relay ? nil : (principal.station ?? request.node)
        let sender = NodeID(unchecked: principal.station ?? request.node)
        // A station's token: one database writes as its node (see StationStore+Writers.swift).
        // A push without changes takes nothing and claims nothing, unless it takes over.
        // Trusted peers of `station serve` name themselves; nothing is recorded for them.
        let claim = principal.station.flatMap { _ in
            incoming.isEmpty && !request.takeOver
                ? nil : WriterClaim(node: request.node, writer: request.writer, lineage: request.lineage, takeOver: request.takeOver)
        }
        let now = storage.wallTime()
        // Origin binding, then the drift rule (see checkReceived), before each record is merged.
        let check: @Sendable (IncomingChange, RecordState?) throws -> Void = { change, local in
            do {
                try Self.checkReceived(
                    change.state, local: local, origin: origin.map { NodeID(unchecked: $0) }, sender: sender, now: now,
                    collection: change.collection, id: change.id, schema: schema.collections[change.collection],
                    writeOnly: !principal.read.allows(change.collection))
            } catch let error as SyncError where !principal.read.allows(change.collection) {
                // A token that may write a collection but not read it learns nothing of what
                // is there: not whether the record exists, nor who wrote what.
                throw SyncError(
                    error.code,
                    "\(change.collection)/\(change.id): refused; a token that may write \(change.collection) but not read it may only add this station's own new writes"
                )
            }
        }
        var results: [MergeResult]
        do {
            results = try await storage.apply(incoming, from: NodeID(unchecked: request.writer), cursor: nil, claim: claim, check: check)
        } catch let error as SyncError where error.code == .forbidden {
            throw await refusal(error, of: incoming, check: check)
        } catch let error as SyncError {
            throw error
        } catch let refusal as WriterRefusal {
            await storage.noteRefusedWriter(refusal)
            throw SyncError(.nodeTaken, refusal.description)
        } catch let error as CoreError {
            throw SyncError(error.code == .counterOverflow ? .counterOverflow : .invalidState, "\(error)")
        } catch {
            logger.error("push failed", metadata: ["error": "\(error)"])
            metrics.recordStoreError("push")
            throw SyncError(.internal, "applying the push failed")
        }
        for i in beyondLimits.sorted() { results.insert(.overLimit, at: i) }
        let cursor: FeedCursor
        do {
            cursor = FeedCursor(database: storage.databaseID, seq: try await storage.lastSequence())
        } catch {
            metrics.recordStoreError("feed")
            throw SyncError(.internal, "reading the change feed failed")
        }
        logger.debug("push applied", metadata: ["from": "\(request.node)", "changes": "\(results.count)"])
        storage.noteActivity(station: request.node, pulledThrough: nil, pushed: results.count)
        metrics.recordPush(results)
        return PushResponse(
            node: storage.node.rawValue,
            results: zip(request.changes, results).map { change, result in
                // A token that may not read the collection is told only whether its change was
                // taken (`applied`) or not (`waiting`): not whether the record was here already,
                // nor what it met there (a collision, a record at its limits).
                let shown = principal.read.allows(change.collection) ? result : (result.isLeftOut ? .waiting : .applied)
                return PushResponse.Result(collection: change.collection, id: change.id, result: shown)
            },
            cursor: cursor)
    }
}
