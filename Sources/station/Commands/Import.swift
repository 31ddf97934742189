import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station import`: bulk load from JSON Lines or CSV.
    struct Import: ParsableCommand {
        /// The file's format.
        enum Format: String, ExpressibleByArgument, CaseIterable {
            case jsonl, csv
        }

        static let configuration = CommandConfiguration(
            abstract: "Bulk load records from JSON Lines (one object per line with \"id\" and the fields) or CSV.",
            discussion: """
                CSV (FILE ending in .csv, or --format csv) has a header row of field names, one of \
                them "id"; each cell is read by its field's type, and an empty cell leaves the field \
                as it is. A UTF-8 byte order mark (Excel's) is skipped.
                Each line is a put (given fields set, others kept). The whole file is checked before \
                anything is written: a bad line stops the import with its line number and the \
                database unchanged. Records are then written in batched transactions. A line whose \
                record already shows those values writes nothing (counted as unchanged; --force \
                writes it anyway), so running an import again costs nothing for what is there.
                Ctrl-C stops after the batch being written and says what was kept; running the same \
                import again finishes it. FILE '-' reads stdin.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var author: AuthorOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: ArgumentHelp("A JSON Lines file, or - for standard input.", valueName: "file")) var file: String
        @Option(help: "Records per transaction.") var batchSize = 1000
        @Flag(help: "Write every line, even where the record already shows its values.") var force = false
        @Option(help: "jsonl or csv (default: csv for a FILE ending in .csv, else jsonl).") var format: Format?

        func validate() throws {
            guard batchSize > 0 else { throw ValidationError("--batch-size must be at least 1") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                let c = try store.schema.collection(collection)
                let person = try author.author
                let input = try InputFile(file)
                defer { input.cleanUp() }
                // Ctrl-C (or SIGTERM) stops between batches: a batch is one transaction, so what
                // was committed is whole and the message can say exactly what it was.
                let stop = StopSignal()
                let started = Date()
                // Pass 1: check every line; nothing is written if one is bad.
                var total = 0
                let csv = (format ?? (file.lowercased().hasSuffix(".csv") ? .csv : .jsonl)) == .csv
                // Ids this file creates, when the collection has required fields: a later line may
                // update such a record without repeating them.
                var created = Set<ByteString>()
                try forEachEntry(of: input, csv: csv, collection: c) { number, _, _ in
                    if stop.requested { throw CommandFailure("interrupted while checking line \(number); nothing was imported", exitCode: 130) }
                    total += 1
                } check: { number, id, object in
                    try check(id: id, object, number: number, collection: c, store: store, created: &created)
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
                                if try tx.put(c.name, entry.id, entry.values, force: force, author: person).changed { changedInBatch += 1 }
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
                try forEachEntry(of: input, csv: csv, collection: c) { number, id, values in
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

        /// Calls `body` with each record of the file: its line, id and fields (JSON Lines or CSV),
        /// after `check` (when given) passes it.
        func forEachEntry(
            of input: InputFile, csv: Bool, collection c: CollectionSchema,
            _ body: (_ line: Int, _ id: String, _ fields: [String: JSONValue]) throws -> Void,
            check: ((_ line: Int, _ id: String, _ fields: [String: JSONValue]) throws -> Void)? = nil
        ) throws {
            func bad(_ number: Int, _ message: String) -> CommandFailure { CommandFailure("line \(number): \(message); nothing was imported") }
            guard csv else {
                try input.forEachLine { number, line in
                    let value: JSONValue
                    do {
                        value = try JSONParser.parse(bytes: line)
                    } catch {
                        throw bad(number, "\(error)")
                    }
                    guard var object = value.objectValue else { throw bad(number, "expected a JSON object, found \(value.typeName)") }
                    guard let id = object.removeValue(forKey: "id")?.stringValue else { throw bad(number, "needs a string \"id\"") }
                    try check?(number, id, object)
                    try body(number, id, object)
                }
                return
            }
            var parser = CSVReader.RowParser()
            var header: [(name: String, declaration: FieldDeclaration?)?] = []  // nil: the id column
            var idColumn = -1
            var lastLine = 0
            try input.forEachLine(raw: true) { number, line in
                lastLine = number
                // A blank line between rows is no row; inside a quoted cell it is the cell's.
                if !parser.isOpen, line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
                guard let cells = try parser.feed(line, number: number) else { return }
                let first = parser.firstLine
                if idColumn < 0 {
                    for (i, name) in cells.enumerated() {
                        if name == "id" {
                            guard idColumn < 0 else { throw bad(first, "columns \(idColumn + 1) and \(i + 1) both name id") }
                            idColumn = i
                            header.append(nil)
                            continue
                        }
                        let column: (name: String, declaration: FieldDeclaration?)
                        do {
                            column = try c.localField(name, id: "(header)")
                        } catch {
                            throw bad(first, "column \(i + 1): \("\(error)".replacingOccurrences(of: "\(c.name)/(header): ", with: ""))")
                        }
                        if let twice = header.firstIndex(where: { $0?.name.hasSameBytes(as: column.name) ?? false }) {
                            throw bad(first, "columns \(twice + 1) and \(i + 1) both name \(column.name)")
                        }
                        header.append(column)
                    }
                    guard idColumn >= 0 else { throw bad(first, "the header row needs an \"id\" column (it has: \(cells.joined(separator: ", ")))") }
                    return
                }
                guard cells.count == header.count else {
                    throw bad(first, "\(cells.count) cells where the header has \(header.count) columns")
                }
                var object: [String: JSONValue] = [:]
                for (i, cell) in cells.enumerated() where i != idColumn {
                    let column = header[i]!
                    if let value = CSVReader.value(of: cell, for: column.declaration) { object[column.name] = value }
                }
                let id = cells[idColumn]
                try check?(first, id, object)
                try body(first, id, object)
            }
            if parser.isOpen { throw bad(parser.firstLine, "a quoted cell is not closed by the end of the file") }
            if idColumn < 0, lastLine > 0 { throw bad(1, "no header row") }
        }

        /// Checks one record the way a put would, without writing: against the record as stored
        /// when it is there (a partial update need not repeat required fields), else as a new one.
        func check(
            id: String, _ object: [String: JSONValue], number: Int, collection c: CollectionSchema, store: StationStore,
            created: inout Set<ByteString>
        ) throws {
            do {
                try Names.checkRecordID(id, collection: c.name)
                var probe = RecordState()
                var refusal: CoreError?
                do {
                    try probe.put(object, by: "probe", at: .zero, in: c, id: id)
                    if !c.requiredFields.isEmpty { created.insert(ByteString(id)) }
                } catch {
                    refusal = error
                }
                if let refusal {
                    guard refusal.code == .requiredField else { throw refusal }
                    // An update of a record made by an earlier line or stored already: checked
                    // as one (a record made and filled in by the same file passes).
                    if created.contains(ByteString(id)) {
                        try probe.put(object, by: "probe", at: .zero, in: c, id: id, requiringFields: false)
                    } else if var stored = try store.record(c.name, id)?.state, !stored.isDeleted(in: c) {
                        try stored.put(object, by: "probe", at: .zero, in: c, id: id, force: true)
                    } else {
                        throw refusal
                    }
                }
            } catch {
                throw CommandFailure("line \(number): \(error); nothing was imported")
            }
        }
    }
}
