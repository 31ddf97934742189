import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A server process (`hub serve` or `station serve`) that printed where it listens and answers
/// `GET /v1/health`.
struct Server {
    let process: ManagedProcess
    let port: Int
    var url: String { "http://127.0.0.1:\(port)" }
}

/// One test's world: a temporary directory, a hub database with a token per station, station
/// databases, and every process started in the background, stopped (and checked to stop cleanly)
/// at the end. Use it through ``withCluster(_:startHub:sourceLocation:_:)``.
final class Cluster: @unchecked Sendable {
    let dir: String
    private(set) var hub: Hub!
    private let lock = NSLock()
    private var stationsByName: [String: Station] = [:]
    private var background: [ManagedProcess] = []
    private var counter = 0

    private init(label: String) throws {
        let safe = label.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(24)
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("stationsync-e2e-\(safe)-\(UUID().uuidString.prefix(8))").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    /// `hub init`, then for each station `station init --node NAME` and `hub token add NAME`;
    /// starts `hub serve` unless told not to.
    static func make(label: String, stations: [String], startHub: Bool) async throws -> Cluster {
        let cluster = try Cluster(label: label)
        do {
            cluster.hub = Hub(cluster: cluster, db: cluster.path("hub.sqlite"))
            try await cluster.hub.initialize()
            for name in stations { _ = try await cluster.addStation(name) }
            if startHub { try await cluster.hub.start() }
        } catch {
            await cluster.shutdown()
            throw error
        }
        return cluster
    }

    func path(_ name: String) -> String { dir + "/" + name }

    /// A new station database for node `name`, with a (non-relay) hub token.
    func addStation(_ name: String, withHubToken: Bool = true) async throws -> Station {
        let station = Station(cluster: self, name: name, db: path("\(name).sqlite"))
        try await station.ok(["init", "--node", name])
        if withHubToken { station.token = try await hub.addToken(for: name) }
        lock.withLock { stationsByName[name] = station }
        return station
    }

    subscript(name: String) -> Station {
        lock.withLock { stationsByName[name]! }
    }

    /// The hub's database read with `station` (a hub database is a station database): `get`,
    /// `list`, `changes` work on it read-only while the hub serves.
    var hubDB: Station { Station(cluster: self, name: "hub", db: hub.db) }

    /// Starts `executable arguments…` in the background, its output in files of this cluster's
    /// directory; it is stopped at the end of the test if still running.
    func launch(_ label: String, executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> ManagedProcess {
        let n = lock.withLock {
            counter += 1; return counter
        }
        let process = try ManagedProcess(
            label: label, executable: executable, arguments: arguments, environment: environment, directory: dir,
            stdoutPath: path("\(label)-\(n).out"), stderrPath: path("\(label)-\(n).err"))
        lock.withLock { background.append(process) }
        return process
    }

    /// Starts a server and waits for its `listening on http://127.0.0.1:PORT` line (stdout,
    /// flushed) and a 200 from `GET /v1/health`.
    func startServer(_ label: String, executable: String, _ arguments: [String]) async throws -> Server {
        let process = try launch(label, executable: executable, arguments)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let port = Self.listeningPort(in: process.stdout) {
                let health = try await RawHTTP.waitForHealth(port: port)
                guard health["status"] as? String == "ok" else { throw HarnessError("\(label) health: \(health)") }
                return Server(process: process, port: port)
            }
            if !process.isRunning {
                throw HarnessError("\(process.command) exited before listening:\n\(process.result)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        await process.stop(with: SIGKILL)
        throw HarnessError("\(process.command) printed no `listening on` line within 30 s:\n\(process.result)")
    }

    static func listeningPort(in output: String) -> Int? {
        guard let range = output.range(of: "listening on http://127.0.0.1:") else { return nil }
        let digits = output[range.upperBound...].prefix { $0.isNumber }
        guard output[range.upperBound...].dropFirst(digits.count).first?.isNewline == true else { return nil }
        return Int(digits)
    }

    /// Stops every background process still running with SIGTERM, expecting each to exit 0 within
    /// 5 s (SIGKILL after that), then removes the directory (kept if STATIONSYNC_KEEP_TEMP is set).
    func shutdown(sourceLocation: SourceLocation = #_sourceLocation) async {
        let running = lock.withLock { background.filter(\.isRunning) }
        for process in running {
            let (result, inTime) = await process.stop(with: SIGTERM)
            #expect(inTime, "\(process.label) did not stop within 5 s of SIGTERM:\n\(result)", sourceLocation: sourceLocation)
            #expect(result.succeeded, "\(process.label) did not exit 0 on SIGTERM:\n\(result)", sourceLocation: sourceLocation)
        }
        if ProcessInfo.processInfo.environment["STATIONSYNC_KEEP_TEMP"] == nil {
            try? FileManager.default.removeItem(atPath: dir)
        } else {
            print("kept \(dir)")
        }
    }
}

/// Runs `body` with a fresh cluster (hub plus the named stations) and always shuts it down.
func withCluster(
    _ stations: [String], startHub: Bool = true, label: String = #function, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Cluster) async throws -> Void
) async throws {
    let cluster = try await Cluster.make(label: label, stations: stations, startHub: startHub)
    do {
        try await body(cluster)
    } catch {
        await cluster.shutdown(sourceLocation: sourceLocation)
        throw error
    }
    await cluster.shutdown(sourceLocation: sourceLocation)
}

/// The hub: its database, its tokens and its server.
final class Hub: @unchecked Sendable {
    unowned let cluster: Cluster
    let db: String
    private(set) var server: Server?

    init(cluster: Cluster, db: String) {
        self.cluster = cluster
        self.db = db
    }

    var port: Int { server!.port }
    var url: String { server!.url }

    /// Runs `hub args…` (the caller places `--db`).
    func run(_ args: [String]) async throws -> CommandResult {
        try await Command.run(try Binaries.hub, args, directory: cluster.dir)
    }

    @discardableResult
    func ok(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandResult {
        let result = try await run(args)
        try #require(result.succeeded, "expected success:\n\(result)", sourceLocation: sourceLocation)
        return result
    }

    func initialize() async throws {
        try await ok(["init", "--db", db])
    }

    /// `hub token add STATION [--relay]`: the token it prints (only the token, on stdout).
    func addToken(for station: String, relay: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        let result = try await ok(["token", "add", "--db", db, station] + (relay ? ["--relay"] : []), sourceLocation: sourceLocation)
        let token = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try #require(
            !token.isEmpty && !token.contains("\n") && token.contains("."), "token add printed no token:\n\(result)",
            sourceLocation: sourceLocation)
        return token
    }

    /// `hub info --json`.
    func info(sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try JSON.object(try await ok(["info", "--db", db, "--json"], sourceLocation: sourceLocation).stdout, sourceLocation: sourceLocation)
    }

    /// Alive records of `collection` according to `hub info --json`.
    func aliveCount(_ collection: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Int? {
        let counts = try await info(sourceLocation: sourceLocation)["counts"] as? [String: Any]
        return jsonInt((counts?[collection] as? [String: Any])?["alive"])
    }

    /// `hub serve --listen 127.0.0.1:PORT` (0: any free port), up and healthy. A given port is
    /// retried for a few seconds in case it is not free again yet.
    func start(port: Int = 0) async throws {
        precondition(server.map { !$0.process.isRunning } ?? true, "the hub is already running")
        var attempt = 1
        while true {
            do {
                server = try await cluster.startServer("hub", executable: try Binaries.hub, ["serve", "--db", db, "--listen", "127.0.0.1:\(port)"])
                return
            } catch {
                guard port != 0, attempt < 10 else { throw error }
                attempt += 1
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// SIGTERM, expecting a clean exit 0 within 5 s.
    func stop(sourceLocation: SourceLocation = #_sourceLocation) async {
        guard let server else { return }
        let (result, inTime) = await server.process.stop(with: SIGTERM)
        #expect(inTime && result.succeeded, "hub serve did not exit 0 within 5 s of SIGTERM:\n\(result)", sourceLocation: sourceLocation)
    }
}

/// A station: its node name, database and hub token, and the `station` commands on it.
final class Station: @unchecked Sendable {
    unowned let cluster: Cluster
    let name: String
    let db: String
    /// Its token at the hub (`hub token add NAME`).
    var token = ""

    init(cluster: Cluster, name: String, db: String) {
        self.cluster = cluster
        self.name = name
        self.db = db
    }

    /// Runs `station args[0] --db DB args[1…]`.
    func run(_ args: [String]) async throws -> CommandResult {
        try await Command.run(try Binaries.station, Array(args.prefix(1)) + ["--db", db] + args.dropFirst(), directory: cluster.dir)
    }

    /// Like ``run(_:)`` but requires exit 0.
    @discardableResult
    func ok(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandResult {
        let result = try await run(args)
        try #require(result.succeeded, "expected success at \(name):\n\(result)", sourceLocation: sourceLocation)
        return result
    }

    @discardableResult
    func put(
        _ collection: String, _ id: String, _ fields: [String: Any], sourceLocation: SourceLocation = #_sourceLocation
    ) async throws
        -> Record
    {
        Record(
            raw: try JSON.object(
                try await ok(["put", collection, id, JSON.text(fields), "--json"], sourceLocation: sourceLocation).stdout,
                sourceLocation: sourceLocation))
    }

    @discardableResult
    func add(
        _ collection: String, _ id: String, _ field: String, _ amount: Int, sourceLocation: SourceLocation = #_sourceLocation
    )
        async throws -> Record
    {
        Record(
            raw: try JSON.object(
                try await ok(["add", "--create", collection, id, field, "--json", "--", String(amount)], sourceLocation: sourceLocation).stdout,
                sourceLocation: sourceLocation))
    }

    func delete(_ collection: String, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await ok(["delete", collection, id], sourceLocation: sourceLocation)
    }

    /// `get --json`, required to exist.
    func get(_ collection: String, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Record {
        Record(
            raw: try JSON.object(
                try await ok(["get", collection, id, "--json"], sourceLocation: sourceLocation).stdout, sourceLocation: sourceLocation))
    }

    /// `get --json`, or nil when this node never had the record (exit 1).
    func find(_ collection: String, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Record? {
        let result = try await run(["get", collection, id, "--json"])
        guard result.succeeded else { return nil }
        return Record(raw: try JSON.object(result.stdout, sourceLocation: sourceLocation))
    }

    /// The whole change feed as printed by `changes --json` (every record's full state): equal
    /// texts mean equal databases as far as sync is concerned.
    func changes(sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        try await ok(["changes", "--json", "--limit", "1000000"], sourceLocation: sourceLocation).stdout
    }

    /// `station sync --peer URL --token T --json` (default: this station's hub and token),
    /// required to succeed.
    @discardableResult
    func sync(peer: String? = nil, token: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) async throws -> SyncSummary {
        let result = try await trySync(peer: peer, token: token)
        try #require(result.succeeded, "sync failed at \(name):\n\(result)", sourceLocation: sourceLocation)
        return SyncSummary(raw: try JSON.object(result.stdout, sourceLocation: sourceLocation))
    }

    func trySync(peer: String? = nil, token: String? = nil, extra: [String] = []) async throws -> CommandResult {
        try await run(["sync", "--peer", peer ?? cluster.hub.url, "--token", token ?? self.token, "--json"] + extra)
    }

    /// `station serve --token T --listen 127.0.0.1:0`, up and healthy.
    func serve(token: String) async throws -> Server {
        try await cluster.startServer(
            "\(name)-serve", executable: try Binaries.station, ["serve", "--db", db, "--token", token, "--listen", "127.0.0.1:0"])
    }
}
