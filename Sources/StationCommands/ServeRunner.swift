import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import StationCore
import StationServer
import StationHub
import StationSync
import Synchronization
import UnixSignals

/// `--listen HOST:PORT` parsed, and the server started on it.
public enum ServeRunner {
    /// Splits `HOST:PORT` (port 0: any free port).
    public static func parseListen(_ text: String) throws -> (host: String, port: Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw CommandFailure("--listen must be HOST:PORT, e.g. 127.0.0.1:8080, not \"\(text)\"")
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { throw CommandFailure("--listen needs a host, e.g. 127.0.0.1:\(port)") }
        return (host, port)
    }

    /// Serves the sync protocol until SIGINT or SIGTERM, over HTTPS when `tls` is given. Prints
    /// `listening on http://HOST:PORT` (or `https://`), flushed, once connections are accepted.
    public static func serve(
        service: SyncService, hub: (any HubStorage)? = nil, records: (any LocalRecords)? = nil, syncing: (any Service)? = nil,
        listen: String, tls: SyncServer.TLSFiles? = nil,
        limits: SyncServer.Limits = SyncServer.Limits(), logger: Logger
    ) async throws {
        let (host, port) = try parseListen(listen)
        let scheme = tls == nil ? "http" : "https"
        let listening = ListeningFlag()
        // Pushes decode on threads of their own (see DecodingThreads), stopped after the server.
        let decoding = DecodingThreads()
        var service = service
        service.cpuWork = decoding
        // One registry for the server's and the store's metrics (GET /metrics).
        let metrics = NodeMetrics()
        (service.storage as? any StorageMetrics)?.countMetrics(into: metrics.factory)
        do {
            let app = try SyncServer.application(
                service: service, hub: hub, records: records, host: host, port: port, tls: tls, limits: limits, metrics: metrics,
                logger: logger
            ) {
                host, port in
                listening.set()
                let shown = host.contains(":") ? "[\(host)]" : host
                print("listening on \(scheme)://\(shown):\(port)")
                fflush(nil)
            }
            // On SIGINT or SIGTERM the group shuts its services down in reverse order: the server
            // first (it stops accepting, answers the requests in progress and closes its
            // connections), then the activity writer. A request that holds the shutdown past
            // 15 s (a body dripping in) is cut off: the group is cancelled, the notes still
            // written. SIGQUIT cancels at once.
            // A station's own syncing with its hub (`station serve --hub`) stops first.
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: ActivityWriter(storage: service.storage, logger: logger)),
                .init(service: decoding),
                .init(service: app),
            ]
            if let syncing { services.append(.init(service: syncing)) }
            var configuration = ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [.sigquit], logger: logger)
            configuration.maximumGracefulShutdownDuration = .seconds(15)
            configuration.maximumCancellationDuration = .seconds(10)
            let group = ServiceGroup(configuration: configuration)
            try await group.run()
            logger.notice("stopped on SIGINT or SIGTERM: requests in progress were answered, station activity written")
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw CommandFailure(
                "cannot listen on \(listen): the port is taken (another hub, station serve or program listens there); "
                    + "stop it or choose another port with --listen HOST:PORT", code: "port_taken")
        } catch let error as IOError where error.errnoCode == EADDRNOTAVAIL {
            throw CommandFailure(
                "cannot listen on \(listen): this machine has no such address; use one of its own (127.0.0.1 for this machine only)",
                code: "no_such_address")
        } catch let error as SyncServer.TLSFileError {
            throw CommandFailure(error.description)
        } catch  where tls != nil && !listening.isSet {
            // Hummingbird builds the TLS context when it starts: a key that does not match the
            // certificate shows up here.
            throw CommandFailure(
                "cannot serve HTTPS with \(tls!.certificateChain) and \(tls!.privateKey): \(error) (does the key belong to the certificate?)")
        }
    }

    /// Writes what the node noted of station activity (``CallerRecords/flushActivity()``) when
    /// the service group shuts down, after the server listed after it has drained: what the
    /// dashboard would show is on disk before the process ends.
    struct ActivityWriter: Service {
        let storage: any SyncStorage
        let logger: Logger

        func run() async throws {
            // Returns on the group's graceful shutdown; throws when it is cancelled instead (the
            // server failed): the notes are written either way.
            try? await gracefulShutdown()
            // Not cancelled with the group: a write checks its task's cancellation.
            let storage = self.storage
            do { try await Task { try await storage.flushActivity() }.value } catch {
                logger.warning("writing station activity failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// `--tls-cert` and `--tls-key` together (both or neither), as ``SyncServer/TLSFiles``.
    public static func tlsFiles(cert: String?, key: String?) throws -> SyncServer.TLSFiles? {
        switch (cert, key) {
        case (nil, nil): return nil
        case let (cert?, key?): return SyncServer.TLSFiles(certificateChain: cert, privateKey: key)
        case (_?, nil): throw ValidationError("--tls-cert needs --tls-key (the certificate's private key, PEM)")
        case (nil, _?): throw ValidationError("--tls-key needs --tls-cert (the certificate chain, PEM)")
        }
    }

    /// A logger writing to stderr at `LOG_LEVEL` (default `level`), as text lines or, with
    /// `format` `.json`, one JSON object per line (for log collectors).
    public static func bootstrapLogging(default level: Logger.Level, format: LogOptions.Format = .text) {
        let chosen = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? level
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = chosen
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = chosen
                return handler
            }
        }
    }
}

/// `--log-format text|json`, shared by `hub serve` and `station serve`.
public struct LogOptions: ParsableArguments {
    public enum Format: String, ExpressibleByArgument, CaseIterable, Sendable {
        case text, json
    }

    @Option(help: ArgumentHelp("Log lines as text, or as one JSON object per line (for log collectors); the level is $LOG_LEVEL (default info)."))
    public var logFormat: Format = .text

    public init() {}
}

/// One JSON object per line on stderr: `{"time":…,"level":…,"label":…,"message":…,` then the
/// metadata's keys, each a string}`.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadataProvider: Logger.MetadataProvider?
    var metadata: Logger.Metadata = [:]
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: [String: JSONValue] = [
            "time": .string(ISO8601DateFormatter().string(from: Date())), "level": .string(event.level.rawValue), "label": .string(label),
            "message": .string("\(event.message)"),
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) where object[key] == nil {
            object[key] = .string("\(value)")
        }
        FileHandle.standardError.write(Data((JSONValue.object(object).canonicalText + "\n").utf8))
    }
}

/// Whether the server got as far as listening.
private final class ListeningFlag: Sendable {
    private let value = Atomic(false)
    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}

/// `--idle-timeout`, `--max-connections`, `--max-connections-per-address`, `--body-timeout`,
/// shared by `hub serve` and `station serve`: what keeps one client from pinning the node.
public struct ConnectionOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Close a connection that sends nothing for this many seconds (no request, or one stalled in its headers or body).",
            valueName: "seconds"))
    public var idleTimeout = 30.0

    @Option(help: ArgumentHelp("A request body must arrive whole within this many seconds (else 408).", valueName: "seconds"))
    public var bodyTimeout = 120.0

    @Option(help: ArgumentHelp("Connections held at once (kept below the open-file limit); more wait to be accepted.", valueName: "n"))
    public var maxConnections = 1024

    @Option(help: ArgumentHelp("Connections one client address may hold at once; more are closed at once.", valueName: "n"))
    public var maxConnectionsPerAddress = 128

    public init() {}

    public func validate() throws {
        guard idleTimeout > 0, bodyTimeout > 0 else { throw ValidationError("--idle-timeout and --body-timeout must be positive") }
        guard maxConnections >= 1, maxConnectionsPerAddress >= 1 else {
            throw ValidationError("--max-connections and --max-connections-per-address must be at least 1")
        }
    }

    /// The server's limits with these.
    public var limits: SyncServer.Limits {
        var limits = SyncServer.Limits()
        limits.idleTimeout = .milliseconds(Int64(idleTimeout * 1000))
        limits.bodySeconds = bodyTimeout
        limits.maxConnections = maxConnections
        limits.maxConnectionsPerAddress = maxConnectionsPerAddress
        return limits
    }
}

/// `--tls-cert FILE --tls-key FILE`, shared by `hub serve` and `station serve`.
public struct TLSServeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Serve HTTPS with this certificate chain (PEM; needs --tls-key).", valueName: "file"))
    public var tlsCert: String?

    @Option(help: ArgumentHelp("The private key of --tls-cert (PEM, unencrypted).", valueName: "file"))
    public var tlsKey: String?

    public init() {}

    public func validate() throws {
        _ = try files
    }

    /// The certificate and key files, or nil for plain HTTP.
    public var files: SyncServer.TLSFiles? {
        get throws { try ServeRunner.tlsFiles(cert: tlsCert, key: tlsKey) }
    }
}
