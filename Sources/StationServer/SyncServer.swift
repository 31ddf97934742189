import Dispatch
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import StationCore
import StationGzip
import StationHub
import StationSync

/// The sync protocol over HTTP (Hummingbird): the routes of Protocol/README.md mapped onto a
/// ``SyncService``. Served by `hub serve` and `station serve`.
public enum SyncServer {
    /// Limits on what a request may carry.
    public struct Limits: Sendable {
        /// Largest request body as received (compressed or not).
        public var maxBodyBytes = 32 << 20
        /// Largest request body after gzip decompression. A client's page holds at most 8 MiB of
        /// states and one more of at most 16 MiB (Limits.pageBytes, Limits.stateBytes).
        public var maxDecompressedBytes = 32 << 20
        /// How many times its size as sent a gzipped body may decompress to, beyond
        /// ``expansionAllowance``: a push costs the node in proportion to the bytes its client
        /// sent (decoding, checking, writing about twice its decoded size to disk). Honest pages
        /// of record states compress about tenfold; a client refused for this (413) sends the
        /// same page uncompressed.
        public var maxExpansion = 64
        /// What any gzipped body may decompress to whatever its size as sent.
        public var expansionAllowance = 1 << 20
        /// Responses at least this large are gzipped for clients that accept it.
        public var compressAbove = 1024
        /// A connection that sends nothing for this long (no request, or a request stalled in
        /// its headers or body) is closed; one waiting for its answer is not. While the node holds
        /// half of ``maxConnections`` or more, a connection with no request in progress is closed
        /// after 2 s idle instead, so that idle connections cannot keep stations out.
        public var idleTimeout: Duration = .seconds(30)
        /// A request body must arrive whole within this many seconds (one dripping in is 408).
        public var bodySeconds = 120.0
        /// Connections held at once; past it, new ones wait to be accepted. (Kept below the
        /// process's open-file limit.)
        public var maxConnections = 1024
        /// Connections one client address may hold at once; more are closed at once.
        public var maxConnectionsPerAddress = 128
        /// Request bodies held in memory at once, in bytes, across every request (see `BodyBudget`).
        public var maxBufferedBodyBytes = 256 << 20
        /// Of these, what one caller (a token's station) may hold: two full pushes, as many as a
        /// station keeps in flight.
        public var maxBufferedBodyBytesPerCaller = 64 << 20
        /// Request bodies one caller may be sending at once (a station keeps two pushes in
        /// flight); more are answered 503 at once, which clients retry.
        public var maxBodiesPerCaller = 8
        /// Pushes decompressed, decoded and merged at once (see `PushGate`); more wait their
        /// turn, in the order they came, their bodies held within the budgets above.
        public var pushesAtOnce = 8
        public init() {}
    }

    static let nodeHeader = HTTPField.Name("X-StationSync-Node")!
    /// The caller's wall time (ms since 1970) on `GET /v1/session`: how far off its clock is.
    static let timeHeader = HTTPField.Name("X-StationSync-Time")!
    /// The caller's random challenge on `GET /v1/session`, answered with a `proof` that this node
    /// holds the caller's token (see ``Tokens/sessionProof``).
    static let challengeHeader = HTTPField.Name("X-StationSync-Challenge")!

    /// The router with every route of the protocol; with `hub`, also the conflict API and the
    /// operator's dashboard.
    /// `secureCookies`: the server runs over HTTPS, so the dashboard's cookie is `Secure`.
    /// `metrics`: what the routes count into, served at `GET /metrics` (the service's pushes are
    /// counted there too).
    public static func router(
        service: SyncService, hub: (any HubStorage)? = nil, records: (any LocalRecords)? = nil, limits: Limits = Limits(),
        secureCookies: Bool = false, metrics: NodeMetrics = NodeMetrics(), logger: Logger
    ) -> Router<StationRequestContext> {
        let service = { () -> SyncService in
            var counted = service
            counted.metrics = metrics.sync
            return counted
        }()
        let router = Router(context: StationRequestContext.self)
        let readAhead = PullReadAhead()
        let pushes = PushGate(width: limits.pushesAtOnce)
        let bodies = BodyBudget(
            limit: limits.maxBufferedBodyBytes, perCaller: limits.maxBufferedBodyBytesPerCaller, bodiesPerCaller: limits.maxBodiesPerCaller)
        router.add(middleware: RequestLogMiddleware(metrics: metrics, logger: logger))
        router.add(middleware: ErrorMiddleware(logger: logger))
        router.get("/metrics") { _, _ in
            // The gauges are read from the database: off the event loop, like every storage read.
            let body = await metrics.render(service: service, hub: hub)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .contentLength: String(body.count)],
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
        }
        // Every route of the protocol but health needs a bearer token: checked once, here.
        let authenticated = router.group().add(middleware: BearerAuthentication(service: service))
        if let records { RecordRoutes.add(to: router, records: records, limits: limits) }
        if let hub {
            ConflictRoutes.add(to: authenticated, service: service, storage: hub, limits: limits)
            Dashboard.add(to: router, service: service, storage: hub, secureCookies: secureCookies, logger: logger)
        }
        router.get("/v1/health") { request, _ in
            json(service.health().json, request: request, limits: limits)
        }
        authenticated.get("/v1/session") { request, context in
            let principal = try context.authenticated()
            let callerTime = request.headers[timeHeader].flatMap { UInt64($0) }
            let answer = await service.session(
                principal, callerTime: callerTime, requester: request.headers[nodeHeader], challenge: request.headers[challengeHeader])
            return json(answer, request: request, limits: limits)
        }
        authenticated.get("/v1/schema") { request, _ in
            return json(service.schema(), request: request, limits: limits)
        }
        authenticated.get("/v1/changes") { request, context in
            let principal = try context.authenticated()
            let query = request.uri.queryParameters
            let since = query["since"].map(String.init)
            let limit = query["limit"].map(String.init)
            let requester = request.headers[nodeHeader]
            let key = PullReadAhead.Key(
                authorization: request.headers[.authorization], requester: requester, since: since ?? "", limit: limit,
                gzip: acceptsGzip(request))
            @Sendable func prepare(since: String?) async throws(SyncError) -> PullReadAhead.Prepared {
                var page = try await service.readPage(since: since, limit: limit, principal: principal, requester: requester)
                let body = encode(page.body, gzip: key.gzip, limits: limits)
                page.body = []  // sent as `body`: a page held for later keeps only that
                return PullReadAhead.Prepared(page: page, body: body)
            }
            var prepared = await readAhead.take(key)
            logger.debug("pull", metadata: ["since": "\(key.since)", "readAhead": "\(prepared != nil)"])
            if prepared == nil { prepared = try await prepare(since: since) }
            let page = prepared!
            service.notePulled(page.page, principal: principal, requester: requester)
            service.metrics.recordPull(page.page.count)
            RequestNote.current?.set(changes: page.page.count)
            if page.page.more {
                var next = key
                next.since = page.page.next.text
                let after = page.page.next.text  // not `page`: the read would hold its body
                readAhead.start(next) { try? await prepare(since: after) }
            }
            return response(page.body)
        }
        /// A push whose body has arrived, on its turn through the gate: decompressed, decoded, merged.
        @Sendable func push(
            _ received: [UInt8], request: Request, principal: Principal, reservation: BodyBudget.Reservation
        ) async throws -> Response {
            var body = received
            if let encoding = request.headers[.contentEncoding]?.lowercased(), encoding != "identity" {
                guard encoding == "gzip" else { throw SyncError(.badRequest, "unsupported Content-Encoding \(encoding) (use gzip)") }
                let proportionate = body.count.multipliedReportingOverflow(by: limits.maxExpansion).partialValue + limits.expansionAllowance
                let most = min(limits.maxDecompressedBytes, proportionate)
                do {
                    let sent = body
                    body = try await service.cpuWork.run { try Gzip.decompress(sent, maxOutput: most) }
                } catch let error as GzipError where error.code == .tooLarge {
                    throw SyncError(
                        .tooLarge,
                        most < limits.maxDecompressedBytes
                            ? "request body decompresses to more than \(most) bytes, \(limits.maxExpansion) times its \(body.count) bytes as sent and \(limits.expansionAllowance) more; send it uncompressed"
                            : "request body decompresses to more than \(limits.maxDecompressedBytes) bytes; push smaller batches")
                } catch let error as GzipError {
                    throw SyncError(.badRequest, "request body is not valid gzip: \(error)")
                } catch {
                    throw SyncError(.unavailable, "the node is shutting down; push again")
                }
                try reservation.grow(to: body.count)
            }
            let bytes = body
            // A push waiting for its group commit is suspended: it holds no thread.
            let result = try await service.push(body: bytes, principal: principal)
            RequestNote.current?.set(changes: result.results.count)
            return json(result.json, request: request, limits: limits)
        }
        authenticated.post("/v1/changes") { request, context in
            let principal = try context.authenticated()
            // The body's bytes are held against the node's budget until the push is answered:
            // as received first, then as decompressed.
            let caller = principal.station ?? request.headers[nodeHeader].map { "peer " + $0 } ?? "peer"
            let reservation = try BodyBudget.Reservation(bodies, caller: caller, request: request, max: limits.maxBodyBytes)
            defer { reservation.release() }
            var raw = try await collectBody(request, max: limits.maxBodyBytes, within: limits.bodySeconds)
            let received = raw.readBytes(length: raw.readableBytes) ?? []
            return try await pushes.run(caller: caller) {
                try await push(received, request: request, principal: principal, reservation: reservation)
            }
        }
        return router
    }

    /// The PEM files of an HTTPS server: its certificate chain (the server's certificate first,
    /// then any intermediates) and its private key.
    public struct TLSFiles: Sendable {
        public var certificateChain: String
        public var privateKey: String
        public init(certificateChain: String, privateKey: String) {
            self.certificateChain = certificateChain
            self.privateKey = privateKey
        }
    }

    /// A TLS file that is missing or not what it should be; the message names the file.
    public struct TLSFileError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }

    /// The server TLS configuration from `files`, checked to be readable PEM.
    public static func tlsConfiguration(_ files: TLSFiles) throws -> TLSConfiguration {
        func readable(_ path: String, _ what: String) throws {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else {
                throw TLSFileError("the TLS \(what) file \(path) does not exist")
            }
            guard FileManager.default.isReadableFile(atPath: path) else { throw TLSFileError("the TLS \(what) file \(path) is not readable") }
        }
        try readable(files.certificateChain, "certificate")
        try readable(files.privateKey, "private key")
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificateChain)
        } catch {
            throw TLSFileError("the TLS certificate file \(files.certificateChain) holds no valid PEM certificate (\(error))")
        }
        guard !chain.isEmpty else {
            throw TLSFileError("the TLS certificate file \(files.certificateChain) holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
        }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.privateKey, format: .pem)
        } catch {
            throw TLSFileError("the TLS private key file \(files.privateKey) holds no valid, unencrypted PEM private key (\(error))")
        }
        return TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
    }

    /// An application serving the protocol on `host:port` (port 0: any free port), over HTTPS
    /// when `tls` is given. `onListening` receives the bound address once connections are
    /// accepted.
    public static func application(
        service: SyncService, hub: (any HubStorage)? = nil, records: (any LocalRecords)? = nil, host: String, port: Int,
        tls: TLSFiles? = nil, limits: Limits = Limits(), metrics: NodeMetrics = NodeMetrics(), logger: Logger,
        onListening: @escaping @Sendable (String, Int) -> Void
    ) throws -> some ApplicationProtocol {
        // Each connection holds a file: stay below the open-file limit, with room for the
        // databases and logs.
        let files = raiseOpenFileLimit()
        let maxConnections = max(16, min(limits.maxConnections, files - 128))
        let configuration = ApplicationConfiguration(
            address: .hostname(host, port: port), serverName: "StationSync",
            availableConnectionsDelegate: .maximum(maxConnections, logger: logger))
        let onServerRunning: @Sendable (any Channel) async -> Void = { channel in
            onListening(host, channel.localAddress?.port ?? port)
        }
        let router = router(
            service: service, hub: hub, records: records, limits: limits, secureCookies: tls != nil, metrics: metrics, logger: logger)
        let perAddress = AddressConnections(limit: limits.maxConnectionsPerAddress)
        // Past half the connections it holds, the node closes those idle for 2 s (IdleConnections).
        let idle = IdleConnections(pressure: max(8, maxConnections / 2), logger: logger)
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [AddressLimitHandler(perAddress, logger: logger), IdleConnectionHandler(idle)],
                idleTimeout: TimeAmount.nanoseconds(
                    Int64(limits.idleTimeout.components.seconds) * 1_000_000_000
                        + limits.idleTimeout.components.attoseconds / 1_000_000_000)))
        guard let tls else {
            return Application(router: router, server: http1, configuration: configuration, onServerRunning: onServerRunning, logger: logger)
        }
        return Application(
            router: router, server: try .tls(http1, tlsConfiguration: try tlsConfiguration(tls)), configuration: configuration,
            onServerRunning: onServerRunning, logger: logger)
    }

    static func json(_ value: JSONValue, request: Request, limits: Limits) -> Response {
        var out = [UInt8]()
        value.write(to: &out)
        return response(out, request: request, limits: limits)
    }

    /// A response body as sent: gzipped or not.
    struct EncodedBody: Sendable {
        var bytes: [UInt8]
        var gzipped: Bool
    }

    /// Whether the client accepts gzip-encoded responses.
    static func acceptsGzip(_ request: Request) -> Bool {
        request.headers[.acceptEncoding]?.lowercased().contains("gzip") ?? false
    }

    /// `body` gzipped when `gzip` (the client accepts it) and it is worth it.
    static func encode(_ body: [UInt8], gzip: Bool, limits: Limits) -> EncodedBody {
        if gzip, body.count >= limits.compressAbove, let compressed = try? Gzip.compress(body) {
            return EncodedBody(bytes: compressed, gzipped: true)
        }
        return EncodedBody(bytes: body, gzipped: false)
    }

    /// A JSON response with an encoded body.
    static func response(_ body: EncodedBody, status: HTTPResponse.Status = .ok) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if body.gzipped {
            headers[.contentEncoding] = "gzip"
            headers[.vary] = "Accept-Encoding"
        }
        headers[.contentLength] = String(body.bytes.count)
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: body.bytes)))
    }

    /// A JSON response, gzipped when the client accepts it and it is worth it.
    static func response(_ body: [UInt8], status: HTTPResponse.Status = .ok, request: Request, limits: Limits) -> Response {
        response(encode(body, gzip: acceptsGzip(request), limits: limits), status: status)
    }
}

/// Turns every error into the protocol's JSON error body with the right status, so clients
/// never see an empty or HTML error and a bad request never becomes a 500: a ``SyncError`` renders
/// itself (SyncError+Response.swift), logged when it is a 5xx; Hummingbird's own errors (no route,
/// a method not allowed) get the protocol's codes; anything else is a 500 that says nothing of
/// the node's insides.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as SyncError {
            if error.httpStatus >= 500 { logger.error("\(request.method) \(request.uri.path): \(error.message)") }
            return try error.response(from: request, context: context)
        } catch let error as APIError {
            return try error.response(from: request, context: context)
        } catch let error as HTTPError {
            let code = error.status == .notFound ? "not_found" : (error.status.code == 405 ? "method_not_allowed" : "bad_request")
            let message = error.status == .notFound ? "no such endpoint: \(request.method) \(request.uri.path)" : (error.body ?? "\(error.status)")
            return SyncServer.errorResponse(status: error.status.code, code: code, message: message)
        } catch {
            logger.error("\(request.method) \(request.uri.path) failed: \(error)")
            return SyncServer.errorResponse(status: 500, code: "internal", message: "internal error")
        }
    }
}
