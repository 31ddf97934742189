import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station list`: the records of a collection.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the records of a collection.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The collection.") var collection: String
        @Flag(help: "Include deleted records.") var includeDeleted = false

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                if output.json {
                    // Streamed, so memory stays flat for large collections.
                    var first = true
                    var out = [UInt8]("[".utf8)
                    try store.forEachRecord(in: collection, includeDeleted: includeDeleted) { record in
                        if !first { out.append(UInt8(ascii: ",")) }
                        first = false
                        RecordOutput.json(record).write(to: &out)
                        if out.count > 1 << 16 {
                            FileHandle.standardOutput.write(Data(out))
                            out.removeAll(keepingCapacity: true)
                        }
                    }
                    out.append(contentsOf: "]\n".utf8)
                    FileHandle.standardOutput.write(Data(out))
                    return
                }
                var rows: [[String]] = []
                try store.forEachRecord(in: collection, includeDeleted: includeDeleted) { r in
                    var flags: [String] = []
                    if r.view.deleted { flags.append("deleted") }
                    if r.view.conflicted { flags.append("conflicted") } else if !r.view.conflicts.isEmpty { flags.append("auto-resolved") }
                    rows.append([r.id, flags.joined(separator: ","), RecordOutput.summary(r.view.fields)])
                }
                print(RecordOutput.table(["ID", "FLAGS", "FIELDS"], rows))
                print("\(rows.count) record\(rows.count == 1 ? "" : "s") in \(collection)")
            }
        }
    }
}
