import Foundation
import Testing

/// What one run of `station` produced.
struct StationResult: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String

    /// Non-empty lines of stderr.
    var stderrLines: [String] { stderr.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }

    var description: String { "exit \(status)\n--- stdout:\n\(stdout)\n--- stderr:\n\(stderr)" }
}

extension StationResult {
    /// Records an issue (with the output) unless the exit status was 0.
    func expectSuccess(sourceLocation: SourceLocation = #_sourceLocation) throws {
        try #require(status == 0, "expected success:\n\(self)", sourceLocation: sourceLocation)
    }
}

/// A failure of the harness itself (not of the command under test), thrown with a clear message.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs the real `station` executable as a separate process.
enum StationProcess {
    /// The package root, derived from this file's path (Tests/StationCLITests/StationProcess.swift).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// `$STATION_BIN`, or `<package root>/.build/debug/station`.
    static func executable() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        let path: String
        if let override = environment["STATION_BIN"], !override.isEmpty {
            path = override
        } else {
            path = packageRoot + "/.build/debug/station"
        }
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError(
                "the station executable was not found at \(path): run `swift build` first "
                    + "(tools/test does), or set STATION_BIN to the executable")
        }
        return path
    }

    /// Runs `station args…` with a clean environment (PATH and HOME only, plus `env`), in
    /// `directory`, with stdin from `stdin` (or /dev/null), and waits for it (at most `timeout` s).
    ///
    /// Output goes to files in `directory`, not pipes, so large outputs cannot block the child
    /// and pipes created by parallel tests are never inherited by the wrong process.
    static func run(
        _ args: [String], env: [String: String] = [:], stdin: Data? = nil, directory: String,
        timeout: TimeInterval = 120
    ) throws -> StationResult {
        let fm = FileManager.default
        let tag = UUID().uuidString
        let outPath = directory + "/.stdout-\(tag)"
        let errPath = directory + "/.stderr-\(tag)"
        let inPath = directory + "/.stdin-\(tag)"
        defer { for p in [outPath, errPath, inPath] { try? fm.removeItem(atPath: p) } }
        guard fm.createFile(atPath: outPath, contents: nil), fm.createFile(atPath: errPath, contents: nil),
            let out = FileHandle(forWritingAtPath: outPath), let err = FileHandle(forWritingAtPath: errPath)
        else { throw HarnessError("cannot create output files in \(directory)") }
        let input: FileHandle?
        if let stdin {
            guard fm.createFile(atPath: inPath, contents: stdin) else { throw HarnessError("cannot write \(inPath)") }
            input = FileHandle(forReadingAtPath: inPath)
        } else {
            input = FileHandle(forReadingAtPath: "/dev/null")
        }
        guard let input else { throw HarnessError("cannot open stdin for the child") }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: try executable())
        process.arguments = args
        var environment: [String: String] = [:]
        let parent = ProcessInfo.processInfo.environment
        for key in ["PATH", "HOME"] { environment[key] = parent[key] }
        environment.merge(env) { _, new in new }
        process.environment = environment
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        process.standardInput = input
        process.standardOutput = out
        process.standardError = err

        let finished = DispatchSemaphore(value: 0)
        process.terminationHandler = { _ in finished.signal() }
        try process.run()
        try? input.close()
        try? out.close()
        try? err.close()
        if finished.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            _ = finished.wait(timeout: .now() + 5)
            throw HarnessError("station \(args.joined(separator: " ")) did not finish within \(Int(timeout)) s")
        }
        return StationResult(
            status: process.terminationStatus,
            stdout: String(decoding: fm.contents(atPath: outPath) ?? Data(), as: UTF8.self),
            stderr: String(decoding: fm.contents(atPath: errPath) ?? Data(), as: UTF8.self))
    }
}
