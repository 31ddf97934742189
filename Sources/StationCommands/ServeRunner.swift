import Foundation
import Hummingbird
import Logging
import StationServer
import StationSync

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

    /// Serves the sync protocol until SIGINT or SIGTERM. Prints `listening on http://HOST:PORT`
    /// (flushed) once connections are accepted.
    public static func serve(service: SyncService, hub: (any HubStorage)? = nil, listen: String, logger: Logger) async throws {
        let (host, port) = try parseListen(listen)
        let app = SyncServer.application(service: service, hub: hub, host: host, port: port, logger: logger) { host, port in
            let shown = host.contains(":") ? "[\(host)]" : host
            print("listening on http://\(shown):\(port)")
            fflush(nil)
        }
        try await app.runService()
    }

    /// A logger writing to stderr at `LOG_LEVEL` (default `level`).
    public static func bootstrapLogging(default level: Logger.Level) {
        let chosen = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? level
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = chosen
            return handler
        }
    }
}
