import ArgumentParser
import Foundation
import StationStore

/// `--db PATH`, shared by every command; `$STATION_DB` when absent.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The station database file (default: $STATION_DB).", valueName: "path"))
    var db: String?

    /// The database path, from --db or $STATION_DB.
    var path: String {
        get throws {
            if let db, !db.isEmpty { return db }
            if let env = ProcessInfo.processInfo.environment["STATION_DB"], !env.isEmpty { return env }
            throw CommandFailure("no database given: pass --db PATH or set STATION_DB")
        }
    }

    /// Opens the existing database.
    func open() throws -> StationStore {
        try StationStore.open(path: path)
    }
}

/// `--json`: machine-readable output on stdout.
struct OutputOptions: ParsableArguments {
    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false
}
