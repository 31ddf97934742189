import Foundation
import Testing

/// A test's own temporary directory (removed when the value goes away), with shortcuts to run
/// `station` in it against its database `db` (`<dir>/station.sqlite` unless told otherwise).
final class Sandbox: @unchecked Sendable {
    let dir: String
    let db: String

    init() throws {
        dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("stationsync-cli-" + UUID().uuidString).path
        db = dir + "/station.sqlite"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func file(_ name: String) -> String { dir + "/" + name }

    /// Writes `text` to `<dir>/name` and returns the path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let path = file(name)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Runs `station args…` as is (no --db added).
    func run(_ args: [String], env: [String: String] = [:], stdin: Data? = nil) throws -> StationResult {
        try StationProcess.run(args, env: env, stdin: stdin, directory: dir)
    }

    /// Runs `station COMMAND --db <db> rest…`.
    func station(_ command: String, _ rest: String..., stdin: Data? = nil) throws -> StationResult {
        try run([command, "--db", db] + rest, stdin: stdin)
    }

    /// Runs `station args[0] --db <db> args[1...]`.
    func runOnDatabase(_ args: [String], stdin: Data? = nil) throws -> StationResult {
        try run(Array(args.prefix(1)) + ["--db", db] + args.dropFirst(), stdin: stdin)
    }

    /// Like ``station(_:_:stdin:)`` but requires exit status 0 (recording the output otherwise).
    @discardableResult
    func ok(
        _ command: String, _ rest: String..., stdin: Data? = nil, sourceLocation: SourceLocation = #_sourceLocation
    )
        throws -> StationResult
    {
        try ok(command, rest, stdin: stdin, sourceLocation: sourceLocation)
    }

    @discardableResult
    func ok(
        _ command: String, _ rest: [String], stdin: Data? = nil, sourceLocation: SourceLocation = #_sourceLocation
    )
        throws -> StationResult
    {
        let result = try run([command, "--db", db] + rest, stdin: stdin)
        try #require(result.status == 0, "station \(command) \(rest.joined(separator: " ")) failed:\n\(result)", sourceLocation: sourceLocation)
        return result
    }

    /// `station init` of `db` with node `hotline` (and `schema`, a schema file's text, if given).
    @discardableResult
    func initialize(node: String = "hotline", schema: String? = nil) throws -> Sandbox {
        if let schema {
            let path = try write("schema.json", schema)
            try ok("init", "--node", node, "--schema", path)
        } else {
            try ok("init", "--node", node)
        }
        return self
    }

    /// Everything observable about the database through the CLI: the whole change feed (which
    /// carries every record's full state), counts and last sequence. Equal snapshots before and
    /// after a failed command mean it changed nothing.
    func snapshot(sourceLocation: SourceLocation = #_sourceLocation) throws -> DatabaseSnapshot {
        let changes = try ok("changes", "--json", "--limit", "1000000", sourceLocation: sourceLocation).stdout
        let info = try ok("info", "--json", sourceLocation: sourceLocation).stdout
        let feed = try jsonObject(changes, sourceLocation: sourceLocation)
        let ids = (feed["changes"] as? [[String: Any]] ?? []).map { "\($0["collection"] ?? "?")/\($0["id"] ?? "?")" }
        let summary =
            "\(ids.count) records in the feed (\(ids.prefix(5).joined(separator: ", "))\(ids.count > 5 ? ", …" : "")), "
            + "next \(feed["next"] ?? "?")"
        return DatabaseSnapshot(text: changes + info, summary: summary)
    }

    /// `get --json` parsed.
    func record(_ collection: String, _ id: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try jsonObject(ok("get", collection, id, "--json", sourceLocation: sourceLocation).stdout, sourceLocation: sourceLocation)
    }

    /// `list --json` parsed.
    func list(
        _ collection: String, includeDeleted: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) throws
        -> [[String: Any]]
    {
        let result = try ok("list", [collection, "--json"] + (includeDeleted ? ["--include-deleted"] : []), sourceLocation: sourceLocation)
        return try jsonArray(result.stdout, sourceLocation: sourceLocation)
    }
}

/// What ``Sandbox/snapshot(sourceLocation:)`` saw: compared in full, shown as a summary.
struct DatabaseSnapshot: Equatable, CustomStringConvertible, CustomTestStringConvertible {
    var text: String
    var summary: String
    static func == (a: Self, b: Self) -> Bool { a.text == b.text }
    var description: String { summary }
    var testDescription: String { summary }
}

/// The seeds shipped with the package.
enum Seeds {
    static let directory = StationProcess.packageRoot + "/seeds"

    /// `seeds/sample/*.jsonl`, sorted.
    static func sampleFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory + "/sample")
            .filter { $0.hasSuffix(".jsonl") }.sorted().map { directory + "/sample/" + $0 }
    }
}

// MARK: - JSON

func parseJSON(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
    do {
        return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    } catch {
        Issue.record("not JSON: \(error)\n\(text)", sourceLocation: sourceLocation)
        throw error
    }
}

func jsonObject(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
    try #require(
        try parseJSON(text, sourceLocation: sourceLocation) as? [String: Any], "expected a JSON object:\n\(text)", sourceLocation: sourceLocation)
}

func jsonArray(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
    try #require(
        try parseJSON(text, sourceLocation: sourceLocation) as? [[String: Any]], "expected a JSON array of objects:\n\(text)",
        sourceLocation: sourceLocation)
}

/// A JSON `true`/`false` (not a number that happens to be 0 or 1).
func jsonBool(_ value: Any?) -> Bool? {
    guard let n = value as? NSNumber, String(cString: n.objCType) == "c" else { return nil }
    return n.boolValue
}

/// A JSON integer (not a boolean).
func jsonInt(_ value: Any?) -> Int64? {
    guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
    return n.int64Value
}

/// A record's `fields` object.
func fields(_ record: [String: Any]) -> [String: Any] { record["fields"] as? [String: Any] ?? [:] }

/// A record's `clock` as node → counter, each node's incarnations (`NODE.INCARNATION`, the
/// name a database writes under) added up under the node's name: what the tests count.
func clock(_ record: [String: Any]) -> [String: Int64]? {
    guard let object = record["clock"] as? [String: Any] else { return nil }
    var out: [String: Int64] = [:]
    for (writer, value) in object {
        guard let n = jsonInt(value) else { return nil }
        out[String(writer.split(separator: ".")[0]), default: 0] += n
    }
    return out
}

/// The schema used by most tests: one collection with a counter.
let inventorySchema = #"{"collections": {"inventory": {"fields": {"quantity": "counter"}, "default": "lww", "deleteConflict": "update-wins"}}}"#

/// Whether two values parsed by JSONSerialization are the same JSON.
func jsonEqual(_ a: Any?, _ b: Any?) -> Bool {
    switch (a, b) {
    case (nil, nil): return true
    case (is NSNull, is NSNull): return true
    case let (x as String, y as String): return x == y
    case let (x as [String: Any], y as [String: Any]):
        return x.count == y.count && x.allSatisfy { key, value in y[key].map { jsonEqual(value, $0) } ?? false }
    case let (x as [Any], y as [Any]):
        return x.count == y.count && zip(x, y).allSatisfy { jsonEqual($0, $1) }
    case let (x as NSNumber, y as NSNumber):
        if let bx = jsonBool(x) { return jsonBool(y) == bx }
        return jsonBool(y) == nil && x == y
    default: return false
    }
}
