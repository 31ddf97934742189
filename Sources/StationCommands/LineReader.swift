import Foundation

/// Reads a file line by line in chunks, so memory does not grow with the file.
public struct LineReader {
    private let handle: FileHandle
    private var buffer = [UInt8]()
    private var start = 0
    private var atEnd = false

    public init(path: String) throws {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CommandFailure("cannot read \(path)")
        }
        self.handle = handle
    }

    /// The next line without its newline, or nil at the end.
    public mutating func next() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                var line = Array(buffer[start..<newline])
                start = newline + 1
                if line.last == 0x0D { line.removeLast() }
                return line
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                let line = Array(buffer[start...])
                start = buffer.count
                return line
            }
            buffer.removeFirst(start)
            start = 0
            let chunk = handle.readData(ofLength: 1 << 20)
            if chunk.isEmpty { atEnd = true } else { buffer.append(contentsOf: chunk) }
        }
    }
}
