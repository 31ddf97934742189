import Foundation

/// One HTTP request for `CurlHTTPClient.send`.
public struct HTTPRequest: Sendable {
    /// The method, e.g. "GET", "POST", "PUT", "HEAD" (sent as given).
    public var method: String
    /// An absolute http:// or https:// URL.
    public var url: String
    /// Extra request headers, sent in order. Names are sent as given.
    public var headers: [(name: String, value: String)]
    /// The body, or nil for none. A non-nil body (even an empty one) is sent with a Content-Length.
    public var body: [UInt8]?
    /// Gzip the body and send `Content-Encoding: gzip`. Ignored when `body` is nil.
    public var compressBody: Bool

    public init(
        method: String = "GET",
        url: String,
        headers: [(name: String, value: String)] = [],
        body: [UInt8]? = nil,
        compressBody: Bool = false
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.compressBody = compressBody
    }
}

/// The final response to a request (interim 1xx responses are skipped; redirects are not followed).
public struct HTTPResponse: Sendable {
    /// The status code, e.g. 200.
    public var status: Int
    /// Response headers with lowercased names; when a name repeats, the last value wins.
    /// These are the headers as the server sent them: when the body was gzip-decoded for you,
    /// `content-encoding` and `content-length` still describe the encoded form on the wire.
    public var headers: [String: String]
    /// The body, already decompressed.
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The value of the header `name` (any case), if present.
    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Settings for a `CurlHTTPClient`, fixed when it is created.
public struct HTTPClientOptions: Sendable {
    /// Seconds allowed for connecting (TCP and TLS handshake). 0 means libcurl's default (300 s).
    public var connectTimeout: Double = 5
    /// Seconds allowed for a whole transfer, connect included. 0 means no limit.
    public var requestTimeout: Double = 60
    /// A PEM file of CA certificates to trust instead of the system's (CURLOPT_CAINFO).
    /// Peer and host verification are always on.
    public var caFile: String? = nil
    /// Sent as `User-Agent` unless the request sets its own.
    public var userAgent: String = "StationSync/1"
    /// Advertise every encoding libcurl can decode (gzip, deflate, ...) and decode responses.
    /// When false, nothing is advertised, but a response that arrives gzip-encoded anyway is
    /// still decoded (bounded by `maxResponseBytes`).
    public var acceptGzip: Bool = true
    /// The largest (decoded) response body accepted; past it the transfer is aborted with
    /// `HTTPClientError.Kind.tooLarge`.
    public var maxResponseBytes: Int = 256 << 20

    public init() {}
}
