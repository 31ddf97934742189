import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import StationGzip
import Synchronization

/// Where a running test server listens.
struct TestServer: Sendable {
    /// "127.0.0.1:PORT" (or "[::1]:PORT" if the server bound IPv6).
    var hostPort: String
    /// "http://127.0.0.1:PORT"
    var base: String { "http://\(hostPort)" }
}

/// Runs a real Hummingbird server on the loopback interface with an OS-chosen port for the
/// duration of `body`, through HummingbirdTesting's live framework, which stops it with a
/// graceful shutdown. (Cancelling `Application.run()` instead can trap in NIO —
/// "Deinited NIOAsyncWriter without calling finish()" — when a just-accepted connection is still
/// queued; see apple/swift-nio#2637.)
func withTestServer<T: Sendable>(_ body: @escaping @Sendable (_ server: TestServer) async throws -> T) async throws -> T {
    try await withTestServer(router: makeTestRouter(), body)
}

/// ``withTestServer(_:)`` serving `router`.
func withTestServer<Context: RequestContext, T: Sendable>(
    router: Router<Context>, _ body: @escaping @Sendable (_ server: TestServer) async throws -> T
) async throws -> T where Context.Source == ApplicationRequestContextSource {
    let boundHost = LockedBox<String?>(nil)
    var logger = Logger(label: "StationHTTPTests.server")
    logger.logLevel = .critical
    let app = Application(
        router: router,
        onServerRunning: { channel in
            boundHost.withLock { $0 = channel.localAddress?.ipAddress }
        },
        logger: logger)
    return try await app.test(.live) { client in
        guard let port = client.port, let ip = boundHost.withLock({ $0 }) else { throw TestServerError.noPort }
        let host = ip.contains(":") ? "[\(ip)]" : ip
        return try await body(TestServer(hostPort: "\(host):\(port)"))
    }
}

enum TestServerError: Error { case noPort }

final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    init(_ value: Value) { mutex = Mutex(value) }
    func withLock<R>(_ body: (inout Value) -> R) -> R { mutex.withLock { body(&$0) } }
}

/// Runs blocking work (the curl client) on its own thread, off Swift's cooperative pool, so the
/// server's tasks keep running meanwhile.
func offPool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}

/// Deterministic response bytes.
func patternBytes(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ ($0 >> 8)) }
}

let bombSize = 50 << 20
/// 50 MB of zeros, gzipped (about 50 KB), built once.
let gzipBomb: [UInt8] = try! Gzip.compress([UInt8](repeating: 0, count: bombSize))

private func response(
    status: HTTPResponse.Status = .ok, headers: [(String, String)] = [], body: [UInt8]
) -> Response {
    var fields = HTTPFields()
    for (name, value) in headers {
        fields.append(HTTPField(name: HTTPField.Name(name)!, value: value))
    }
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: body)))
}

private func size(_ request: Request) -> Int {
    request.uri.queryParameters.get("size", as: Int.self) ?? 0
}

private func makeTestRouter() -> Router<BasicRequestContext> {
    let router = Router()

    // Echoes the body back, and every request header as `x-echo-<name>`, plus the method.
    @Sendable func echo(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: 64 << 20)
        var headers: [(String, String)] = [("x-echo-method", request.method.rawValue), ("x-echo-path", request.uri.path)]
        for field in request.headers {
            headers.append(("x-echo-\(field.name.canonicalName)", field.value))
        }
        headers.append(("x-echo-body-length", "\(body.readableBytes)"))
        // The same header twice: the client keeps the last.
        headers += [("X-Twice", "first"), ("X-Twice", "second")]
        return response(headers: headers, body: Array(body.readableBytesView))
    }
    router.get("echo", use: echo)
    router.post("echo", use: echo)
    router.put("echo", use: echo)
    router.delete("echo", use: echo)
    router.patch("echo", use: echo)

    // Expects a gzip body: gunzips it (with StationGzip) and returns the plain bytes.
    router.post("ungzip") { request, _ -> Response in
        var request = request
        let body = Array(try await request.collectBody(upTo: 64 << 20).readableBytesView)
        guard request.headers[.contentEncoding] == "gzip" else {
            return response(status: .badRequest, body: Array("no Content-Encoding: gzip".utf8))
        }
        do {
            let plain = try Gzip.decompress(body, maxOutput: 64 << 20)
            return response(headers: [("x-compressed-length", "\(body.count)")], body: plain)
        } catch {
            return response(status: .badRequest, body: Array("\(error)".utf8))
        }
    }

    // `size` pattern bytes, gzip-encoded on the wire.
    router.get("gzipped") { request, _ -> Response in
        let encoded = try Gzip.compress(patternBytes(size(request)))
        return response(
            headers: [("Content-Encoding", "gzip"), ("Content-Type", "application/octet-stream")], body: encoded)
    }

    // 50 MB of zeros in ~50 KB of gzip.
    router.get("bomb") { _, _ -> Response in
        response(headers: [("Content-Encoding", "gzip")], body: gzipBomb)
    }

    // `size` pattern bytes, plain.
    router.get("big") { request, _ -> Response in
        response(body: patternBytes(size(request)))
    }
    router.head("big") { request, _ -> Response in
        response(body: patternBytes(size(request)))
    }

    // Answers after `ms` milliseconds (default 3000).
    router.get("slow") { request, _ -> Response in
        let ms = request.uri.queryParameters.get("ms", as: Int.self) ?? 3000
        try await Task.sleep(for: .milliseconds(ms))
        return response(body: Array("late".utf8))
    }

    // Any status, e.g. /status/503.
    router.get("status/:code") { _, context -> Response in
        let code = try context.parameters.require("code", as: Int.self)
        return response(status: .init(code: code), body: Array("status \(code)".utf8))
    }

    // A redirect, which the client must not follow.
    router.get("redirect") { _, _ -> Response in
        response(status: .found, headers: [("Location", "/echo")], body: [])
    }
    return router
}

/// `work`, awaited: for the async calls of the transport, which run their blocking transfers on
/// threads of their own already (see `HTTPSyncTransport.call`).
func offPool<T: Sendable>(_ work: @escaping @Sendable () async throws -> T) async throws -> T {
    try await work()
}
