import ArgumentParser
import Logging
import StationCommands
import StationServer
import StationSync

extension HubCommand {
    /// `hub serve`: serves the sync protocol to the stations.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the sync protocol to the stations (bearer tokens from `hub token add`).",
            discussion: """
                Prints `listening on http://HOST:PORT` once it accepts connections; stops cleanly on SIGINT or SIGTERM. \
                The operator's dashboard is at http://HOST:PORT/ui (sign in with a token from `hub token add NAME --operator`). \
                With --tls-cert and --tls-key it serves HTTPS instead (and prints `listening on https://HOST:PORT`); \
                stations then sync with --peer https://… and, for a private CA, --ca-file CA.pem.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Where to listen, HOST:PORT (port 0: any free port).", valueName: "host:port"))
        var listen = "127.0.0.1:8080"

        @OptionGroup var tls: TLSServeOptions

        @OptionGroup var connections: ConnectionOptions

        @OptionGroup var log: LogOptions

        func run() async throws {
            ServeRunner.bootstrapLogging(default: .info, format: log.logFormat)
            try await reportingErrors {
                let store = try database.open()
                let logger = Logger(label: "hub")
                let service = SyncService(storage: store, authentication: .tokens, logger: logger)
                logger.info("serving \(store.path) as node \(store.node)")
                try await ServeRunner.serve(
                    service: service, hub: store, listen: listen, tls: try tls.files, limits: connections.limits, logger: logger)
            }
        }
    }
}
