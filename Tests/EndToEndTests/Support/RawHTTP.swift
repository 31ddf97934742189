import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An HTTP answer as received.
struct RawResponse: CustomStringConvertible {
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: Data

    var text: String { String(decoding: body, as: UTF8.self) }
    /// The body as a JSON object, if it is one.
    var jsonObject: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    var description: String { "HTTP \(status) \(headers["content-type"] ?? "-"): \(text.clipped(600))" }
}

/// A tiny HTTP/1.1 client over a POSIX socket, for hand-made requests the real client would never
/// send (garbage bodies, other nodes' names, 40 MB bodies) and for health checks. One request per
/// connection (`Connection: close`). While it sends the body it also reads, so an early answer
/// (413 before the whole body went out) is still received.
enum RawHTTP {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func request(
        port: Int, method: String, path: String, headers: [(String, String)] = [], body: Data? = nil, timeout: Double = 30
    ) async throws -> RawResponse {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    with: Result {
                        try send(port: port, method: method, path: path, headers: headers, body: body, timeout: timeout)
                    })
            }
        }
    }

    /// `GET /v1/health` until it answers 200 (or `timeout` seconds pass).
    static func waitForHealth(port: Int, timeout: Double = 20) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        var last = "no answer"
        while Date() < deadline {
            do {
                let response = try await request(port: port, method: "GET", path: "/v1/health", timeout: 2)
                if response.status == 200, let object = response.jsonObject { return object }
                last = response.description
            } catch {
                last = "\(error)"
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw HarnessError("GET http://127.0.0.1:\(port)/v1/health did not answer 200 within \(Int(timeout)) s (last: \(last))")
    }

    private static func send(
        port: Int, method: String, path: String, headers: [(String, String)], body: Data?, timeout: Double
    ) throws
        -> RawResponse
    {
        let deadline = Date().addingTimeInterval(timeout)
        #if canImport(Glibc)
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
            let fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        #if canImport(Darwin)
            var one: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
        var address = sockaddr_in()
        #if canImport(Darwin)
            address.sin_len = UInt8(MemoryLayout<sockaddr_in>.size)
        #endif
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "connect to 127.0.0.1:\(port) failed: errno \(errno)") }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)

        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let body { head += "Content-Length: \(body.count)\r\n" }
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "\r\n"
        var outgoing = Data(head.utf8)
        if let body { outgoing.append(body) }

        var sent = 0
        var sending = true
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let response = try parse(received, complete: false) { return response }
            let remaining = deadline.timeIntervalSinceNow
            guard remaining > 0 else {
                throw Failure(description: "\(method) \(path): no complete answer within \(Int(timeout)) s (sent \(sent) of \(outgoing.count) bytes)")
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN) | (sending ? Int16(POLLOUT) : 0), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(remaining, 1) * 1000))
            if ready < 0 {
                if errno == EINTR { continue }
                throw Failure(description: "poll failed: errno \(errno)")
            }
            if ready == 0 { continue }
            if pfd.revents & Int16(POLLIN) != 0 || pfd.revents & Int16(POLLHUP) != 0 || pfd.revents & Int16(POLLERR) != 0 {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n > 0 {
                    received.append(contentsOf: buffer[0..<n])
                    continue
                }
                if n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    // The server closed (or reset) the connection: the answer is what came.
                    if let response = try parse(received, complete: true) { return response }
                    throw Failure(
                        description:
                            "\(method) \(path): connection closed after \(received.count) bytes of answer (sent \(sent) of \(outgoing.count); errno \(n == 0 ? 0 : errno))"
                    )
                }
            }
            if sending, pfd.revents & Int16(POLLOUT) != 0 {
                let n = outgoing.withUnsafeBytes { raw -> Int in
                    let chunk = min(256 * 1024, outgoing.count - sent)
                    #if canImport(Glibc)
                        return Glibc.send(fd, raw.baseAddress! + sent, chunk, Int32(MSG_NOSIGNAL))
                    #else
                        return Darwin.send(fd, raw.baseAddress! + sent, chunk, 0)
                    #endif
                }
                if n > 0 {
                    sent += n
                    if sent == outgoing.count { sending = false }
                } else if errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
                    // The server stopped reading (it may have answered already): keep reading.
                    sending = false
                }
            }
        }
    }

    /// A whole response in `data`, or nil if more is needed (`complete`: the connection closed).
    private static func parse(_ data: Data, complete: Bool) throws -> RawResponse? {
        let separator = Data("\r\n\r\n".utf8)
        guard let end = data.range(of: separator) else { return nil }
        let headText = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self)
        var lines = headText.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst()
        let parts = statusLine.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), let status = Int(parts[1]) else {
            throw Failure(description: "not an HTTP status line: \(statusLine)")
        }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = data[end.upperBound...]
        if let length = headers["content-length"].flatMap(Int.init) {
            guard rest.count >= length else { return complete ? RawResponse(status: status, headers: headers, body: Data(rest)) : nil }
            return RawResponse(status: status, headers: headers, body: Data(rest.prefix(length)))
        }
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            var body = Data()
            var cursor = rest.startIndex
            while true {
                guard let lineEnd = rest[cursor...].range(of: Data("\r\n".utf8)) else {
                    return complete ? RawResponse(status: status, headers: headers, body: body) : nil
                }
                let sizeText = String(decoding: rest[cursor..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";").first ?? ""
                guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                    throw Failure(description: "bad chunk size \(sizeText)")
                }
                if size == 0 { return RawResponse(status: status, headers: headers, body: body) }
                let start = lineEnd.upperBound
                guard rest.distance(from: start, to: rest.endIndex) >= size + 2 else {
                    return complete ? RawResponse(status: status, headers: headers, body: body) : nil
                }
                let stop = rest.index(start, offsetBy: size)
                body.append(rest[start..<stop])
                cursor = rest.index(stop, offsetBy: 2)
            }
        }
        return complete ? RawResponse(status: status, headers: headers, body: Data(rest)) : nil
    }
}
