import ArgumentParser
import Foundation
import StationCore
import StationStore
import StationSync

/// `conflicts list | show | resolve`, the same under `station` and `hub`.
public struct ConflictsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "conflicts",
        abstract: "See every conflict, why it was decided, and override it.",
        discussion: """
            Open: a manual field still holding several values, or an automatic decision (lww, a delete \
            policy) nobody has acknowledged yet. A resolution is an ordinary write that has seen every \
            competing value: once synced it supersedes them on every node, and the conflict keeps its \
            history (who resolved it, when, how).
            """,
        subcommands: [List.self, Show.self, Resolve.self])

    public init() {}

    public struct List: ParsableCommand {
        public static let configuration = CommandConfiguration(abstract: "List conflicts, one line each.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Only this collection.") var collection: String?
        @Option(help: "open, resolved or all.") var status: StatusFilter = .open

        public init() {}

        public func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                let reports = try store.conflictReports(collection: collection, status: status.status)
                if output.json {
                    print(JSONValue.array(reports.map(\.summaryJSON)).canonicalText)
                    return
                }
                let now = UInt64(Date().timeIntervalSince1970 * 1000)
                print(
                    RecordOutput.table(
                        ["ID", "COLLECTION", "RECORD", "FIELD", "POLICY", "ORIGINS", "AGE", "STATUS"],
                        reports.map { r in
                            [
                                r.id, r.collection, r.recordID, r.field, r.policy.rawValue, r.origins.joined(separator: ","),
                                ConflictText.age(now > r.since.wall ? now - r.since.wall : 0),
                                r.status == .open
                                    ? (r.automatic ? "open (decided automatically)" : "open (waits for a person)")
                                    : "resolved (\(r.resolution!.how.rawValue))",
                            ]
                        }))
                print("\(reports.count) conflict\(reports.count == 1 ? "" : "s")")
            }
        }
    }

    public enum StatusFilter: String, ExpressibleByArgument, Sendable {
        case open, resolved, all
        var status: ConflictReport.Status? { self == .all ? nil : ConflictReport.Status(rawValue: rawValue) }
    }

    public struct Show: ParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Show one conflict: the competing values side by side with a diff, their origins, and the decision.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The conflict id (from conflicts list).") var id: String

        public init() {}

        public func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                guard let report = try store.conflictReport(id: id) else {
                    throw CommandFailure("no conflict \(id) here (conflicts list --status all shows the ids)", code: "conflictNotFound")
                }
                if output.json {
                    print(report.json.canonicalText)
                } else {
                    print(ConflictText.show(report, color: Terminal.stdoutIsTerminal))
                }
            }
        }
    }

    public struct Resolve: ParsableCommand {
        public static let configuration = CommandConfiguration(
            abstract: "Resolve a conflict: keep one value (--choose), write a new one (--value), or keep the automatic decision (--accept).",
            discussion: "INDEX counts from 0 in the order of `conflicts show ID --json`'s values. Sync afterwards to send the resolution everywhere.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The conflict id.") var id: String
        @Option(help: ArgumentHelp("Keep the value at this index.", valueName: "index")) var choose: Int?
        @Option(help: ArgumentHelp("Write this JSON value instead.", valueName: "json")) var value: String?
        @Flag(help: "Keep the automatic decision and mark it acknowledged.") var accept = false
        @OptionGroup var author: AuthorOptions

        public init() {}

        public func validate() throws {
            let given = [choose != nil, value != nil, accept].filter { $0 }.count
            guard given == 1 else { throw ValidationError("give exactly one of --choose INDEX, --value JSON, --accept") }
        }

        public func run() throws {
            try reportingErrors {
                let person = try author.author
                let choice: RecordState.ResolutionChoice
                if let choose {
                    choice = .choose(choose)
                } else if let value {
                    do {
                        choice = .value(try JSONParser.parse(value))
                    } catch {
                        throw CommandFailure("--value: \(error) (strings need quotes: --value '\"closed\"')")
                    }
                } else {
                    choice = .accept
                }
                let store = try database.open()
                let report = try store.resolveConflict(id: id, choice, person: person)
                if output.json {
                    print(report.json.canonicalText)
                    return
                }
                let r = report.resolution
                let kept = r.map { ConflictText.cell($0.result, field: report.field) } ?? "?"
                print(
                    "resolved \(id) (\(report.collection)/\(report.recordID) \(report.field)): kept \(kept) by \(r?.how.rawValue ?? "?"); sync to send it to every node"
                )
            }
        }
    }
}

/// The human forms of conflicts.
public enum ConflictText {
    static func age(_ ms: UInt64) -> String {
        let s = ms / 1000
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m" }
        if s < 86_400 { return "\(s / 3600)h" }
        return "\(s / 86_400)d"
    }

    /// A value for display; `_deleted` values read `delete` / `update`.
    public static func cell(_ v: JSONValue, field: String) -> String {
        if field == Conflict.existenceField, let b = v.boolValue { return b ? "delete" : "update" }
        return v.canonicalText
    }

    /// `conflicts show`: the values side by side, then a field-level diff against the decision.
    public static func show(_ r: ConflictReport, color: Bool) -> String {
        let red = color ? "\u{1B}[31m" : "", green = color ? "\u{1B}[32m" : "", bold = color ? "\u{1B}[1m" : "", reset = color ? "\u{1B}[0m" : ""
        var lines: [String] = []
        let state =
            r.status == .open
            ? (r.automatic ? "open, decided automatically" : "open, waits for a person")
            : "resolved"
        lines.append("\(bold)conflict \(r.id)\(reset)  \(r.collection)/\(r.recordID)  field \(r.field)  policy \(r.policy.rawValue)  (\(state))")
        lines.append("rule: \(r.rule)")
        let shown = r.values.map { cell($0.value, field: r.field) }
        let width = min(48, max(5, shown.map(\.count).max() ?? 5))
        let nodeWidth = max(4, r.values.map(\.dot.node.station.count).max() ?? 4)
        let dotWidth = max(5, r.values.map(\.dot.description.count).max() ?? 5)
        let authorWidth = max(2, r.values.map { ($0.author ?? "-").count }.max() ?? 2)
        lines.append("")
        lines.append(
            "  #  " + "VALUE".padded(to: width) + "  " + "FROM".padded(to: nodeWidth) + "  " + "BY".padded(to: authorWidth)
                + "  " + "WRITE".padded(to: dotWidth) + "  TIME")
        for (i, v) in r.values.enumerated() {
            let text = shown[i].count > width ? String(shown[i].prefix(width - 1)) + "…" : shown[i]
            lines.append(
                "  \(i)  " + text.padded(to: width) + "  "
                    + v.dot.node.station.padded(to: nodeWidth) + "  " + (v.author ?? "-").padded(to: authorWidth) + "  "
                    + "\(v.dot)".padded(to: dotWidth) + "  " + RecordOutput.isoTime(v.time)
                    + (i == 0 && r.status == .open ? (r.automatic ? "  <- automatic decision" : "  <- shown until resolved") : ""))
        }
        if r.values.count > 1 {
            lines.append("")
            lines.append("diff against [0] (\(red)-[0]\(reset) \(green)+[n]\(reset)):")
            for i in 1..<r.values.count {
                lines += diff(r.values[0].value, r.values[i].value, index: i, field: r.field, red: red, green: green, reset: reset)
            }
        }
        if let res = r.resolution {
            lines.append("")
            lines.append(
                "resolved by \(res.person.map { "\($0) at " } ?? "")\(res.by.node.station) at \(RecordOutput.isoTime(res.time)) (\(res.how.rawValue)): kept \(cell(res.result, field: r.field))"
            )
        } else {
            lines.append("")
            lines.append("resolve with: \(Terminal.program) conflicts resolve \(r.id) --choose N | --value JSON | --accept")
        }
        return lines.joined(separator: "\n")
    }

    /// A field-level diff of two values: per key for objects, the differing middle for strings.
    static func diff(_ a: JSONValue, _ b: JSONValue, index: Int, field: String, red: String, green: String, reset: String) -> [String] {
        if case .object(let x) = a, case .object(let y) = b {
            var out: [String] = []
            for key in Set(x.keys).union(y.keys).sorted() where x[key] != y[key] {
                out.append(
                    "  [\(index)] \(key): \(red)-\(x[key]?.canonicalText ?? "(absent)")\(reset) \(green)+\(y[key]?.canonicalText ?? "(absent)")\(reset)"
                )
            }
            return out.isEmpty ? ["  [\(index)] same value"] : out
        }
        if case .string(let x) = a, case .string(let y) = b {
            // By Unicode scalars, not Characters: two spellings of one text (NFC and NFD, say)
            // are different values, and the diff shows where they differ.
            let xs = Array(x.unicodeScalars), ys = Array(y.unicodeScalars)
            func text(_ scalars: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(scalars)) }
            var prefix = 0
            while prefix < min(xs.count, ys.count), xs[prefix] == ys[prefix] { prefix += 1 }
            var suffix = 0
            while suffix < min(xs.count, ys.count) - prefix, xs[xs.count - 1 - suffix] == ys[ys.count - 1 - suffix] { suffix += 1 }
            let head = text(xs[..<prefix]), tail = text(xs[(xs.count - suffix)...])
            let removedScalars = xs[prefix..<(xs.count - suffix)], addedScalars = ys[prefix..<(ys.count - suffix)]
            let removed = text(removedScalars), added = text(addedScalars)
            let plainMarks = red.isEmpty
            let minus = plainMarks ? "[-\(removed)-]" : "\(red)\(removed)\(reset)"
            let plus = plainMarks ? "{+\(added)+}" : "\(green)\(added)\(reset)"
            var line = "  [\(index)] \"\(head)\(minus)\(plus)\(tail)\""
            if removed == added {
                // Canonically equivalent: they look the same, so name the code points.
                func codes(_ s: ArraySlice<Unicode.Scalar>) -> String {
                    s.map { scalar in
                        let hex = String(scalar.value, radix: 16, uppercase: true)
                        return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
                    }.joined(separator: " ")
                }
                line += " (the same text spelled with other code points: \(codes(removedScalars)) versus \(codes(addedScalars)))"
            }
            return [line]
        }
        return ["  [\(index)] \(red)-\(cell(a, field: field))\(reset) \(green)+\(cell(b, field: field))\(reset)"]
    }
}
