import CCurl
import Foundation

/// A request that got no HTTP response. (Any status code, 4xx and 5xx included, is a response.)
public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        /// The URL is malformed or not http(s), or the request itself is invalid.
        case invalidURL
        /// Could not resolve the host or connect to it.
        case connect
        /// The connect or request timeout passed.
        case timeout
        /// TLS handshake or certificate verification failed, or the CA file is unusable.
        case tls
        /// The connection failed mid-transfer (reset, empty reply, short body).
        case transfer
        /// The response body is larger than `HTTPClientOptions.maxResponseBytes`.
        case tooLarge
        /// Anything else.
        case other
    }

    public var kind: Kind
    /// One line saying what failed and for which URL, with libcurl's explanation.
    public var message: String
    public var url: String

    public init(kind: Kind, message: String, url: String) {
        self.kind = kind
        self.message = message
        self.url = url
    }

    /// Whether trying the same request again later may succeed.
    public var isTransient: Bool {
        switch kind {
        case .connect, .timeout, .transfer: true
        case .invalidURL, .tls, .tooLarge, .other: false
        }
    }

    public var description: String { message }
}

extension HTTPClientError.Kind {
    var summary: String {
        switch self {
        case .invalidURL: "invalid request"
        case .connect: "could not connect"
        case .timeout: "timed out"
        case .tls: "TLS error"
        case .transfer: "connection failed during transfer"
        case .tooLarge: "response too large"
        case .other: "error"
        }
    }
}

/// Runs curl_global_init exactly once, lazily and thread-safely (Swift's static initialization).
