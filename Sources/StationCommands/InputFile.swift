import Foundation

/// A JSON Lines input that is read twice: once to check every line, once to apply them. Standard
/// input ('-') is spooled to a temporary file first, so both passes stream and memory stays flat.
public struct InputFile {
    public let path: String
    private let spooled: Bool

    public init(_ argument: String) throws {
        guard argument == "-" else {
            guard FileManager.default.isReadableFile(atPath: argument) else { throw CommandFailure("cannot read \(argument)") }
            path = argument
            spooled = false
            return
        }
        path = NSTemporaryDirectory() + "station-input-\(UUID().uuidString).jsonl"
        spooled = true
        guard FileManager.default.createFile(atPath: path, contents: nil), let out = FileHandle(forWritingAtPath: path) else {
            throw CommandFailure("cannot spool standard input to \(path)")
        }
        while case let chunk = FileHandle.standardInput.readData(ofLength: 1 << 20), !chunk.isEmpty { out.write(chunk) }
        try out.close()
    }

    /// Calls `body` with each non-blank line and its 1-based number. `raw`: every line, blank
    /// ones included, each with its carriage return if it had one (CSV reads its own rows).
    public func forEachLine(raw: Bool = false, _ body: (_ number: Int, _ line: [UInt8]) throws -> Void) throws {
        var reader = try LineReader(path: path, keepsCarriageReturns: raw)
        var number = 0
        while var line = try reader.next() {
            number += 1
            // A UTF-8 byte order mark, as Excel and Notepad write one, is not part of the first line.
            if number == 1, line.starts(with: [0xEF, 0xBB, 0xBF]) { line.removeFirst(3) }
            if !raw, line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            try body(number, line)
        }
    }

    /// Removes the spooled copy of standard input, if any.
    public func cleanUp() {
        if spooled { try? FileManager.default.removeItem(atPath: path) }
    }
}
