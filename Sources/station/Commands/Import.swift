import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station import`: bulk load from JSON Lines.
    struct Import: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bulk load records from JSON Lines: one object per line with \"id\" and the fields.",
            discussion: """
                Each line is a put (given fields set, others kept). The whole file is checked before \
                anything is written: a bad line stops the import with its line number and the \
                database unchanged. Records are then written in batched transactions. A line whose \
                record already shows those values writes nothing (counted as unchanged; --force \
                writes it anyway), so running an import again costs nothing for what is there.
                Ctrl-C stops after the batch being written and says what was kept; running the same \
                import again finishes it. FILE '-' reads stdin.
                """)

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: ArgumentHelp("A JSON Lines file, or - for standard input.", valueName: "file")) var file: String
        @Option(help: "Records per transaction.") var batchSize = 1000
        @Flag(help: "Write every line, even where the record already shows its values.") var force = false

        func validate() throws {
            guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                let c = try store.schema.collection(collection)
                let input = try InputFile(file)
                defer { input.cleanUp() }
                // Ctrl-C (or SIGTERM) stops between batches: a batch is one transaction, so what
                // was committed is whole and the message can say exactly what it was.
                let stop = StopSignal()
                let started = Date()
                // Pass 1: check every line; nothing is written if one is bad.
                var total = 0
                try input.forEachLine { number, line in
                    if stop.requested { throw CommandFailure("interrupted while checking line \(number); nothing was imported", exitCode: 130) }
                    _ = try checkLine(line, number: number, collection: c)
                    total += 1
                }
                // Pass 2: write in batches, one transaction each. A write can still fail against a
                // stored record (a counter pushed past 64 bits, a disk error): its whole batch is
                // rolled back and the message says what the earlier batches imported.
                var progress = ProgressBar(total: total, label: "importing \(collection)")
                var batch: [(line: Int, id: String, values: [String: JSONValue])] = []
                var done = 0
                var unchanged = 0
                var batches = 0
                func counts() -> String {
                    "\(done) record\(done == 1 ? "" : "s") (\(done - unchanged) written, \(unchanged) unchanged) in \(batches) batch\(batches == 1 ? "" : "es")"
                }
                func flush() throws {
                    guard !batch.isEmpty else { return }
                    if stop.requested {
                        progress.finish()
                        let kept =
                            done == 0
                            ? "nothing was imported"
                            : "kept \(counts()) from lines 1-\(batch[0].line - 1)"
                        throw CommandFailure(
                            "interrupted at line \(batch[0].line) of \(total) records: \(kept); nothing from line \(batch[0].line) on. "
                                + "Run the same import again to finish: records already imported are unchanged and cost nothing",
                            exitCode: 130)
                    }
                    var current = batch[0].line
                    var changedInBatch = 0
                    do {
                        try store.write { tx in
                            changedInBatch = 0
                            for entry in batch {
                                current = entry.line
                                if try tx.put(c.name, entry.id, entry.values, force: force).changed { changedInBatch += 1 }
                            }
                        }
                    } catch {
                        progress.finish()
                        let kept =
                            done == 0
                            ? "nothing was imported"
                            : "the \(done) records before line \(batch[0].line) were imported in earlier batches; nothing from line \(batch[0].line) on"
                        throw CommandFailure("line \(current): \(error); \(kept)")
                    }
                    done += batch.count
                    unchanged += batch.count - changedInBatch
                    batches += 1
                    batch.removeAll(keepingCapacity: true)
                    progress.update(done)
                }
                try input.forEachLine { number, line in
                    let (id, values) = try checkLine(line, number: number, collection: c)
                    batch.append((number, id, values))
                    if batch.count >= batchSize { try flush() }
                }
                try flush()
                progress.finish()
                let seconds = Date().timeIntervalSince(started)
                var text = "imported \(done) record\(done == 1 ? "" : "s") into \(collection) in \(String(format: "%.2f", seconds)) s"
                if unchanged > 0 { text += " (\(unchanged) unchanged: already showing those values)" }
                print(text)
            }
        }

        /// Parses and checks one line the way a put would, without touching the database.
        func checkLine(_ line: [UInt8], number: Int, collection c: CollectionSchema) throws -> (String, [String: JSONValue]) {
            func bad(_ message: String) -> CommandFailure { CommandFailure("line \(number): \(message); nothing was imported") }
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes: line)
            } catch {
                throw bad("\(error)")
            }
            guard var object = value.objectValue else { throw bad("expected a JSON object, found \(value.typeName)") }
            guard let id = object.removeValue(forKey: "id")?.stringValue else { throw bad("needs a string \"id\"") }
            do {
                try Names.checkRecordID(id, collection: c.name)
                var probe = RecordState()
                try probe.put(object, by: "probe", at: .zero, in: c, id: id)
            } catch {
                throw bad("\(error)")
            }
            return (id, object)
        }
    }
}
