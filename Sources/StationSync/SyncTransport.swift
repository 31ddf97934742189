import StationCore

/// How a sync reaches its peer. The libcurl HTTP transport is the real one; ``LoopbackTransport``
/// calls a ``SyncService`` in the same process (tests, and syncing two local files).
///
/// Every call is idempotent, so a transport may retry any of them after a transient failure.
public protocol SyncTransport: Sendable {
    /// `GET /v1/session`: the peer's identity and what this caller may do there.
    func session() async throws -> PeerSession
    /// `GET /v1/schema`.
    func schema() async throws -> Schema
    /// `GET /v1/changes`.
    func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse
    /// Turns an encoded ``PushRequest`` into the body `push` sends (the HTTP transport gzips it).
    /// The sync engine calls it in a task of its own, ahead of time, while the previous batch is
    /// in flight: it must not touch the connection. The default sends the bytes as they are.
    var preparePush: @Sendable ([UInt8]) throws -> PreparedPush { get }
    /// `POST /v1/changes` with a body made by ``preparePush``.
    func push(_ body: PreparedPush) async throws -> PushResponse
    /// How many pushes the sync engine may have in flight at once, each calling ``push(_:)``
    /// from a task of its own. The default, 1, calls it from one task at a time.
    var concurrentPushes: Int { get }
}

extension SyncTransport {
    public var concurrentPushes: Int { 1 }

    public var preparePush: @Sendable ([UInt8]) throws -> PreparedPush { { PreparedPush(bytes: $0) } }

    /// `POST /v1/changes` with an encoded ``PushRequest``, prepared on the spot.
    public func push(_ body: [UInt8]) async throws -> PushResponse {
        try await push(try preparePush(body))
    }
}

/// A push request body as the transport sends it.
public struct PreparedPush: Sendable {
    /// The body, encoded as `contentEncoding` says.
    public var bytes: [UInt8]
    /// The HTTP content coding of `bytes` (e.g. "gzip"), nil for the JSON itself.
    public var contentEncoding: String?

    public init(bytes: [UInt8], contentEncoding: String? = nil) {
        self.bytes = bytes
        self.contentEncoding = contentEncoding
    }
}

/// The peer as a session describes it.
public struct PeerSession: Sendable, Equatable {
    public var info: PeerInfo
    /// The station name the peer knows this caller by (nil for a trusted peer).
    public var station: String?
    public var read: AccessList
    public var write: AccessList
    public var relay: Bool
    /// The peer's wall time when it answered (ms since 1970; nil from a peer that does not say).
    public var time: UInt64?
    /// The peer's proof that it holds this node's token (``Tokens/sessionProof``), as answered.
    public var proof: String?
    /// Where the peer's change feed stood when it answered (nil from a peer that does not say):
    /// a sync's pull ends there.
    public var feed: FeedCursor?
    /// Whether the peer proved that it holds this node's token: it is a hub this node syncs with
    /// by its token, not a peer that only names itself so. Set by the transport once it checked
    /// ``proof``; a session naming a ``station`` without a valid proof is refused there.
    public var provenByToken = false

    public init(
        info: PeerInfo, station: String?, read: AccessList, write: AccessList, relay: Bool, time: UInt64? = nil, proof: String? = nil,
        provenByToken: Bool = false
    ) {
        self.info = info
        self.station = station
        self.read = read
        self.write = write
        self.relay = relay
        self.time = time
        self.proof = proof
        self.provenByToken = provenByToken
    }

    /// Reads a `GET /v1/session` body.
    public init(bytes: [UInt8]) throws(SyncError) {
        do {
            let info = try PeerInfo(bytes: bytes)
            guard let o = try JSONParser.parse(bytes: bytes).objectValue, let read = o["read"]?.stringValue,
                let write = o["write"]?.stringValue, let relay = o["relay"]?.boolValue
            else { throw SyncError(.protocolError, "session response must have read, write and relay") }
            self.init(
                info: info, station: o["station"]?.stringValue, read: try AccessList(parsing: read), write: try AccessList(parsing: write),
                relay: relay, time: o["time"]?.intValue.flatMap { $0 >= 0 ? UInt64($0) : nil }, proof: o["proof"]?.stringValue)
            if let feed = o["feed"]?.stringValue {
                do { self.feed = try FeedCursor(checking: feed) } catch { throw SyncError(.protocolError, "session response: feed: \(error)") }
            }
        } catch let error as SyncError {
            throw error
        } catch {
            throw SyncError(.protocolError, "session response: \(error)")
        }
    }
}

/// A transport that calls a ``SyncService`` directly, with the same checks as over HTTP.
public struct LoopbackTransport: SyncTransport {
    public let service: SyncService
    public let principal: Principal
    /// The calling node's name (sent as the push's `node`, and to suppress echoes).
    public let caller: String

    /// The calling node's wall clock, sent with the session request (nil: not sent).
    public let callerTime: (@Sendable () -> UInt64)?

    public init(service: SyncService, principal: Principal = .trustedPeer, caller: String, callerTime: (@Sendable () -> UInt64)? = nil) {
        self.service = service
        self.principal = principal
        self.caller = caller
        self.callerTime = callerTime
    }

    public func session() async throws -> PeerSession {
        var session = try PeerSession(
            bytes: Array(await service.session(principal, callerTime: callerTime?(), requester: caller).canonicalText.utf8))
        // In one process, the service is the node itself: what its session says of the caller is so.
        session.provenByToken = session.station != nil
        return session
    }

    public func schema() async throws -> Schema {
        service.storage.schema
    }

    public func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse {
        try PullResponse(bytes: try await service.pull(since: cursor.text, limit: String(limit), principal: principal, requester: caller))
    }

    public func push(_ body: PreparedPush) async throws -> PushResponse {
        guard body.contentEncoding == nil else {
            throw SyncError(.badRequest, "a loopback push carries the JSON itself, not \(body.contentEncoding!)")
        }
        return try await service.push(body: body.bytes, principal: principal)
    }
}
