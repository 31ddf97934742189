import Foundation
import StationGzip
import StationHTTP
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A port on 127.0.0.1 with nothing listening: bound (so nobody else takes it) but not listening,
/// so connecting is refused. Close the returned descriptor when done.
func refusedPort() throws -> (port: Int, fd: Int32) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
            bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
        }
    }
    guard bound else {
        close(fd)
        throw POSIXError(.EADDRINUSE)
    }
    return (Int(UInt16(bigEndian: address.sin_port)), fd)
}

@Suite(.serialized) struct CurlHTTPClientTests {
    @Test func getRoundTripWithHeaders() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            let response = try await offPool {
                try client.send(
                    StationHTTP.HTTPRequest(
                        url: "\(server.base)/echo?x=1",
                        headers: [(name: "X-Station", value: "st-7"), (name: "Authorization", value: "Bearer abc")]))
            }
            #expect(response.status == 200)
            #expect(response.body == [])
            #expect(response.headers["x-echo-method"] == "GET")
            #expect(response.headers["x-echo-path"] == "/echo")
            #expect(response.headers["x-echo-x-station"] == "st-7")
            #expect(response.headers["x-echo-authorization"] == "Bearer abc")
            #expect(response.headers["x-echo-user-agent"] == "StationSync/1")
            // acceptGzip (the default) advertises gzip.
            #expect(response.headers["x-echo-accept-encoding"]?.contains("gzip") == true)
            // Names are lowercased; the last of a repeated header wins.
            #expect(response.headers["x-twice"] == "second")
            #expect(response.header("X-Twice") == "second")
            #expect(response.headers.keys.allSatisfy { $0 == $0.lowercased() })
        }
    }

    @Test func postRoundTripWithBody() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            let body = randomBytes(300_000, seed: 3)
            let response = try await offPool {
                try client.send(
                    StationHTTP.HTTPRequest(
                        method: "POST", url: "\(server.base)/echo",
                        headers: [(name: "Content-Type", value: "application/json"), (name: "X-Empty", value: "")],
                        body: body))
            }
            #expect(response.status == 200)
            #expect(response.body == body)
            #expect(response.headers["x-echo-method"] == "POST")
            #expect(response.headers["x-echo-content-type"] == "application/json")
            #expect(response.headers["x-echo-content-length"] == "300000")
            #expect(response.headers["x-echo-x-empty"] == "")
            // No 100-continue handshake, and no content encoding when not asked.
            #expect(response.headers["x-echo-expect"] == nil)
            #expect(response.headers["x-echo-content-encoding"] == nil)
        }
    }

    @Test func otherMethodsAndEmptyBodies() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            let url = "\(server.base)/echo"
            let (put, delete, emptyPost, head) = try await offPool {
                (
                    try client.send(.init(method: "PUT", url: url, body: Array("put body".utf8))),
                    try client.send(.init(method: "DELETE", url: url)),
                    try client.send(.init(method: "POST", url: url, body: [])),
                    try client.send(.init(method: "HEAD", url: "\(server.base)/big?size=1234"))
                )
            }
            #expect(put.headers["x-echo-method"] == "PUT")
            #expect(put.body == Array("put body".utf8))
            #expect(delete.headers["x-echo-method"] == "DELETE")
            #expect(delete.body == [])
            #expect(emptyPost.headers["x-echo-method"] == "POST")
            #expect(emptyPost.headers["x-echo-content-length"] == "0")
            // libcurl's default form Content-Type is not sent when the caller gave none.
            #expect(emptyPost.headers["x-echo-content-type"] == nil)
            // A POST without a body still says Content-Length: 0.
            let nilPost = try await offPool { try client.send(.init(method: "POST", url: url)) }
            #expect(nilPost.headers["x-echo-content-length"] == "0")
            #expect(head.status == 200)
            #expect(head.body == [])
            #expect(head.headers["content-length"] == "1234")
        }
    }

    @Test func gzipRequestBodyArrivesEncodedAndDecodes() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            let original = Array(String(repeating: "{\"record\":\"pump-17\",\"v\":3}\n", count: 5000).utf8)
            let response = try await offPool {
                try client.send(
                    StationHTTP.HTTPRequest(
                        method: "POST", url: "\(server.base)/ungzip", body: original, compressBody: true))
            }
            #expect(response.status == 200, "\(String(decoding: response.body, as: UTF8.self))")
            #expect(response.body == original)
            let wireLength = Int(response.headers["x-compressed-length"] ?? "") ?? 0
            #expect(wireLength > 0 && wireLength < original.count / 10)

            // And as seen by the echo handler: the raw gzip bytes with the header.
            let echoed = try await offPool {
                try client.send(.init(method: "POST", url: "\(server.base)/echo", body: original, compressBody: true))
            }
            #expect(echoed.headers["x-echo-content-encoding"] == "gzip")
            #expect(Gzip.isGzip(echoed.body))
            #expect(try Gzip.decompress(echoed.body, maxOutput: 1 << 20) == original)
        }
    }

    @Test func gzipResponseIsDecodedTransparently() async throws {
        try await withTestServer { server in
            let url = "\(server.base)/gzipped?size=500000"
            let client = try CurlHTTPClient()
            let response = try await offPool { try client.send(.init(url: url)) }
            #expect(response.status == 200)
            #expect(response.headers["content-encoding"] == "gzip")
            #expect(response.body == patternBytes(500_000))

            // Even when gzip was not negotiated, a gzip response body is decoded.
            var options = HTTPClientOptions()
            options.acceptGzip = false
            let plainClient = try CurlHTTPClient(options: options)
            let (echo, decoded) = try await offPool {
                (
                    try plainClient.send(.init(url: "\(server.base)/echo")),
                    try plainClient.send(.init(url: url))
                )
            }
            #expect(echo.headers["x-echo-accept-encoding"] == nil)
            #expect(decoded.body == patternBytes(500_000))
        }
    }

    @Test func keepAliveReusesOneConnection() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            #expect(client.connectionsOpened == 0)
            let statuses = try await offPool {
                [
                    try client.send(.init(url: "\(server.base)/echo")).status,
                    try client.send(.init(method: "POST", url: "\(server.base)/echo", body: [1, 2, 3])).status,
                    try client.send(.init(url: "\(server.base)/gzipped?size=10")).status,
                ]
            }
            #expect(statuses == [200, 200, 200])
            #expect(client.connectionsOpened == 1)

            // A second client has its own connection.
            let other = try CurlHTTPClient()
            _ = try await offPool { try other.send(.init(url: "\(server.base)/echo")) }
            #expect(other.connectionsOpened == 1)
            #expect(client.connectionsOpened == 1)
        }
    }

    @Test func concurrentCallsAreSerialized() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            let bodies = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for i in 0..<8 {
                    group.addTask {
                        try await offPool {
                            try client.send(.init(method: "POST", url: "\(server.base)/echo", body: [UInt8(i)])).body
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(Set(bodies) == Set((0..<8).map { [UInt8($0)] }))
            #expect(client.connectionsOpened == 1)
        }
    }

    @Test func statusCodesAreResponsesAndRedirectsAreNotFollowed() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            let (unavailable, missing, redirect) = try await offPool {
                (
                    try client.send(.init(url: "\(server.base)/status/503")),
                    try client.send(.init(url: "\(server.base)/no/such/route")),
                    try client.send(.init(url: "\(server.base)/redirect"))
                )
            }
            #expect(unavailable.status == 503)
            #expect(unavailable.body == Array("status 503".utf8))
            #expect(missing.status == 404)
            #expect(redirect.status == 302)
            #expect(redirect.headers["location"] == "/echo")
            #expect(redirect.headers["x-echo-method"] == nil)
        }
    }

    @Test func connectErrorIsTransient() async throws {
        let (port, fd) = try refusedPort()
        defer { close(fd) }
        let client = try CurlHTTPClient()
        let url = "http://127.0.0.1:\(port)/echo"
        let error = await #expect(throws: HTTPClientError.self) {
            try await offPool { try client.send(.init(url: url)) }
        }
        #expect(error?.kind == .connect)
        #expect(error?.isTransient == true)
        #expect(error?.url == url)
        #expect(error?.message.contains(url) == true)
        #expect(error?.message.contains("\n") == false)
    }

    @Test func unresolvableHostIsAConnectError() async throws {
        let client = try CurlHTTPClient()
        let error = await #expect(throws: HTTPClientError.self) {
            try await offPool { try client.send(.init(url: "http://no-such-host.invalid/")) }
        }
        #expect(error?.kind == .connect)
    }

    @Test func slowHandlerTimesOut() async throws {
        try await withTestServer { server in
            var options = HTTPClientOptions()
            options.requestTimeout = 0.4
            let client = try CurlHTTPClient(options: options)
            let start = ContinuousClock.now
            let error = await #expect(throws: HTTPClientError.self) {
                try await offPool { try client.send(.init(url: "\(server.base)/slow?ms=1500")) }
            }
            #expect(error?.kind == .timeout)
            #expect(error?.isTransient == true)
            #expect(ContinuousClock.now - start < .seconds(2))
            // The client still works afterwards.
            let ok = try await offPool { try client.send(.init(url: "\(server.base)/slow?ms=10")) }
            #expect(ok.body == Array("late".utf8))
        }
    }

    @Test func oversizedResponseIsTooLarge() async throws {
        try await withTestServer { server in
            var options = HTTPClientOptions()
            options.maxResponseBytes = 1 << 20
            let client = try CurlHTTPClient(options: options)
            let error = await #expect(throws: HTTPClientError.self) {
                try await offPool { try client.send(.init(url: "\(server.base)/big?size=\(2 << 20)")) }
            }
            #expect(error?.kind == .tooLarge)
            #expect(error?.isTransient == false)

            // Exactly the limit is fine.
            let exact = try await offPool { try client.send(.init(url: "\(server.base)/big?size=\(1 << 20)")) }
            #expect(exact.body == patternBytes(1 << 20))
        }
    }

    @Test func gzipBombResponseIsTooLarge() async throws {
        try await withTestServer { server in
            var options = HTTPClientOptions()
            options.maxResponseBytes = 1 << 20
            let decoding = try CurlHTTPClient(options: options)
            options.acceptGzip = false
            let notNegotiating = try CurlHTTPClient(options: options)
            let url = "\(server.base)/bomb"
            // libcurl decodes (limit applies to decoded bytes) ...
            let first = await #expect(throws: HTTPClientError.self) { try await offPool { try decoding.send(.init(url: url)) } }
            #expect(first?.kind == .tooLarge)
            // ... and so does the fallback when gzip was not negotiated.
            let second = await #expect(throws: HTTPClientError.self) {
                try await offPool { try notNegotiating.send(.init(url: url)) }
            }
            #expect(second?.kind == .tooLarge)
        }
    }

    @Test(arguments: ["not a url", "", "ftp://127.0.0.1/file", "file:///etc/passwd", "127.0.0.1:8080/echo", "http://[::1/", "http://exa mple.com/"])
    func invalidURL(_ url: String) async throws {
        let client = try CurlHTTPClient()
        let error = await #expect(throws: HTTPClientError.self) { try await offPool { try client.send(.init(url: url)) } }
        #expect(error?.kind == .invalidURL)
        #expect(error?.isTransient == false)
        #expect(error?.url == url)
    }

    @Test func invalidHeadersAreRejected() async throws {
        let client = try CurlHTTPClient()
        for header in [(name: "X-Bad", value: "a\r\nInjected: 1"), (name: "Bad Name", value: "x"), (name: "", value: "x")] {
            let error = await #expect(throws: HTTPClientError.self) {
                try await offPool { try client.send(.init(url: "http://127.0.0.1:9/", headers: [header])) }
            }
            #expect(error?.kind == .invalidURL)
        }
    }

    @Test func tlsFailuresAreTLS() async throws {
        try await withTestServer { server in
            let client = try CurlHTTPClient()
            // TLS to a plain-HTTP server fails the handshake.
            let handshake = await #expect(throws: HTTPClientError.self) {
                try await offPool { try client.send(.init(url: "https://\(server.hostPort)/echo")) }
            }
            #expect(handshake?.kind == .tls)
            #expect(handshake?.isTransient == false)

            // An unusable CA file.
            var options = HTTPClientOptions()
            options.caFile = "/nonexistent/ca.pem"
            let badCA = try CurlHTTPClient(options: options)
            let caError = await #expect(throws: HTTPClientError.self) {
                try await offPool { try badCA.send(.init(url: "https://\(server.hostPort)/echo")) }
            }
            #expect(caError?.kind == .tls)
        }
    }

    @Test func retryPolicyRecoversFromARealConnectError() async throws {
        let (port, fd) = try refusedPort()
        defer { close(fd) }
        let client = try CurlHTTPClient()
        let attempts = try await offPool { () throws -> [Int] in
            var attempts: [Int] = []
            var sleeps: [Double] = []
            let error = #expect(throws: HTTPClientError.self) {
                try RetryPolicy(maxAttempts: 3).run(
                    isTransient: { ($0 as? HTTPClientError)?.isTransient ?? false },
                    sleep: { sleeps.append($0) }
                ) { attempt in
                    attempts.append(attempt)
                    return try client.send(.init(url: "http://127.0.0.1:\(port)/"))
                }
            }
            #expect(error?.kind == .connect)
            #expect(sleeps.count == 2)
            return attempts
        }
        #expect(attempts == [1, 2, 3])
    }
}
