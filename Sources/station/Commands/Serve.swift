import ArgumentParser
import Logging
import StationCommands
import StationStore
import StationSync
import ServiceLifecycle

extension StationCommand {
    /// `station serve`: serves the sync protocol from this station, for peers on a LAN.
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve this station's records to peers (station-to-station sync on a LAN).",
            discussion: """
                Peers run `station sync --peer http://HOST:PORT --token TOKEN` against it. Every peer that \
                presents the token may read and write every collection and forward others' writes. \
                Without --token anyone who can reach the address may sync: so it serves only on loopback \
                (127.0.0.1, ::1) then, unless --insecure-open says that is really meant. \
                It also serves the records API for this station's own programs (/v1/records/…, \
                Protocol/openapi.yaml): each request carries a user's token (station user add NAME), and \
                every write through it is authored by that user. \
                With --tls-cert and --tls-key it serves HTTPS (peers use https:// and --ca-file for a private CA). \
                Stops cleanly on SIGINT or SIGTERM.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("Where to listen, HOST:PORT (port 0: any free port).", valueName: "host:port"))
        var listen = "127.0.0.1:8090"

        @Option(help: ArgumentHelp("The bearer token peers must present.", valueName: "token"))
        var token: String?

        @Flag(help: "Serve without --token on an address other than loopback: anyone who can reach it may read and write every record.")
        var insecureOpen = false

        @Option(
            help: ArgumentHelp(
                "Also keep syncing with this hub, in this process: soon after each change here and every --every seconds (one process per station).",
                valueName: "url"))
        var hub: String?

        @Option(help: ArgumentHelp("This station's token at the hub (default: $STATION_TOKEN).", valueName: "token"))
        var hubToken: String?

        @Option(help: ArgumentHelp("With --hub: seconds between syncs when nothing changes here.", valueName: "seconds"))
        var every = 60.0

        @Option(help: ArgumentHelp("With --hub: a CA certificate file to verify an https hub with.", valueName: "file"))
        var hubCAFile: String?

        @OptionGroup var tls: TLSServeOptions

        @OptionGroup var connections: ConnectionOptions

        @OptionGroup var log: LogOptions

        func validate() throws {
            guard every >= 1, every <= 86_400 else { throw ValidationError("--every must be from 1 to 86400 seconds") }
            if hub == nil, hubToken != nil || hubCAFile != nil { throw ValidationError("--hub-token and --hub-ca-file go with --hub URL") }
        }

        func run() async throws {
            ServeRunner.bootstrapLogging(default: .info, format: log.logFormat)
            try await reportingErrors {
                let logger = Logger(label: "station.serve")
                let (host, _) = try ServeRunner.parseListen(listen)
                let loopback = host == "localhost" || host == "::1" || host.hasPrefix("127.")
                if token == nil, !loopback {
                    guard insecureOpen else {
                        throw CommandFailure(
                            "serving on \(host) without --token would let anyone who can reach it read and write every record; "
                                + "give --token SECRET (peers sync with the same), or --insecure-open if that is really meant")
                    }
                    logger.warning("serving without a token on \(host) (--insecure-open): anyone who can reach it may sync")
                } else if token == nil {
                    logger.notice(
                        "serving without --token: any program on this machine may sync with this station (its writes then name no user of the records API); give --token SECRET to require one"
                    )
                }
                if let token, Tokens.hasHubShape(token) {
                    // A hub token given to LAN peers would let any of them pass for the hub.
                    throw CommandFailure(
                        "--token looks like a token a hub hands out (hub token add): a LAN secret must be another "
                            + "(any peer holding a hub token could pass for the hub); choose a secret of your own")
                }
                let store = try database.open()
                let service = SyncService(storage: store, authentication: token.map { .sharedToken($0) } ?? .none, logger: logger)
                var syncing: (any Service)?
                if let hub {
                    // The options `station sync` takes, as it would read them.
                    let options = try SyncOptions.parse(
                        ["--peer", hub, "--every", String(every)] + (hubToken.map { ["--token", $0] } ?? [])
                            + (hubCAFile.map { ["--ca-file", $0] } ?? []))
                    let runner = SyncRunner(storage: store, options: options, logger: Logger(label: "station.sync"))
                    syncing = try runner.service(every: every) { try store.lastSequence() }
                    logger.info("syncing with \(hub) soon after each change here, and every \(every) s")
                }
                try await ServeRunner.serve(
                    service: service, records: store, syncing: syncing, listen: listen, tls: try tls.files, limits: connections.limits,
                    logger: logger)
            }
        }
    }
}
