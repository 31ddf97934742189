import ArgumentParser
import StationCommands

/// `station`: a StationSync node on this machine. Everything works offline.
@main
struct StationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "station",
        abstract: "A StationSync station: records in a local SQLite database that work offline and merge with every replica.",
        discussion: """
            Every command takes --db PATH (default: $STATION_DB).
            Start with: station init --db hotline.sqlite --node hotline
            Sync with the center: station sync --peer http://HUB:PORT --token TOKEN
            """,
        subcommands: [
            Init.self, Put.self, Add.self, Get.self, List.self, Delete.self, Changes.self, Import.self, Export.self, Merge.self, Sync.self,
            History.self, Search.self, Serve.self, ConflictsCommand.self, SchemaCommand.self, UserCommand.self, Forget.self, Info.self,
        ])
}
