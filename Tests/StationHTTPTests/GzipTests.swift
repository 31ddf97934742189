import Foundation
import StationGzip
import StationTestSupport
import Testing

/// Deterministic pseudo-random bytes (the tests' generator, StationTestSupport), so failures
/// reproduce.
func randomBytes(_ count: Int, seed: UInt64 = 42) -> [UInt8] {
    var rng = SeededRandom(seed: seed)
    var bytes = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        let word = rng.next()
        for shift in stride(from: 0, to: 64, by: 8) where i < count {
            bytes[i] = UInt8(truncatingIfNeeded: word >> UInt64(shift))
            i += 1
        }
    }
    return bytes
}

@Suite struct GzipTests {
    @Test(arguments: [0, 1, 2, 100, 65_535, 65_536, 65_537, 300_001, (1 << 20) + 7])
    func roundTripOfRandomData(size: Int) async throws {
        let original = randomBytes(size, seed: UInt64(size))
        let compressed = try Gzip.compress(original)
        #expect(Gzip.isGzip(compressed))
        #expect(compressed[2] == 8)  // CM = deflate
        let back = try Gzip.decompress(compressed, maxOutput: size)
        #expect(back == original)
    }

    @Test func roundTripOfCompressibleData() async throws {
        let text = Array(String(repeating: "station 42 synced record ✓\n", count: 20_000).utf8)
        let compressed = try Gzip.compress(text)
        #expect(compressed.count < text.count / 20)
        #expect(try Gzip.decompress(compressed, maxOutput: text.count) == text)
    }

    @Test func emptyInputCompressesToAValidMember() async throws {
        let compressed = try Gzip.compress([])
        #expect(Gzip.isGzip(compressed))
        #expect(compressed.count == 20)  // 10-byte header, empty final block, CRC32 + ISIZE
        #expect(try Gzip.decompress(compressed, maxOutput: 0) == [])
    }

    @Test func isGzipChecksTheMagicNumber() {
        #expect(Gzip.isGzip([0x1f, 0x8b]))
        #expect(Gzip.isGzip([0x1f, 0x8b, 0x08, 0x00]))
        #expect(!Gzip.isGzip([]))
        #expect(!Gzip.isGzip([0x1f]))
        #expect(!Gzip.isGzip([0x8b, 0x1f, 0x08]))
        #expect(!Gzip.isGzip(Array("{\"a\":1}".utf8)))
    }

    @Test func concatenatedMembersDecodeToTheConcatenation() async throws {
        let a = randomBytes(1000, seed: 1)
        let b = Array("second member".utf8)
        let joined = try Gzip.compress(a) + Gzip.compress(b)
        #expect(try Gzip.decompress(joined, maxOutput: 10_000) == a + b)
    }

    @Test func truncatedInputThrows() async throws {
        let original = randomBytes(100_000, seed: 7)
        let compressed = try Gzip.compress(original)
        for cut in [1, 4, 8, 9, compressed.count / 2, compressed.count - 10] {
            let truncated = Array(compressed.dropLast(cut))
            #expect(throws: GzipError.self, "cut \(cut)") {
                try Gzip.decompress(truncated, maxOutput: 1 << 20)
            }
        }
        // Only the header.
        #expect(throws: GzipError.self) { try Gzip.decompress(Array(compressed.prefix(10)), maxOutput: 1 << 20) }
        let error = #expect(throws: GzipError.self) { try Gzip.decompress(Array(compressed.dropLast(1)), maxOutput: 1 << 20) }
        #expect(error?.message.contains("truncated") == true)
    }

    @Test func corruptInputThrows() async throws {
        let original = Array(String(repeating: "abcdefgh", count: 10_000).utf8)
        let compressed = try Gzip.compress(original)
        // A flipped bit in the deflate data, in the CRC, in the length, and in the magic.
        for index in [compressed.count / 2, compressed.count - 6, compressed.count - 2, 0, 1] {
            var corrupt = compressed
            corrupt[index] ^= 0x10
            #expect(throws: GzipError.self, "byte \(index)") { try Gzip.decompress(corrupt, maxOutput: 1 << 20) }
        }
        // Not gzip at all, and nothing.
        #expect(throws: GzipError.self) { try Gzip.decompress(randomBytes(5000), maxOutput: 1 << 20) }
        #expect(throws: GzipError.self) { try Gzip.decompress(Array("plain text body".utf8), maxOutput: 1 << 20) }
        #expect(throws: GzipError.self) { try Gzip.decompress([], maxOutput: 1 << 20) }
        // Trailing bytes that are not another member.
        #expect(throws: GzipError.self) { try Gzip.decompress(compressed + [0x00, 0x01, 0x02], maxOutput: 1 << 20) }
    }

    @Test func maxOutputStopsABombEarly() async throws {
        let size = 50 << 20
        let bomb = try Gzip.compress([UInt8](repeating: 0, count: size))
        #expect(bomb.count < 100_000)  // ~50 KB for 50 MB

        let start = ContinuousClock.now
        let error = #expect(throws: GzipError.self) { try Gzip.decompress(bomb, maxOutput: 1 << 20) }
        #expect(error?.message.contains("exceeds the limit of 1048576 bytes") == true)
        // It stops after ~1 MB of output rather than inflating all 50 MB.
        #expect(ContinuousClock.now - start < .seconds(2))

        // The limit is inclusive.
        let small = try Gzip.compress([UInt8](repeating: 7, count: 1000))
        #expect(try Gzip.decompress(small, maxOutput: 1000).count == 1000)
        #expect(throws: GzipError.self) { try Gzip.decompress(small, maxOutput: 999) }
        #expect(throws: GzipError.self) { try Gzip.decompress(small, maxOutput: 0) }
        // And the whole bomb does decode when allowed to.
        #expect(try Gzip.decompress(bomb, maxOutput: size).count == size)
    }

    @Test func interoperatesWithTheGzipTool() async throws {
        guard FileManager.default.isExecutableFile(atPath: "/bin/gzip") else { return }
        let original = randomBytes(200_000, seed: 9) + Array(String(repeating: "x", count: 50_000).utf8)
        // Ours -> gzip -d
        #expect(try runGzip(["-dc"], input: Gzip.compress(original)) == original)
        // gzip -> ours
        #expect(try Gzip.decompress(runGzip(["-c", "-9"], input: original), maxOutput: original.count) == original)
    }

    private func runGzip(_ arguments: [String], input: [UInt8]) throws -> [UInt8] {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gzip-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let inFile = dir.appendingPathComponent("in"), outFile = dir.appendingPathComponent("out")
        try Data(input).write(to: inFile)
        _ = FileManager.default.createFile(atPath: outFile.path, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: inFile)
        process.standardOutput = try FileHandle(forWritingTo: outFile)
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        return Array(try Data(contentsOf: outFile))
    }
}
