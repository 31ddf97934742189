import Foundation
import Testing

/// The `conflicts list | show | resolve` commands of one node, run as the real executable:
/// `station conflicts SUB --db DB …` at a station, `hub conflicts SUB --db DB …` at the hub (the
/// hub CLI reads and writes the hub database directly, also while `hub serve` runs).
struct ConflictTool: Sendable {
    /// The node's name, for messages (`hub` for the hub).
    let name: String
    /// `station` or `hub`.
    let program: String
    let db: String
    let directory: String

    /// Runs `PROGRAM conflicts SUB --db DB args…`.
    func run(_ sub: String, _ args: [String]) async throws -> CommandResult {
        try await Command.run(try Binaries.path(program), ["conflicts", sub, "--db", db] + args, directory: directory)
    }

    /// Like ``run(_:_:)`` but requires exit 0.
    @discardableResult
    func ok(_ sub: String, _ args: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> CommandResult {
        let result = try await run(sub, args)
        try #require(result.succeeded, "expected success at \(name):\n\(result)", sourceLocation: sourceLocation)
        return result
    }

    /// `conflicts list --json [--status S] [--collection C]`: the parsed array.
    func list(
        status: String? = nil, collection: String? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws
        -> [[String: Any]]
    {
        let args = ["--json"] + (status.map { ["--status", $0] } ?? []) + (collection.map { ["--collection", $0] } ?? [])
        let result = try await ok("list", args, sourceLocation: sourceLocation)
        return try JSON.array(result.stdout, sourceLocation: sourceLocation)
    }

    /// `conflicts show ID --json`: the parsed object.
    func show(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try JSON.object(try await ok("show", [id, "--json"], sourceLocation: sourceLocation).stdout, sourceLocation: sourceLocation)
    }

    /// `conflicts show ID` (the human form; stdout is a file here, not a terminal).
    func showText(_ id: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> String {
        try await ok("show", [id], sourceLocation: sourceLocation).stdout
    }

    /// `conflicts resolve ID CHOICE… --json`, required to succeed: the parsed report it prints.
    @discardableResult
    func resolve(_ id: String, _ choice: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try JSON.object(
            try await ok("resolve", [id] + choice + ["--json"], sourceLocation: sourceLocation).stdout, sourceLocation: sourceLocation)
    }
}

extension Station {
    /// `station conflicts …` on this station's database.
    var conflictTool: ConflictTool { ConflictTool(name: name, program: "station", db: db, directory: cluster.dir) }
}

extension Hub {
    /// `hub conflicts …` on the hub's database.
    var conflictTool: ConflictTool { ConflictTool(name: "hub", program: "hub", db: db, directory: cluster.dir) }
}
