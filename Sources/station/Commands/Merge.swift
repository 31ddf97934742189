import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station merge`: merges a change file written by `station export` on another node.
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a change file from another node (written by `station export`).",
            discussion: """
                A change file is a push on foot and meets the same checks: its header must name \
                another node, this file format (version 2), a schema that agrees with this one and \
                how many changes follow (a cut file is refused); each change is checked against the \
                schema; and, unless --trust-relay is given, a change may bring only writes of the \
                node that exported it: one that would change or drop what another node wrote is \
                refused with the whole file, one that holds writes of other nodes this node has not \
                seen is left out (reported; they come with those nodes' own syncs).
                Every line is checked first: a bad one stops the merge with its line number and the \
                database unchanged. Then the changes are merged in one transaction (a change an \
                earlier line made unacceptable stops it, the database unchanged); merging the same \
                file twice changes nothing the second time.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Flag(help: "Take the file's writes of other nodes too: the exporting node is trusted to forward them (as a --relay token).")
        var trustRelay = false
        @Argument(help: ArgumentHelp("A change file, or - for standard input.", valueName: "file")) var file: String

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                let input = try InputFile(file)
                defer { input.cleanUp() }
                var progress: ProgressBar?
                let report: ChangeFile.Report
                do {
                    report = try ChangeFile.merge(into: store, lines: { try input.forEachLine($0) }, trustRelay: trustRelay) { done, total in
                        if progress == nil { progress = ProgressBar(total: total, label: "merging") }
                        progress?.update(done)
                    }
                } catch let refusal as ChangeFile.Refusal {
                    throw CommandFailure("\(file) \(refusal)")
                } catch let error as StoreError {
                    // The merge is one transaction: a full disk (or any failure) rolls it back whole.
                    throw CommandFailure(
                        "\(file): \(error.message); nothing of it was merged (the database is as it was), and merging it again is safe")
                }
                progress?.finish()
                let summary: [(String, MergeResult)] = [
                    ("created", .created), ("applied", .applied), ("merged", .merged), ("unchanged", .unchanged), ("waiting", .waiting),
                    ("collision", .collision), ("ahead", .ahead), ("overLimit", .overLimit), ("refused", .refused),
                ]
                let from = report.from
                if output.json {
                    var o: [String: JSONValue] = ["from": .string(from.rawValue), "changes": .int(Int64(report.changes))]
                    for (name, r) in summary { o[name] = .int(Int64(report.count(r))) }
                    print(JSONValue.object(o).canonicalText)
                } else {
                    print(
                        "merged \(report.changes) change\(report.changes == 1 ? "" : "s") from \(from): "
                            + summary.prefix(4).map { "\(report.count($0.1)) \($0.0)" }.joined(separator: ", "))
                }
                func list(_ keys: [RecordKey]) -> String {
                    keys.prefix(5).map { "\($0.collection)/\($0.id)" }.joined(separator: ", ") + (keys.count > 5 ? ", …" : "")
                }
                if case let n = report.count(.waiting), n > 0 {
                    Terminal.warn(
                        "\(n) change\(n == 1 ? "" : "s") (\(list(report.waiting))) \(n == 1 ? "holds" : "hold") writes of other nodes than \(from) that this node has not seen: "
                            + "not taken; \(n == 1 ? "it comes" : "they come") with those nodes' own syncs (or merge with --trust-relay if \(from) may forward them)"
                    )
                }
                if !report.ahead.isEmpty {
                    let n = report.ahead.count
                    Terminal.warn(
                        "\(n) change\(n == 1 ? "" : "s") (\(list(report.ahead))) \(n == 1 ? "holds" : "hold") a write of another node than \(from) stamped more than "
                            + "\(HybridLogicalClock.defaultMaxForwardDrift / 3_600_000) h ahead of this node's clock (that node's clock is wrong): not taken"
                    )
                }
                if case let n = report.count(.overLimit), n > 0 {
                    Terminal.warn(
                        "\(n) change\(n == 1 ? "" : "s") past a limit of what a record may hold (16 MiB of state, \(Limits.valueDepth) levels of nesting, "
                            + "\(RecordState.maxClockEntries) writers or values), alone or joined with this node's version: not taken (over_limit)")
                }
                if !report.collided.isEmpty {
                    let n = report.collided.count
                    Terminal.warn(
                        "\(n) record\(n == 1 ? "" : "s") (\(list(report.collided))) \(n == 1 ? "holds" : "hold") a write this node holds with other content "
                            + "(a database restored, copied or made again under one name): not taken, both versions kept")
                }
            }
        }
    }
}
