import Foundation
import StationCore
import StationStore
import StationSync

/// How `station history` prints a record's history for people: an entry per version stored,
/// oldest first, with who, where and when, and each field that reads differently.
///
///     2026-12-07 09:12:03Z  created by Wang Fang at charity-supermarket
///         itemName  "Rice, 10 kg bag"
///         quantity  20 (counted)
///     2026-12-07 10:01:44Z  updated by Li Na at charity-supermarket
///         quantity  20 → 18 (−2)
///     2026-12-07 11:30:10Z  merged from hub: Chen Jie at volunteer-services 11:02:51Z
///         quantity  18 → 23 (+5)
public enum HistoryOutput {
    /// The lines of one entry.
    public static func lines(_ stored: StoredHistoryEntry) -> [String] {
        let entry = stored.entry.objectValue ?? [:]
        let kind = entry["kind"]?.stringValue ?? "?"
        let writes = entry["writes"]?.arrayValue ?? []
        var head = "\(time(ms: stored.storedAt))  \(kind)"
        if let peer = stored.peer {
            head += " from \(peer)"
            let who = writes.map(Self.write).joined(separator: "; ")
            if !who.isEmpty { head += ": " + who }
        } else if let w = writes.last?.objectValue {
            if let author = w["author"]?.stringValue { head += " by \(author)" }
            head += " at \(w["node"]?.stringValue ?? "?")"
        }
        var lines = [head]
        let changes = (entry["changes"]?.arrayValue ?? []).compactMap(\.objectValue)
        let width = changes.map { ($0["field"]?.stringValue ?? "").count }.max() ?? 0
        for c in changes {
            let field = c["field"]?.stringValue ?? "?"
            lines.append("    " + field.padded(to: width) + "  " + change(c, created: kind == "created"))
        }
        for o in (entry["opened"]?.arrayValue ?? []).compactMap(\.objectValue) {
            let field = o["field"]?.stringValue ?? "?"
            lines.append(
                "    conflict \(o["id"]?.stringValue ?? "?") opened on "
                    + (field == Conflict.existenceField ? "the record (delete versus update)" : field) + " (station conflicts show ID)")
        }
        for r in (entry["resolved"]?.arrayValue ?? []).compactMap(\.objectValue) {
            lines.append("    " + resolution(r))
        }
        return lines
    }

    /// The whole history, or a line saying there is none.
    public static func text(_ entries: [StoredHistoryEntry], collection: String, id: String, keepsHistory: Bool) -> String {
        guard !entries.isEmpty else {
            return keepsHistory
                ? "\(collection)/\(id): no history on this node (never written or received here, or older than the collection's historyDays)"
                : "\(collection)/\(id): this database keeps no history (a hub's does not; each station keeps its own)"
        }
        return entries.flatMap(lines).joined(separator: "\n")
    }

    /// `Chen Jie at volunteer-services 11:02:51Z` (a write of a merged version).
    static func write(_ value: JSONValue) -> String {
        guard let w = value.objectValue else { return "?" }
        let node = w["node"]?.stringValue ?? "?"
        let at = w["time"]?.intValue.map { clock(ms: UInt64(max(0, $0))) } ?? ""
        return (w["author"]?.stringValue.map { "\($0) at " } ?? "") + node + " " + at
    }

    /// `20 → 18 (−2)`, `"open" → "closed"`, `(unset) → 3`; a record's first values as they are.
    static func change(_ c: [String: JSONValue], created: Bool) -> String {
        // JSON null is no value: the field was unset. (`JSONValue` takes `nil` for its null.)
        let before: JSONValue? = c["before"].flatMap { $0.isNull ? Optional.none : $0 }
        let after: JSONValue? = c["after"].flatMap { $0.isNull ? Optional.none : $0 }
        var text: String
        if created, before == nil {
            text = after.map(RecordOutput.tableCell) ?? "(unset)"
        } else {
            text = (before.map(RecordOutput.tableCell) ?? "(unset)") + " → " + (after.map(RecordOutput.tableCell) ?? "(unset)")
        }
        var notes: [String] = []
        if let moved = c["moved"]?.intValue, !(created && c["counted"]?.boolValue == true) {
            notes.append(moved < 0 ? "−\(moved.magnitude)" : "+\(moved)")
        }
        if c["counted"]?.boolValue == true { notes.append("counted") }
        if !notes.isEmpty { text += " (" + notes.joined(separator: ", ") + ")" }
        return text
    }

    /// `resolved status: chose "open" over "closed" (Zhang)`.
    static func resolution(_ r: [String: JSONValue]) -> String {
        let field = r["field"]?.stringValue ?? "?"
        let what = field == Conflict.existenceField ? "delete versus update" : field
        let values = (r["values"]?.arrayValue ?? []).compactMap(\.objectValue).map { v in
            (field == Conflict.existenceField
                ? (v["value"]?.boolValue == true ? "delete" : "update") : (v["value"].map(RecordOutput.tableCell) ?? "?"))
                + " (" + (v["author"]?.stringValue.map { "\($0) at " } ?? "") + (v["node"]?.stringValue ?? "?") + ")"
        }
        let result =
            r["result"].map { field == Conflict.existenceField ? ($0.boolValue == true ? "deleted" : "kept") : RecordOutput.tableCell($0) } ?? "?"
        let how: String
        switch r["how"]?.stringValue {
        case "choose": how = "chose \(result)"
        case "value": how = "wrote \(result)"
        case "accept": how = "accepted \(result)"
        default: how = "ended by a write of \(result)"
        }
        return "resolved \(what): \(how); the values were " + values.joined(separator: ", ")
            + (r["person"]?.stringValue.map { " (by \($0))" } ?? "")
    }

    /// A time as `2026-12-07 09:12:03Z` (UTC, as the logs).
    public static func time(ms: UInt64) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)) + "Z"
    }

    /// A time of day as `11:02:51Z`.
    static func clock(ms: UInt64) -> String {
        String(time(ms: ms).dropFirst(11))
    }
}
