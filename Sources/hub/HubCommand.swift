import ArgumentParser
import StationCommands

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
        subcommands: [Init.self, Token.self, Serve.self, Sync.self, ConflictsCommand.self, Info.self, Stations.self])
}
