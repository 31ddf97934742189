import ArgumentParser
import Logging
import StationCommands
import StationStore
import StationSync

extension StationCommand {
    /// `station serve`: serves the sync protocol from this station, for peers on a LAN.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve this station's records to peers (station-to-station sync on a LAN).",
            discussion: """
                Peers run `station sync --peer http://HOST:PORT --token TOKEN` against it. Every peer that
                presents the token may read and write every collection and forward others' writes.
                Without --token anyone who can reach the address may sync: keep it on 127.0.0.1 then.
                With --tls-cert and --tls-key it serves HTTPS (peers use https:// and --ca-file for a private CA).
                Stops cleanly on SIGINT or SIGTERM.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Where to listen, HOST:PORT (port 0: any free port).", valueName: "host:port"))
        var listen = "127.0.0.1:8090"

        @Option(help: ArgumentHelp("The bearer token peers must present.", valueName: "token"))
        var token: String?

        @OptionGroup var tls: TLSServeOptions

        func run() async throws {
            ServeRunner.bootstrapLogging(default: .info)
            try await reportingErrors {
                let store = try database.open()
                let logger = Logger(label: "station.serve")
                let (host, _) = try ServeRunner.parseListen(listen)
                if token == nil, !["127.0.0.1", "localhost", "::1"].contains(host) {
                    logger.warning("serving without a token on \(host): anyone who can reach it may sync")
                }
                let service = SyncService(storage: store, authentication: token.map { .sharedToken($0) } ?? .none, logger: logger)
                try await ServeRunner.serve(
                    service: service, listen: listen, tls: try tls.files, logger: logger)
            }
        }
    }
}
