import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore

extension StationCommand {
    /// `station export`: writes changes to a file another node can merge (sync by USB stick).
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write changes after --since to a change file that another node can merge.",
            discussion: """
                For stations with no network at all: carry the file to another node and run
                `station merge FILE` there. The file is JSON Lines: a header line, then one line per
                changed record with its full mergeable state (the same change entries the sync
                protocol carries). FILE '-' writes to stdout.
                """)

        @OptionGroup var database: DatabaseOptions
        @Argument(help: ArgumentHelp("Where to write, or - for standard output.", valueName: "file")) var file: String
        @Option(help: "Export changes after this sequence number.") var since: Int64 = 0

        func validate() throws {
            guard since >= 0 else { throw ValidationError("--since must be 0 or more") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                let last = try store.lastSequence()
                let out: FileHandle
                if file == "-" {
                    out = FileHandle.standardOutput
                } else {
                    guard FileManager.default.createFile(atPath: file + ".partial", contents: nil),
                        let handle = FileHandle(forWritingAtPath: file + ".partial")
                    else { throw CommandFailure("cannot write \(file)") }
                    out = handle
                }
                let header: JSONValue = [
                    "stationsync": "changes", "version": 1, "node": .string(store.node.rawValue),
                    "since": .int(since), "last": .int(last),
                ]
                out.write(Data((header.canonicalText + "\n").utf8))
                var cursor = since
                var count = 0
                while true {
                    let batch = try store.changes(since: cursor, limit: 1000)
                    var bytes = [UInt8]()
                    for change in batch.changes where change.seq <= last {
                        ChangeFile.writeLine(change, to: &bytes)
                        count += 1
                    }
                    out.write(Data(bytes))
                    cursor = batch.nextSince
                    if !batch.hasMore || cursor >= last { break }
                }
                if file != "-" {
                    try out.close()
                    _ = try? FileManager.default.removeItem(atPath: file)
                    try FileManager.default.moveItem(atPath: file + ".partial", toPath: file)
                }
                Terminal.hint("exported \(count) change\(count == 1 ? "" : "s") (#\(since + 1)…#\(last)) from \(store.node)")
            }
        }
    }
}

/// The change-file line format: `{"collection":…,"id":…,"seq":…,"state":{…}}`.
enum ChangeFile {
    static func writeLine(_ change: Change, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"collection":"#.utf8)
        JSONWriter.writeString(change.collection, to: &out)
        out.append(contentsOf: #","id":"#.utf8)
        JSONWriter.writeString(change.id, to: &out)
        out.append(contentsOf: #","seq":"#.utf8)
        JSONWriter.writeInt(change.seq, to: &out)
        out.append(contentsOf: #","state":"#.utf8)
        out.append(contentsOf: change.stateText.utf8)
        out.append(contentsOf: "}\n".utf8)
    }
}
