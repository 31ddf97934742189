import ArgumentParser
import Logging
import StationCommands
import StationStore
import StationSync

extension StationCommand {
    /// `station sync`: push and pull changes with a hub or a peer.
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sync with a hub or another station: push local changes, then pull theirs.",
            discussion: """
                One sync, or with --every SECONDS a periodic sync that keeps running while the network \
                comes and goes (Ctrl-C stops it cleanly). Safe to interrupt at any point: the next sync \
                picks up where this one stopped, and repeating a sync changes nothing.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var sync: SyncOptions

        func run() async throws {
            ServeRunner.bootstrapLogging(default: sync.every == nil ? .warning : .info)
            try await reportingErrors {
                let store = try database.open()
                try await SyncRunner(storage: store, options: sync, logger: Logger(label: "station.sync")).run()
            }
        }
    }
}
