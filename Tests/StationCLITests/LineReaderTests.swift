import Foundation
import StationCommands
import Testing

/// The line reader of `station import` and `station merge` (issue 13, finding 6): a 64 MiB line
/// took 109 s (each 1 MiB chunk read searched the whole line again for its newline); it is now
/// linear, and a line past the cap is refused with its number.
@Suite struct LineReaderTests {
    func file(_ bytes: [UInt8]) throws -> String {
        let path = NSTemporaryDirectory() + "linereader-\(UUID().uuidString).txt"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    func lines(_ path: String, max: Int = LineReader.defaultMaxLineBytes) throws -> [[UInt8]] {
        var reader = try LineReader(path: path, maxLineBytes: max)
        var result: [[UInt8]] = []
        while let line = try reader.next() { result.append(line) }
        return result
    }

    @Test("Lines across chunk boundaries, CRLF, blank lines and a last line without a newline read back exactly")
    func linesReadBackExactly() async throws {
        let long = [UInt8](repeating: UInt8(ascii: "x"), count: 3 << 20 + 17)  // spans four 1 MiB chunks
        let bytes = Array("a\r\n\n".utf8) + long + [0x0A] + Array("last".utf8)
        let path = try file(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(try lines(path) == [Array("a".utf8), [], long, Array("last".utf8)])
    }

    @Test("A line past the cap is refused with its number; lines before it were read")
    func aLineTooLongIsRefused() async throws {
        let path = try file(Array("ok\n".utf8) + [UInt8](repeating: 0x41, count: (2 << 20) + 1) + Array("\nafter\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        var reader = try LineReader(path: path, maxLineBytes: 2 << 20)
        #expect(try reader.next() == Array("ok".utf8))
        #expect { _ = try reader.next() } throws: { ($0 as? LineReader.LineTooLong)?.line == 2 }
        // Exactly at the cap is taken.
        let exact = try file([UInt8](repeating: 0x41, count: 2 << 20))
        defer { try? FileManager.default.removeItem(atPath: exact) }
        #expect(try lines(exact, max: 2 << 20).map(\.count) == [2 << 20])
    }
}
