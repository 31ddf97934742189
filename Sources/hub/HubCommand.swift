import ArgumentParser

/// `hub`: the service center's node. It holds every station's changes, hands out tokens and
/// serves the sync protocol.
@main
struct HubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hub",
        abstract: "The StationSync hub: the center's node that every station syncs with.",
        discussion: """
            Every command takes --db PATH (default: $HUB_DB).
            Start with:
              hub init --db center.sqlite
              hub token add --db center.sqlite hotline        # prints the hotline's token
              hub serve --db center.sqlite --listen 127.0.0.1:8080
            """,
        subcommands: [Init.self, Token.self, Serve.self, Sync.self, ConflictsCommand.self, Info.self])
}

/// `--db PATH`, or `$HUB_DB`.
struct HubDatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The hub database file (default: $HUB_DB).", valueName: "path"))
    var db: String?

    var path: String {
        get throws {
            if let db, !db.isEmpty { return db }
            if let env = ProcessInfo.processInfo.environment["HUB_DB"], !env.isEmpty { return env }
            throw CommandFailure("no database given: pass --db PATH or set HUB_DB")
        }
    }

    func open() throws -> StationStore {
        try StationStore.open(path: path)
    }
}

import Foundation
import StationCommands
import StationStore
