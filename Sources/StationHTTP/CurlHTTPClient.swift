import CCurl
import CCurlShim
import Foundation
import Logging
import StationGzip
import Synchronization

/// A blocking HTTP/HTTPS client over one reused libcurl easy handle, so connections are kept
/// alive between requests. Calls to `send` are serialized; it is safe to share between threads
/// but blocks the calling thread, so call it off Swift's cooperative pool.
///
/// (`@unchecked`: the libcurl handle is not thread-safe; every use of it holds `lock`.)
public final class CurlHTTPClient: @unchecked Sendable {
    /// Hosts never reached through a proxy: loopback, plus whatever `no_proxy` lists.
    static let noProxy: String = {
        let env = ProcessInfo.processInfo.environment
        let extra = env["no_proxy"] ?? env["NO_PROXY"] ?? ""
        return (["localhost", "127.0.0.1", "::1"] + (extra.isEmpty ? [] : [extra])).joined(separator: ",")
    }()

    public let options: HTTPClientOptions
    private let logger: Logger
    private let lock = NSLock()
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>
    private let opened = Atomic<Int>(0)
    private let uploaded = Atomic<Int>(0)
    private let downloaded = Atomic<Int>(0)

    public init(
        options: HTTPClientOptions = .init(),
        logger: Logger = Logger(label: "StationSync.http")
    ) throws(HTTPClientError) {
        let global = CurlGlobal.initResult
        guard global == CURLE_OK else {
            throw HTTPClientError(
                kind: .other, message: "libcurl global initialization failed: \(Self.curlText(global))",
                url: "")
        }
        guard let handle = curl_easy_init() else {
            throw HTTPClientError(kind: .other, message: "libcurl could not create a handle", url: "")
        }
        self.handle = handle
        self.options = options
        self.logger = logger
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        self.errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// The number of new connections opened so far (libcurl's CURLINFO_NUM_CONNECTS, summed
    /// over all requests). Stays at 1 across requests to one host while keep-alive works.
    public var connectionsOpened: Int { opened.load(ordering: .relaxed) }

    /// Request body bytes sent so far, as on the wire (after gzip).
    public var bodyBytesSent: Int { uploaded.load(ordering: .relaxed) }
    /// Response body bytes received so far, as on the wire (before gzip decoding).
    public var bodyBytesReceived: Int { downloaded.load(ordering: .relaxed) }

    /// Sends `request` and waits for the complete response. Blocks the calling thread.
    public func send(_ request: HTTPRequest) throws(HTTPClientError) -> HTTPResponse {
        lock.lock()
        defer { lock.unlock() }
        let result = perform(request)
        switch result {
        case .success(let response):
            logger.trace(
                "HTTP request done",
                metadata: ["method": "\(request.method)", "url": "\(request.url)", "status": "\(response.status)"])
        case .failure(let error):
            logger.debug("HTTP request failed", metadata: ["error": "\(error.message)"])
        }
        return try result.get()
    }

    // MARK: Internals

    private func perform(_ request: HTTPRequest) -> Result<HTTPResponse, HTTPClientError> {
        let url = request.url
        func failure(_ kind: HTTPClientError.Kind, _ detail: String) -> Result<HTTPResponse, HTTPClientError> {
            .failure(
                HTTPClientError(
                    kind: kind, message: "\(request.method) \(url) failed (\(kind.summary)): \(detail)", url: url))
        }

        // Validate what libcurl would otherwise guess at or send verbatim.
        let lowerURL = url.lowercased()
        guard lowerURL.hasPrefix("http://") || lowerURL.hasPrefix("https://") else {
            return failure(.invalidURL, "not an absolute http:// or https:// URL")
        }
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7f }) else {
            return failure(.invalidURL, "URL contains spaces or control characters")
        }
        guard !request.method.isEmpty, request.method.unicodeScalars.allSatisfy(Self.isTokenCharacter) else {
            return failure(.invalidURL, "invalid method \"\(request.method)\"")
        }
        for header in request.headers {
            guard !header.name.isEmpty, header.name.unicodeScalars.allSatisfy(Self.isTokenCharacter) else {
                return failure(.invalidURL, "invalid header name \"\(header.name)\"")
            }
            guard !header.value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" || $0 == "\0" }) else {
                return failure(.invalidURL, "header \(header.name) contains a line break")
            }
        }

        // The body to send, gzipped if asked. POST, PUT and PATCH always send one, if only an
        // empty one, so that a Content-Length goes out.
        var body = request.body
        if body == nil && ["POST", "PUT", "PATCH"].contains(request.method) { body = [] }
        var extraHeaders: [String] = []
        if let raw = body, request.compressBody {
            do {
                body = try Gzip.compress(raw)
            } catch {
                return failure(.other, "could not gzip the request body: \(error.message)")
            }
            extraHeaders.append("Content-Encoding: gzip")
        }
        let hasHeader = { (name: String) in
            request.headers.contains { $0.name.caseInsensitiveCompare(name) == .orderedSame }
        }
        if body != nil {
            // No `Expect: 100-continue` round trip before the body.
            extraHeaders.append("Expect:")
            // libcurl would claim application/x-www-form-urlencoded.
            if !hasHeader("Content-Type") { extraHeaders.append("Content-Type:") }
        }

        // Options: start from defaults each time. curl_easy_reset keeps live connections, the
        // DNS cache and the TLS session cache, so keep-alive survives.
        curl_easy_reset(handle)
        errorBuffer[0] = 0
        let transfer = Transfer(limit: max(0, options.maxResponseBytes))
        let userdata = Unmanaged.passUnretained(transfer).toOpaque()

        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }
        for line in request.headers.map({ $0.value.isEmpty ? "\($0.name);" : "\($0.name): \($0.value)" })
            + extraHeaders
        {
            guard let appended = curl_slist_append(headerList, line) else {
                return failure(.other, "out of memory building the header list")
            }
            headerList = appended
        }

        var setupError: CURLcode = CURLE_OK
        func check(_ code: CURLcode) { if setupError == CURLE_OK && code != CURLE_OK { setupError = code } }

        check(stationsync_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        check(stationsync_curl_setopt_string(handle, CURLOPT_URL, url))
        check(stationsync_curl_setopt_string(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(stationsync_curl_setopt_string(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https"))
        check(stationsync_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0))
        check(stationsync_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        check(stationsync_curl_setopt_long(handle, CURLOPT_NOPROGRESS, 1))
        check(stationsync_curl_setopt_long(handle, CURLOPT_TCP_KEEPALIVE, 1))
        // Proxies from the environment apply to remote peers, never to this machine's own.
        check(stationsync_curl_setopt_string(handle, CURLOPT_NOPROXY, Self.noProxy))
        check(stationsync_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(options.connectTimeout)))
        check(stationsync_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(options.requestTimeout)))
        check(stationsync_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1))
        check(stationsync_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2))
        if let caFile = options.caFile {
            check(stationsync_curl_setopt_string(handle, CURLOPT_CAINFO, caFile))
        }
        if !hasHeader("User-Agent") {
            check(stationsync_curl_setopt_string(handle, CURLOPT_USERAGENT, options.userAgent))
        }
        if options.acceptGzip {
            // "" = advertise everything libcurl supports, and decode it.
            check(stationsync_curl_setopt_string(handle, CURLOPT_ACCEPT_ENCODING, ""))
        }
        check(stationsync_curl_setopt_write_function(handle, Transfer.writeCallback))
        check(stationsync_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, userdata))
        check(stationsync_curl_setopt_header_function(handle, Transfer.headerCallback))
        check(stationsync_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, userdata))
        check(stationsync_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList))

        let method = request.method
        if body == nil {
            switch method {
            case "GET": check(stationsync_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
            case "HEAD": check(stationsync_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
            default:
                check(stationsync_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
                check(stationsync_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method))
            }
        } else if method != "POST" {
            check(stationsync_curl_setopt_string(handle, CURLOPT_CUSTOMREQUEST, method))
        }

        // The body is passed by pointer (CURLOPT_POSTFIELDS, no copy), so perform inside the
        // closure that keeps it pinned. An empty body still needs a non-NULL pointer, or libcurl
        // would read the body from stdin.
        let sendBytes = body ?? []
        let pinned = sendBytes.isEmpty ? [0] : sendBytes
        let code: CURLcode = withExtendedLifetime(transfer) {
            pinned.withUnsafeBufferPointer { buffer in
                if body != nil {
                    check(stationsync_curl_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(sendBytes.count)))
                    check(
                        stationsync_curl_setopt_pointer(
                            handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress)))
                }
                if setupError != CURLE_OK { return setupError }
                return curl_easy_perform(handle)
            }
        }

        var connects = 0
        if stationsync_curl_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK {
            _ = opened.add(connects, ordering: .relaxed)
        }
        var up: curl_off_t = 0
        var down: curl_off_t = 0
        if stationsync_curl_getinfo_off_t(handle, CURLINFO_SIZE_UPLOAD_T, &up) == CURLE_OK { _ = uploaded.add(Int(up), ordering: .relaxed) }
        if stationsync_curl_getinfo_off_t(handle, CURLINFO_SIZE_DOWNLOAD_T, &down) == CURLE_OK { _ = downloaded.add(Int(down), ordering: .relaxed) }
        // Don't keep a dangling pointer to `pinned` in the handle.
        _ = stationsync_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, nil)

        if transfer.exceeded || code == CURLE_FILESIZE_EXCEEDED {
            return failure(.tooLarge, "response body is larger than \(options.maxResponseBytes) bytes")
        }
        guard code == CURLE_OK else {
            let buffered = String(cString: errorBuffer)
            let detail = buffered.isEmpty ? Self.curlText(code) : buffered
            return failure(Self.kind(for: code), Self.oneLine(detail) + " (curl code \(code.rawValue))")
        }

        var status = 0
        _ = stationsync_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var responseBody = transfer.body
        // Asked not to negotiate, but the server gzipped anyway: decode it ourselves.
        if !options.acceptGzip, let encoding = transfer.headers["content-encoding"]?.lowercased(),
            encoding == "gzip" || encoding == "x-gzip", !responseBody.isEmpty
        {
            do {
                responseBody = try Gzip.decompress(responseBody, maxOutput: max(0, options.maxResponseBytes))
            } catch {
                if error.code == .tooLarge {
                    return failure(.tooLarge, "decoded response body is larger than \(options.maxResponseBytes) bytes")
                }
                return failure(.other, "could not decode the gzip response body: \(error.message)")
            }
        }
        return .success(HTTPResponse(status: status, headers: transfer.headers, body: responseBody))
    }

    static func kind(for code: CURLcode) -> HTTPClientError.Kind {
        switch code {
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            .invalidURL
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            .connect
        case CURLE_OPERATION_TIMEDOUT:
            .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
            CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CRL_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH,
            CURLE_SSL_INVALIDCERTSTATUS, CURLE_SSL_CLIENTCERT, CURLE_SSL_ENGINE_NOTFOUND, CURLE_SSL_ENGINE_SETFAILED,
            CURLE_SSL_ENGINE_INITFAILED, CURLE_SSL_SHUTDOWN_FAILED, CURLE_USE_SSL_FAILED:
            .tls
        case CURLE_RECV_ERROR, CURLE_SEND_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_HTTP2,
            CURLE_HTTP2_STREAM:
            .transfer
        case CURLE_FILESIZE_EXCEEDED:
            .tooLarge
        default:
            .other
        }
    }

    private static func curlText(_ code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }

    private static func oneLine(_ text: String) -> String {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
    }

    private static func milliseconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Int(min(seconds * 1000, Double(Int32.max)).rounded(.up))
    }

    /// RFC 9110 token characters (method and header names).
    private static func isTokenCharacter(_ c: Unicode.Scalar) -> Bool {
        switch c {
        case "a"..."z", "A"..."Z", "0"..."9": true
        case "!", "#", "$", "%", "&", "'", "*", "+", "-", ".", "^", "_", "`", "|", "~": true
        default: false
        }
    }
}
