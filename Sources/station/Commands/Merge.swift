import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore

extension StationCommand {
    /// `station merge`: merges a change file written by `station export` on another node.
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a change file from another node (written by `station export`).",
            discussion: """
                Every line is checked first: a bad one stops the merge with its line number and the
                database unchanged. Then the changes are merged in batched transactions; merging the
                same file twice changes nothing the second time.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: ArgumentHelp("A change file, or - for standard input.", valueName: "file")) var file: String

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                let input = try InputFile(file)
                defer { input.cleanUp() }
                // Pass 1: check every line; nothing is merged if one is bad.
                var source: String?
                var total = 0
                try input.forEachLine { number, line in
                    if try parse(line, number: number, store: store, source: &source) != nil { total += 1 }
                }
                guard source != nil else { throw CommandFailure("\(file) is not a StationSync change file (no header line)") }
                // Pass 2: merge in batched transactions.
                var tally: [MergeResult: Int] = [:]
                var progress = ProgressBar(total: total, label: "merging")
                var batch: [(String, String, RecordState)] = []
                var done = 0
                func flush() throws {
                    guard !batch.isEmpty else { return }
                    try store.write { tx in
                        for (collection, id, state) in batch { tally[try tx.merge(collection, id, state, from: source), default: 0] += 1 }
                    }
                    done += batch.count
                    batch.removeAll(keepingCapacity: true)
                    progress.update(done)
                }
                try input.forEachLine { number, line in
                    if let change = try parse(line, number: number, store: store, source: &source) {
                        batch.append(change)
                        if batch.count >= 1000 { try flush() }
                    }
                }
                try flush()
                progress.finish()
                let summary: [(String, MergeResult)] = [("created", .created), ("applied", .applied), ("merged", .merged), ("unchanged", .unchanged)]
                if output.json {
                    var o: [String: JSONValue] = ["from": source.map { .string($0) } ?? .null, "changes": .int(Int64(total))]
                    for (name, r) in summary { o[name] = .int(Int64(tally[r] ?? 0)) }
                    print(JSONValue.object(o).canonicalText)
                } else {
                    print("merged \(total) changes from \(source ?? "?"): " + summary.map { "\(tally[$0.1] ?? 0) \($0.0)" }.joined(separator: ", "))
                }
            }
        }

        /// Parses one line: the header (sets `source`, returns nil) or a change, checked against the schema.
        func parse(_ line: [UInt8], number: Int, store: StationStore, source: inout String?) throws -> (String, String, RecordState)? {
            func bad(_ message: String) -> CommandFailure { CommandFailure("\(file) line \(number): \(message); nothing was merged") }
            let value: JSONValue
            do { value = try JSONParser.parse(bytes: line) } catch { throw bad("\(error)") }
            guard let object = value.objectValue else { throw bad("expected a JSON object") }
            if source == nil || number == 1 {
                guard number == 1, object["stationsync"]?.stringValue == "changes", let node = object["node"]?.stringValue,
                    NodeID.isValid(node)
                else { throw bad("not a StationSync change file (the first line must be its header)") }
                source = node
                return nil
            }
            guard let collection = object["collection"]?.stringValue, let id = object["id"]?.stringValue,
                let stateJSON = object["state"]
            else { throw bad("each change needs \"collection\", \"id\" and \"state\"") }
            do {
                let c = try store.schema.collection(collection)
                try Names.checkRecordID(id, collection: collection)
                return (collection, id, try RecordState(json: stateJSON, collection: c))
            } catch {
                throw bad("\(error)")
            }
        }
    }
}
