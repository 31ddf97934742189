import Foundation

/// Reads a file line by line in chunks, so memory does not grow with the file: linear in the
/// input (each byte is looked at once for the newline, however long its line) and with lines cut
/// off at ``maxLineBytes``.
public struct LineReader {
    /// The longest line read: a change file's line holds one record state (at most
    /// ``StationCore/Limits/stateBytes``) and its envelope, far less than this.
    public static let defaultMaxLineBytes = 64 << 20

    /// A line longer than the reader takes.
    public struct LineTooLong: Error, CustomStringConvertible {
        /// The line's 1-based number.
        public var line: Int
        public var limit: Int
        public var description: String { "line \(line) is longer than \(limit) bytes; nothing of it was read" }
    }

    private let handle: FileHandle
    private let maxLineBytes: Int
    /// Whether a line keeps the carriage return before its newline (CSV: a CRLF inside a quoted
    /// cell is the cell's).
    private let keepsCarriageReturns: Bool
    private var buffer = [UInt8]()
    private var start = 0
    /// Where the search for the next newline goes on: every byte before it (from `start`) holds none.
    private var scanned = 0
    private var atEnd = false
    private var number = 0

    public init(path: String, maxLineBytes: Int = LineReader.defaultMaxLineBytes, keepsCarriageReturns: Bool = false) throws {
        self.keepsCarriageReturns = keepsCarriageReturns
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CommandFailure("cannot read \(path)")
        }
        self.handle = handle
        self.maxLineBytes = maxLineBytes
    }

    /// The next line without its newline (and its carriage return, unless kept), or nil at the end. Throws
    /// ``LineTooLong`` for a line past the limit.
    public mutating func next() throws -> [UInt8]? {
        while true {
            if let newline = buffer[scanned...].firstIndex(of: 0x0A) {
                number += 1
                guard newline - start <= maxLineBytes else { throw LineTooLong(line: number, limit: maxLineBytes) }
                var line = Array(buffer[start..<newline])
                start = newline + 1
                scanned = start
                if line.last == 0x0D, !keepsCarriageReturns { line.removeLast() }
                return line
            }
            scanned = buffer.count
            if atEnd {
                guard start < buffer.count else { return nil }
                number += 1
                guard buffer.count - start <= maxLineBytes else { throw LineTooLong(line: number, limit: maxLineBytes) }
                let line = Array(buffer[start...])
                start = buffer.count
                scanned = start
                return line
            }
            guard buffer.count - start <= maxLineBytes else { throw LineTooLong(line: number + 1, limit: maxLineBytes) }
            if start > 0 {
                buffer.removeFirst(start)
                scanned -= start
                start = 0
            }
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
