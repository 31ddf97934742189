import Foundation
import Testing

/// JSON from the tools' `--json` outputs, read with JSONSerialization.
enum JSON {
    static func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Any {
        do {
            return try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
        } catch {
            Issue.record("not JSON (\(error)):\n\(text.clipped())", sourceLocation: sourceLocation)
            throw error
        }
    }

    static func object(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        try #require(
            try parse(text, sourceLocation: sourceLocation) as? [String: Any], "expected a JSON object:\n\(text.clipped())",
            sourceLocation: sourceLocation)
    }

    static func array(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> [[String: Any]] {
        try #require(
            try parse(text, sourceLocation: sourceLocation) as? [[String: Any]], "expected a JSON array of objects:\n\(text.clipped())",
            sourceLocation: sourceLocation)
    }

    /// Canonical text (sorted keys) of a parsed value, to compare values across nodes.
    static func canonical(_ value: Any?) -> String {
        guard let value else { return "null" }
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed]) else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Builds JSON text from a dictionary/array literal.
    static func text(_ value: Any) -> String {
        canonical(value)
    }
}

/// A JSON integer (not a boolean).
func jsonInt(_ value: Any?) -> Int? {
    guard let n = value as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
    return n.intValue
}

/// A JSON `true`/`false`.
func jsonBool(_ value: Any?) -> Bool? {
    guard let n = value as? NSNumber, String(cString: n.objCType) == "c" else { return nil }
    return n.boolValue
}

/// A record printed by `get --json`.
struct Record: CustomStringConvertible {
    let raw: [String: Any]
    var fields: [String: Any] { raw["fields"] as? [String: Any] ?? [:] }
    var deleted: Bool? { jsonBool(raw["deleted"]) }
    var conflicted: Bool? { jsonBool(raw["conflicted"]) }
    var conflicts: [[String: Any]] { raw["conflicts"] as? [[String: Any]] ?? [] }
    /// Conflict ids, sorted.
    var conflictIDs: [String] { conflicts.compactMap { $0["id"] as? String }.sorted() }
    func conflict(on field: String) -> [String: Any]? { conflicts.first { $0["field"] as? String == field } }
    var clock: String { JSON.canonical(raw["clock"]) }
    /// The clock with each node's incarnations (`NODE.INCARNATION`) added up under its name.
    var nodeClock: String {
        var out: [String: Int] = [:]
        for (writer, value) in raw["clock"] as? [String: Any] ?? [:] {
            out[String(writer.split(separator: ".")[0]), default: 0] += jsonInt(value) ?? 0
        }
        return JSON.canonical(out)
    }
    subscript(field: String) -> Any? { fields[field] }
    /// What every replica must agree on: the visible fields, deletion, clock and conflicts.
    var replicatedView: String {
        JSON.canonical([
            "fields": fields, "deleted": raw["deleted"] ?? NSNull(), "clock": raw["clock"] ?? NSNull(),
            "conflicted": raw["conflicted"] ?? NSNull(), "conflicts": raw["conflicts"] ?? NSNull(),
        ])
    }
    var description: String { JSON.canonical(raw) }
}

/// The JSON summary `station sync --json` prints.
struct SyncSummary: CustomStringConvertible {
    let raw: [String: Any]
    var peer: String? { raw["peer"] as? String }
    var pushed: Int? { jsonInt(raw["pushed"]) }
    var pulled: Int? { jsonInt(raw["pulled"]) }
    var created: Int? { jsonInt(raw["created"]) }
    var applied: Int? { jsonInt(raw["applied"]) }
    var merged: Int? { jsonInt(raw["merged"]) }
    var unchanged: Int? { jsonInt(raw["unchanged"]) }
    var notSent: Int? { jsonInt(raw["notSent"]) }
    var waiting: Int? { jsonInt(raw["waiting"]) }
    var recordsWithConflicts: Int? { jsonInt(raw["recordsWithConflicts"]) }
    var startedOver: Bool? { jsonBool(raw["startedOver"]) }
    var description: String { JSON.canonical(raw) }
}
