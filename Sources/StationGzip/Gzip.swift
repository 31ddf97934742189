import CStationZlib

/// gzip (RFC 1952) through the system zlib, for HTTP request and response bodies.
///
/// Both directions stream through a fixed 64 KiB buffer, so neither ever allocates more than the
/// output it actually produces — `decompress` in particular never allocates `maxOutput` up front,
/// and stops as soon as the output would pass it.
public enum Gzip {
    static let chunkSize = 64 * 1024

    /// Compresses `bytes` into a single gzip member (deflate, zlib's default level, windowBits 31).
    public static func compress(_ bytes: [UInt8]) throws(GzipError) -> [UInt8] {
        guard let stream = stationsync_gzip_deflate_begin(-1) else {
            throw GzipError("gzip: could not initialize deflate")
        }
        defer { stationsync_gzip_end(stream) }

        var output: [UInt8] = []
        output.reserveCapacity(bytes.count / 2 + 32)
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var offset = 0
        while true {
            var inUsed = 0
            var outUsed = 0
            let rc = bytes.withUnsafeBufferPointer { input in
                chunk.withUnsafeMutableBufferPointer { out in
                    stationsync_gzip_deflate(
                        stream, input.baseAddress.map { $0 + offset }, input.count - offset,
                        out.baseAddress, out.count, 1, &inUsed, &outUsed)
                }
            }
            offset += inUsed
            output.append(contentsOf: chunk[0..<outUsed])
            switch rc {
            case Int32(STATIONSYNC_Z_STREAM_END):
                return output
            case Int32(STATIONSYNC_Z_OK), Int32(STATIONSYNC_Z_BUF_ERROR):
                if inUsed == 0 && outUsed == 0 {
                    throw GzipError("gzip: deflate made no progress (zlib code \(rc))")
                }
            default:
                throw GzipError("gzip: deflate failed: \(zlibMessage(stream, rc))")
            }
        }
    }

    /// Decompresses gzip data (one or more concatenated members).
    ///
    /// Throws if the input is not gzip, is corrupt or truncated, has trailing bytes that are not
    /// another gzip member, or if the output would exceed `maxOutput` bytes (a "zip bomb").
    public static func decompress(_ bytes: [UInt8], maxOutput: Int) throws(GzipError) -> [UInt8] {
        guard !bytes.isEmpty else { throw GzipError("gzip: empty input is not gzip data") }
        guard let stream = stationsync_gzip_inflate_begin() else {
            throw GzipError("gzip: could not initialize inflate")
        }
        defer { stationsync_gzip_end(stream) }

        let limit = max(0, maxOutput)
        var output: [UInt8] = []
        output.reserveCapacity(min(limit, max(bytes.count * 4, 1024)))
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        var offset = 0
        while true {
            // Ask for at most one byte more than is still allowed, so passing the limit shows up
            // without inflating any further.
            let remaining = limit - output.count
            let room = remaining >= chunkSize ? chunkSize : remaining + 1
            var inUsed = 0
            var outUsed = 0
            let rc = bytes.withUnsafeBufferPointer { input in
                chunk.withUnsafeMutableBufferPointer { out in
                    stationsync_gzip_inflate(
                        stream, input.baseAddress.map { $0 + offset }, input.count - offset,
                        out.baseAddress, room, &inUsed, &outUsed)
                }
            }
            offset += inUsed
            if outUsed > remaining {
                throw GzipError("gzip: decompressed data exceeds the limit of \(limit) bytes", code: .tooLarge)
            }
            output.append(contentsOf: chunk[0..<outUsed])
            switch rc {
            case Int32(STATIONSYNC_Z_STREAM_END):
                if offset == bytes.count { return output }
                // Another member may follow (RFC 1952 §2.2); anything else is garbage.
                guard isGzip(Array(bytes[offset..<min(offset + 2, bytes.count)])) else {
                    throw GzipError(
                        "gzip: \(bytes.count - offset) unexpected trailing bytes after the gzip data")
                }
                guard stationsync_gzip_inflate_reset(stream) == Int32(STATIONSYNC_Z_OK) else {
                    throw GzipError("gzip: could not reset inflate for the next member")
                }
            case Int32(STATIONSYNC_Z_OK), Int32(STATIONSYNC_Z_BUF_ERROR):
                if inUsed == 0 && outUsed == 0 {
                    if offset == bytes.count {
                        throw GzipError("gzip: data is truncated (unexpected end of input)")
                    }
                    throw GzipError("gzip: inflate made no progress (zlib code \(rc))")
                }
            case Int32(STATIONSYNC_Z_NEED_DICT):
                throw GzipError("gzip: data is corrupt (needs a preset dictionary)")
            case Int32(STATIONSYNC_Z_DATA_ERROR):
                throw GzipError("gzip: data is corrupt (\(zlibMessage(stream, rc)))")
            default:
                throw GzipError("gzip: inflate failed: \(zlibMessage(stream, rc))")
            }
        }
    }

    /// True when `bytes` starts with the gzip magic number 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[bytes.startIndex] == 0x1f && bytes[bytes.startIndex + 1] == 0x8b
    }

    private static func zlibMessage(_ stream: OpaquePointer, _ rc: Int32) -> String {
        if let message = stationsync_gzip_message(stream) { return String(cString: message) }
        return "zlib code \(rc)"
    }
}

/// A gzip failure: bad or truncated input, output over the limit, or zlib itself failing.
public struct GzipError: Error, Equatable, CustomStringConvertible, Sendable {
    /// What kind of failure: callers tell them apart by this, never by the message.
    public enum Code: Sendable, Equatable {
        /// The output would pass the caller's limit (a "zip bomb").
        case tooLarge
        /// Anything else: bad or truncated input, zlib failing.
        case failed
    }

    public var code: Code
    /// One line saying what went wrong.
    public var message: String
    public var description: String { message }

    public init(_ message: String, code: Code = .failed) {
        self.message = message
        self.code = code
    }
}
