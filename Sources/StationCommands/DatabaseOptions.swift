import ArgumentParser
import Foundation
import StationCore
import StationStore
import StationSync

/// `--db PATH`, shared by every command; `$STATION_DB` when absent (`$HUB_DB` for `hub`).
public struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The database file (default: $\(Self.variable)).", valueName: "path"))
    public var db: String?

    public init() {}

    /// The variable naming the database when `--db` is absent: `$HUB_DB` for `hub`, `$STATION_DB`
    /// for `station`.
    public static var variable: String { Terminal.program == "hub" ? "HUB_DB" : "STATION_DB" }

    /// The database path, from --db or ``variable``.
    public var path: String {
        get throws {
            if let db, !db.isEmpty { return db }
            let variable = Self.variable
            if let env = ProcessInfo.processInfo.environment[variable], !env.isEmpty { return env }
            throw CommandFailure("no database given: pass --db PATH or set \(variable)")
        }
    }

    /// Opens the existing database. A command that changes it (`readOnly` false) refuses a
    /// database made for the other program: `hub` a station's, `station` a hub's.
    ///
    /// A command that only reads opens a database it cannot write (read-only media, no write
    /// permission on the file or its folder) for reading only.
    public func open(readOnly: Bool = false) throws -> StationStore {
        let path = try self.path
        if readOnly, FileManager.default.fileExists(atPath: path), !Self.isWritable(path) {
            return try StationStore.openReadOnly(path: path)
        }
        if !readOnly, FileManager.default.fileExists(atPath: path), !Self.isWritable(path) {
            throw CommandFailure(
                "\(path) cannot be written here (a read-only medium, or no write permission on the file or its folder): it can be read "
                    + "(get, list, info, changes, export) but not changed; nothing was changed")
        }
        let store = try StationStore.open(path: path)
        guard !readOnly else { return store }
        let program: DatabaseRole = Terminal.program == "hub" ? .hub : .station
        if let role = try store.role(), role != program {
            let path = try self.path
            try? store.close()
            throw CommandFailure(
                "\(path) is a \(role.rawValue) database (made with `\(role.rawValue) init`, node \(store.node)), not a \(program.rawValue)'s: "
                    + "use the `\(role.rawValue)` command with it (`\(program.rawValue)` only reads it); nothing was changed")
        }
        return store
    }
}

extension DatabaseOptions {
    /// Whether this process may write the database at `path`: the file and its folder (where the
    /// write-ahead log and its shared-memory file go).
    static func isWritable(_ path: String) -> Bool {
        let folder = (path as NSString).deletingLastPathComponent
        return access(path, W_OK) == 0 && access(folder.isEmpty ? "." : folder, W_OK) == 0
    }
}

/// `--json`: machine-readable output on stdout.
public struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    public var json = false

    public init() {}
}

/// The schema for a new database: the file given with `--schema`, or the built-in default.
public func loadSchema(file: String?, default defaultSchema: Schema) throws -> Schema {
    guard let file else { return defaultSchema }
    guard let data = FileManager.default.contents(atPath: file) else {
        throw CommandFailure("cannot read schema file \(file)")
    }
    do {
        return try Schema(jsonText: String(decoding: data, as: UTF8.self))
    } catch {
        throw CommandFailure("\(file): \(error)")
    }
}
