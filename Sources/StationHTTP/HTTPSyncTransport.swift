import Foundation
import Logging
import StationCore
import StationGzip
import StationSync
import Synchronization

/// The sync protocol over HTTP through libcurl: one reused connection to the peer, gzip both
/// ways, timeouts, and retries with exponential backoff and jitter on transient failures
/// (network errors, timeouts, 5xx, 408, 429). Answers that retrying cannot fix (401, 403, 400, 409,
/// 413) become a ``SyncError`` at once, with the peer's own message.
///
/// (`@unchecked`: its stored properties are constants, among them the retry policy with its
/// non-`@Sendable` sleep closure, which only waits; the push counter is an `Atomic`, and the clients
/// it holds serialize their own calls.)
public final class HTTPSyncTransport: SyncTransport, @unchecked Sendable {
    public let baseURL: String
    /// Two connections: a sync keeps two pushes in flight (see ``concurrentPushes``); every
    /// other call uses the first. Each client serializes its own requests.
    let clients: [CurlHTTPClient]
    private let pushes = Atomic<Int>(0)
    let token: String?
    let caller: String
    let retry: RetryPolicy
    let logger: Logger
    /// The level a retried request is logged at: `warning` for a sync run once, `debug` for a
    /// periodic one (which says once that syncing fails, not at every attempt).
    public var retryLogLevel: Logger.Level = .warning

    /// - Parameters:
    ///   - peer: the peer's base URL, e.g. `http://127.0.0.1:8080`.
    ///   - token: the bearer token, if the peer needs one.
    ///   - caller: this node's name, sent so the peer does not echo this node's changes back.
    public init(
        peer: String, token: String?, caller: String, options: HTTPClientOptions = HTTPClientOptions(),
        retry: RetryPolicy = RetryPolicy(), logger: Logger = Logger(label: "stationsync.http")
    ) throws {
        var base = peer.trimmingCharacters(in: .whitespaces)
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme), url.host != nil else {
            throw SyncError(.badRequest, "peer URL \"\(peer)\" must look like http://HOST:PORT or https://HOST:PORT")
        }
        baseURL = base
        do {
            clients = try (0..<2).map { _ in try CurlHTTPClient(options: options) }
        } catch {
            throw SyncError(.transport, "cannot start the HTTP client: \(error)")
        }
        self.token = token
        self.caller = caller
        self.retry = retry
        self.logger = logger
    }

    /// New connections opened so far (1 for a whole sync when keep-alive works).
    public var connectionsOpened: Int { clients.reduce(0) { $0 + $1.connectionsOpened } }
    /// Body bytes sent and received so far, as on the wire (gzipped where it was).
    public var wireBytes: (sent: Int, received: Int) {
        (clients.reduce(0) { $0 + $1.bodyBytesSent }, clients.reduce(0) { $0 + $1.bodyBytesReceived })
    }

    /// Two pushes in flight: the peer decodes one while it merges the other.
    public var concurrentPushes: Int { clients.count }

    public func session() async throws -> PeerSession {
        // This node's wall time goes with it: the peer notes how far off this node's clock is.
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        let challenge = Tokens.sessionChallenge()
        var session = try PeerSession(
            bytes: await call("GET", "/v1/session", extraHeaders: [("X-StationSync-Time", String(now)), ("X-StationSync-Challenge", challenge)]))
        if let station = session.station {
            // The peer says it knows this node by its token: a hub. It must prove it holds that
            // token; a LAN peer naming itself after the hub cannot, and is not synced with.
            // Only a token a hub hands out counts: a LAN secret is known to every peer holding
            // it, and any of them could make a proof with it (review round 8, F1).
            guard let token, Tokens.hasHubShape(token) else {
                throw SyncError(
                    .unprovenPeer,
                    "\(baseURL) answers as \(session.info.node), a node that knows this token's station (\(station)), but this sync's token is not "
                        + "one a hub hands out (hub token add): a peer holding a shared LAN secret cannot pass for the hub; nothing was synced")
            }
            guard let proof = session.proof,
                Tokens.verifySessionProof(
                    proof, token: token, challenge: challenge, node: session.info.node, database: session.info.database, station: station)
            else {
                throw SyncError(
                    .unprovenPeer,
                    "\(baseURL) answers as \(session.info.node), a node that knows this token's station (\(station)), but did not prove that it "
                        + "holds this token: it is not the hub this token is for (a peer naming itself after it?); nothing was synced")
            }
            session.provenByToken = true
        }
        return session
    }

    public func schema() async throws -> Schema {
        let bytes = try await call("GET", "/v1/schema")
        guard let value = try? JSONParser.parse(bytes: bytes), let schema = value.objectValue?["schema"] else {
            throw SyncError(.protocolError, "\(baseURL)/v1/schema did not answer a schema")
        }
        do {
            return try Schema(json: schema)
        } catch {
            throw SyncError(.protocolError, "the peer's schema is invalid: \(error)")
        }
    }

    public func pull(cursor: FeedCursor, limit: Int) async throws -> PullResponse {
        let since = cursor.text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? ""
        let bytes = try await call("GET", "/v1/changes?since=\(since)&limit=\(limit)")
        do {
            return try PullResponse(bytes: bytes)
        } catch {
            throw SyncError(.protocolError, "\(baseURL): \(error)")
        }
    }

    /// Gzips a body of more than 1 KiB (one request of a sync is mostly record states, which
    /// compress to about a tenth).
    public var preparePush: @Sendable ([UInt8]) throws -> PreparedPush {
        { body in
            guard body.count > 1024 else { return PreparedPush(bytes: body) }
            do {
                return PreparedPush(bytes: try Gzip.compress(body), contentEncoding: "gzip")
            } catch {
                throw SyncError(.badRequest, "could not gzip the push: \(error)")
            }
        }
    }

    /// The largest push body this client makes (a page of at most 8 MiB of states plus one state
    /// of at most 16 MiB, and the envelope), with room to spare.
    static let maxPlainPush = 32 << 20

    public func push(_ body: PreparedPush) async throws -> PushResponse {
        // Taken in turn, so two pushes in flight go over two connections.
        let client = clients[pushes.add(1, ordering: .relaxed).oldValue % clients.count]
        let bytes: [UInt8]
        do {
            bytes = try await call("POST", "/v1/changes", body: body.bytes, contentEncoding: body.contentEncoding, client: client)
        } catch let error as SyncError where error.code == .tooLarge && body.contentEncoding == "gzip" {
            // The peer takes a gzipped body only up to so many times its size as sent (a page of
            // much-repeated values compresses further): the same page, uncompressed, costs it
            // only what is sent.
            guard let plain = try? Gzip.decompress(body.bytes, maxOutput: Self.maxPlainPush) else { throw error }
            logger.info("the peer refused a gzipped push as too large once decompressed; sending it uncompressed", metadata: ["peer": "\(baseURL)"])
            bytes = try await call("POST", "/v1/changes", body: plain, client: client)
        }
        do {
            return try PushResponse(bytes: bytes)
        } catch {
            throw SyncError(.protocolError, "\(baseURL): \(error)")
        }
    }

    /// One request, retried while failures are transient. Returns the body of a 200 answer.
    /// `body` is sent as it is, with `contentEncoding` when given.
    ///
    /// libcurl's easy interface blocks for the whole transfer (and the retries sleep between
    /// attempts): the request runs on a thread of its own, and the caller's task is suspended
    /// meanwhile, so a sync's tasks never hold Swift's few cooperative threads while the network
    /// answers. This is the one place in Sources that starts a thread.
    func call(
        _ method: String, _ path: String, body: [UInt8]? = nil, contentEncoding: String? = nil, client: CurlHTTPClient? = nil,
        extraHeaders: [(name: String, value: String)] = []
    ) async throws -> [UInt8] {
        let request = (method, path, body, contentEncoding, client, extraHeaders)
        return try await withCheckedThrowingContinuation { continuation in
            Thread { [self] in
                continuation.resume(
                    with: Result {
                        try callBlocking(
                            request.0, request.1, body: request.2, contentEncoding: request.3, client: request.4, extraHeaders: request.5)
                    })
            }.start()
        }
    }

    private func callBlocking(
        _ method: String, _ path: String, body: [UInt8]?, contentEncoding: String?, client: CurlHTTPClient?,
        extraHeaders: [(name: String, value: String)]
    ) throws -> [UInt8] {
        let client = client ?? clients[0]
        var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("X-StationSync-Node", caller)] + extraHeaders
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let contentEncoding { headers.append(("Content-Encoding", contentEncoding)) }
        let request = HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body)
        return try retry.run(
            isTransient: { ($0 as? SyncError)?.isTransient ?? false },
            onRetry: { [logger, baseURL, retryLogLevel] attempt, error, delay in
                logger.log(
                    level: retryLogLevel, "retrying \(method) \(path)",
                    metadata: ["peer": "\(baseURL)", "attempt": "\(attempt)", "error": "\(error)", "delay": "\(String(format: "%.2f", delay))s"])
            }
        ) { _ in
            let response: HTTPResponse
            do {
                response = try client.send(request)
            } catch let error as HTTPClientError {
                throw error.isTransient ? SyncError(.transport, error.message) : SyncError(.badRequest, error.message)
            }
            if response.status == 200 { return response.body }
            let answer = ErrorBody(bytes: response.body)
            let message = "\(baseURL) answered \(response.status)" + (answer.map { ": \($0.message)" } ?? "")
            switch response.status {
            case 408, 429, 500...599:
                throw SyncError(response.status == 408 ? .requestTimeout : .unavailable, message)
            default:
                let code = answer.flatMap { SyncError.Code(rawValue: $0.error) } ?? Self.code(forStatus: response.status)
                throw SyncError(code, message, records: answer?.records ?? [])
            }
        }
    }

    static func code(forStatus status: Int) -> SyncError.Code {
        switch status {
        case 401: return .unauthorized
        case 403: return .forbidden
        case 404: return .notFound
        case 409: return .schemaMismatch
        case 413: return .tooLarge
        default: return .badRequest
        }
    }
}
