import Foundation

/// A failure of the harness itself (a missing binary, a server that never came up), thrown with
/// a message that says what to do.
struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Where the real executables are: `<package root>/.build/debug/{hub,station}`, or the
/// directory `$STATIONSYNC_BIN_DIR` names.
enum Binaries {
    /// The package root, from this file's path (Tests/EndToEndTests/Support/Binaries.swift).
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<4 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["STATIONSYNC_BIN_DIR"], !dir.isEmpty { return dir }
        return packageRoot + "/.build/debug"
    }

    /// The path of `name` (`hub` or `station`), or a clear error when it is missing.
    static func path(_ name: String) throws -> String {
        let path = directory + "/" + name
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw HarnessError(
                "the \(name) executable was not found at \(path): run `swift build` first "
                    + "(it builds hub and station), or set STATIONSYNC_BIN_DIR to the directory holding them")
        }
        return path
    }

    static var hub: String { get throws { try path("hub") } }
    static var station: String { get throws { try path("station") } }

    /// The `sqlite3` command-line tool, if installed (optional checks only).
    static let sqlite3: String? = {
        let dirs = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":").map(String.init)
        return (dirs + ["/usr/bin", "/usr/local/bin"]).map { $0 + "/sqlite3" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
}
