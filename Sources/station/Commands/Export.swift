import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station export`: writes changes to a file another node can merge (sync by USB stick).
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write changes after --since to a change file that another node can merge.",
            discussion: """
                For stations with no network at all: carry the file to another node and run \
                `station merge FILE` there. The file is JSON Lines: a header line, then one line per \
                changed record with its full mergeable state (the same change entries the sync \
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
                let store = try database.open(readOnly: true)
                let last = try store.lastSequence()
                // The changes go to a side file first: the header, which comes first, says how many
                // follow (so a cut file is refused), and that is known once they are written.
                let target = file == "-" ? NSTemporaryDirectory() + "stationsync-export-\(ProcessInfo.processInfo.processIdentifier)" : file
                let bodyPath = target + ".partial-body"
                let partial = file + ".partial"
                // Whatever fails (a full disk, a closed pipe), no partial file is left behind and
                // the error says what was written: nothing usable.
                var finished = false
                defer {
                    try? FileManager.default.removeItem(atPath: bodyPath)
                    if !finished, file != "-" { try? FileManager.default.removeItem(atPath: partial) }
                }
                func failed(_ what: String, _ error: any Error) -> CommandFailure {
                    CommandFailure("\(what): \(error.localizedDescription); no change file was written (free some space and export again)")
                }
                guard FileManager.default.createFile(atPath: bodyPath, contents: nil), let body = FileHandle(forWritingAtPath: bodyPath) else {
                    throw CommandFailure("cannot write \(bodyPath)")
                }
                var cursor = since
                var count = 0
                while true {
                    let batch = try store.changes(since: cursor, limit: 1000)
                    var bytes = [UInt8]()
                    for change in batch.changes where change.seq <= last {
                        ChangeFile.writeLine(change, to: &bytes)
                        count += 1
                    }
                    do { try body.write(contentsOf: bytes) } catch { throw failed("writing \(bodyPath)", error) }
                    cursor = batch.nextSince
                    if !batch.hasMore || cursor >= last { break }
                }
                try body.close()
                let header = ChangeFile.header(of: store, since: since, last: last, count: count)
                let out: FileHandle
                if file == "-" {
                    out = FileHandle.standardOutput
                } else {
                    guard FileManager.default.createFile(atPath: partial, contents: nil), let handle = FileHandle(forWritingAtPath: partial)
                    else { throw CommandFailure("cannot write \(file)") }
                    out = handle
                }
                let shown = file == "-" ? "standard output" : file
                do {
                    try out.write(contentsOf: Array((header.canonicalText + "\n").utf8))
                    guard let reader = FileHandle(forReadingAtPath: bodyPath) else { throw CommandFailure("cannot read \(bodyPath)") }
                    while let chunk = try reader.read(upToCount: 1 << 20), !chunk.isEmpty { try out.write(contentsOf: chunk) }
                    try reader.close()
                    if file != "-" {
                        try out.synchronize()
                        try out.close()
                        _ = try? FileManager.default.removeItem(atPath: file)
                        try FileManager.default.moveItem(atPath: partial, toPath: file)
                    }
                } catch let error as CommandFailure {
                    throw error
                } catch {
                    throw failed("writing \(shown)", error)
                }
                finished = true
                Terminal.hint("exported \(count) change\(count == 1 ? "" : "s") (#\(since + 1)…#\(last)) from \(store.node)")
            }
        }
    }
}
