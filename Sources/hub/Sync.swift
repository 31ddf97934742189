import ArgumentParser
import Logging
import StationCommands

extension HubCommand {
    /// `hub sync`: this hub syncs with another hub (a district hub feeding a city hub).
    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Sync this hub with another hub: push its changes, pull the other's.",
            discussion: "The other hub's token for this one must be made with --relay, since this hub forwards its stations' writes.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var sync: SyncOptions

        func run() async throws {
            ServeRunner.bootstrapLogging(default: sync.every == nil ? .warning : .info)
            try await reportingErrors {
                let store = try database.open()
                try await SyncRunner(storage: store, options: sync, logger: Logger(label: "hub.sync")).run()
            }
        }
    }
}
