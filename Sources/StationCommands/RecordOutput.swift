import Foundation
import StationCore
import StationStore
import StationSync

/// How records, conflicts and changes are printed: JSON for scripts, tables for people.
public enum RecordOutput {
    /// The `--json` object of one record (``StoredRecord/json``, the records API's shape).
    public static func json(_ r: StoredRecord) -> JSONValue { r.json }

    public static func clockJSON(_ clock: VectorClock) -> JSONValue { StoredRecord.clockJSON(clock) }

    /// A conflict as `--json` shows it (``StoredRecord/conflictJSON(_:)``).
    public static func conflictJSON(_ c: Conflict) -> JSONValue { StoredRecord.conflictJSON(c) }

    /// An HLC time as ISO 8601 with milliseconds (UTC).
    public static func isoTime(_ t: HLCTimestamp) -> String { StoredRecord.isoTime(t) }

    /// A value for a table cell: strings bare, everything else as JSON.
    public static func cell(_ v: JSONValue) -> String {
        if case .string(let s) = v { return s }
        return v.canonicalText
    }

    /// The human form of one record.
    public static func text(_ r: StoredRecord) -> String {
        var lines: [String] = []
        var status: [String] = []
        if r.view.deleted { status.append("DELETED") }
        if r.view.conflicted { status.append("CONFLICTED") }
        lines.append("\(r.collection)/\(r.id)" + (status.isEmpty ? "" : "  [" + status.joined(separator: ", ") + "]"))
        let names = r.view.fields.keys.sorted()
        let width = names.map(\.count).max() ?? 0
        for name in names {
            lines.append("  " + name.padded(to: width) + "  " + cell(r.view.fields[name]!))
        }
        lines.append("  clock \(r.state.clock)  seq \(r.seq)  updated \(isoTime(r.state.latestTime))" + (r.source.map { "  from \($0)" } ?? ""))
        for c in r.view.conflicts {
            let kind = c.automatic ? "decided automatically" : "waiting for a person"
            lines.append("  conflict \(c.id) on \(c.field) (\(c.policy.rawValue), \(kind)):")
            for (n, v) in c.values.enumerated() {
                let shown = c.field == Conflict.existenceField ? (v.value == .bool(true) ? "delete" : "update") : cell(v.value)
                lines.append(
                    "    [\(n)] \(shown)  from \(v.dot.node) \(v.dot)\(v.author.map { " by \($0)" } ?? "") at \(isoTime(v.time))"
                        + (n == 0 ? "  <- shown" : ""))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A plain table with a header row; on a terminal, the last column is cut to its width.
    public static func table(_ header: [String], _ rows: [[String]]) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        let maxLast = Terminal.stdoutIsTerminal ? max(20, Terminal.width - widths.dropLast().reduce(0) { $0 + $1 + 2 }) : Int.max
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                if i == cells.count - 1 { return c.count > maxLast ? String(c.prefix(maxLast - 1)) + "…" : c }
                return c.padded(to: widths[i])
            }.joined(separator: "  ")
        }
        return ([line(header)] + rows.map(line)).joined(separator: "\n")
    }

    /// `k=v, k=v` for a table cell.
    /// The fields of a table row: `name=value`, texts quoted (a comma or an equals sign in a
    /// value reads as part of it; a newline as `\n`), each value cut at ``tableValueWidth``
    /// characters with `…` (`get` shows it whole).
    public static func summary(_ fields: [String: JSONValue]) -> String {
        fields.keys.sorted().map { "\($0)=\(tableCell(fields[$0]!))" }.joined(separator: ", ")
    }

    /// The most characters a value takes in a table row.
    public static let tableValueWidth = 40

    /// One value in a table row: its JSON text, cut (by characters, never inside one) when long.
    static func tableCell(_ v: JSONValue) -> String {
        let text = v.canonicalText
        guard text.count > tableValueWidth else { return text }
        return String(text.prefix(tableValueWidth - 1)) + "…"
    }
}

extension String {
    /// The text followed by spaces up to `width` characters; never cut. (Foundation's
    /// `padding(toLength:)` counts UTF-16 units and cuts: `"cafe\u{301}"` padded to 4 would lose
    /// its accent, a different id.)
    func padded(to width: Int) -> String {
        let n = count
        return n >= width ? self : self + String(repeating: " ", count: width - n)
    }
}
