import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station list`: the records of a collection.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the records of a collection, all or those a query finds, a page at a time.",
            discussion: """
                Conditions are on what reads show: --where 'quantity<5' --where acknowledged=false \
                --where 'status in (open, waiting)' --where fullName^=Chen (a prefix) --where notes=null. \
                Numbers compare as numbers, texts by their bytes. --sort FIELD (or -FIELD, descending; \
                ties by id; write --sort=-FIELD) orders them, --limit N cuts a page, and the page ends with the --after \
                cursor of the next one. Fields the schema indexes ("indexes") are read from their \
                index, others from every record (--explain says which).
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The collection.") var collection: String
        @Flag(help: "Include deleted records.") var includeDeleted = false
        @Option(
            name: .customLong("where"), help: ArgumentHelp("A condition (repeatable; all must hold).", valueName: "FIELD OP VALUE"))
        var conditions: [String] = []
        @Option(help: ArgumentHelp("Order by this field; --sort=-FIELD for descending.", valueName: "[-]FIELD")) var sort: String?
        @Option(help: ArgumentHelp("At most this many records.", valueName: "n")) var limit: Int?
        @Option(help: ArgumentHelp("Go on after this cursor (the one the previous page ended with).", valueName: "cursor"))
        var after: String?
        @Flag(help: "Say on stderr how the query is answered: which index it reads, or that it reads every record.") var explain = false

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                if !conditions.isEmpty || sort != nil || limit != nil || after != nil || explain {
                    try query(store)
                    return
                }
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

        /// A query's page: the records that match, in its order, after `--after`, at most `--limit`.
        func query(_ store: StationStore) throws {
            let c = try store.schema.collection(collection)
            var query = RecordQuery(conditions: try conditions.map { try RecordQuery.Condition(parsing: $0) })
            if let sort {
                query.descending = sort.hasPrefix("-")
                query.sortField = query.descending ? String(sort.dropFirst()) : sort
            }
            for field in query.conditions.map(\.field) + [query.sortField].compactMap({ $0 }) where c.fields[field] == nil {
                Terminal.warn("\(collection) declares no field \(field) (its fields: \(c.fields.keys.sorted().joined(separator: ", ")))")
            }
            let start = try after.map { try RecordQuery.Position(cursor: $0) }
            let page = try store.query(collection, query, after: start, limit: limit, includeDeleted: includeDeleted)
            if explain { Terminal.hint("plan: \(page.plan)") }
            let next = page.next
            if output.json {
                print(JSONValue.array(page.records.map { RecordOutput.json($0) }).canonicalText)
                if let next { Terminal.hint("more: --after '\(next.replacingOccurrences(of: "'", with: "'\\''"))'") }
                return
            }
            let rows = page.records.map { r -> [String] in
                var flags: [String] = []
                if r.view.deleted { flags.append("deleted") }
                if r.view.conflicted { flags.append("conflicted") } else if !r.view.conflicts.isEmpty { flags.append("auto-resolved") }
                return [r.id, flags.joined(separator: ","), RecordOutput.summary(r.view.fields)]
            }
            print(RecordOutput.table(["ID", "FLAGS", "FIELDS"], rows))
            var line = "\(rows.count) record\(rows.count == 1 ? "" : "s") in \(collection)"
            if !query.conditions.isEmpty { line += " where " + query.conditions.map(\.description).joined(separator: " and ") }
            print(line)
            if let next { print("more: --after '\(next.replacingOccurrences(of: "'", with: "'\\''"))'") }
        }
    }
}
