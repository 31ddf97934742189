import ArgumentParser
import StationCommands
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station schema`: the collections this database holds, where each came from, and dropping
    /// additions nobody wrote to.
    struct SchemaCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "schema",
            abstract: "List the schema's collections (yours from init, and additions from the hub), or drop an addition nobody wrote to.",
            discussion: """
                Additions come from the hub (or a peer synced with --trust-schema); what a LAN peer \
                declares beyond them waits until the hub declares it too.
                """,
            subcommands: [ListCollections.self, Show.self, Drop.self], defaultSubcommand: ListCollections.self)

        struct ListCollections: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the collections, with where each came from.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try reportingErrors {
                    let store = try database.open(readOnly: true)
                    let rows = try store.schemaCollections()
                    if output.json {
                        print(
                            JSONValue.array(
                                rows.map { row in
                                    let c = store.schema.collections[row.name]
                                    return .object([
                                        "collection": .string(row.name), "addedBy": row.addedBy.map { .string($0) } ?? .null,
                                        "records": .int(Int64(row.records)),
                                        "fields": .object(
                                            Dictionary(uniqueKeysWithValues: (c?.fields ?? [:]).map { ($0.key, JSONValue.string($0.value.rawValue)) })
                                        ),
                                    ])
                                }
                            ).canonicalText)
                        return
                    }
                    print(
                        RecordOutput.table(
                            ["COLLECTION", "FROM", "RECORDS", "FIELDS"],
                            rows.map { row in
                                let c = store.schema.collections[row.name]
                                let fields = (c?.fields ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key):\($0.value.rawValue)" }.joined(
                                    separator: " ")
                                return [row.name, row.addedBy.map { "added by \($0)" } ?? "init", String(row.records), fields]
                            }))
                }
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Show one collection's fields: policy, type, bounds and whether each is required.",
                discussion: "--json prints the collection as the schema file declares it (Protocol/schema.md).")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "The collection.") var collection: String

            func run() throws {
                try reportingErrors {
                    let store = try database.open(readOnly: true)
                    let c = try store.schema.collection(collection)
                    if output.json {
                        print((Schema(collections: [c.name: c]).json.objectValue?["collections"]?.objectValue?[c.name] ?? .null).canonicalText)
                        return
                    }
                    if let description = c.description { print(description) }
                    print(
                        "default policy \(c.defaultPolicy.rawValue), a delete against an update: \(c.deleteConflict.rawValue)"
                            + (c.isTyped
                                ? "; typed: only these fields are written" : "; untyped: any other field is written as \(c.defaultPolicy.rawValue)"))
                    let names = c.declarations.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                    print(RecordOutput.table(["FIELD", "DECLARED"], names.map { [$0, c.declarations[$0]!.summary] }))
                    print("indexes: " + (c.indexes.isEmpty ? "none" : c.indexes.joined(separator: ", ")))
                    print("search: " + (c.search.isEmpty ? "none (station search reads every record)" : c.search.joined(separator: ", ")))
                    print(
                        "history: "
                            + (c.keptHistoryDays == 0
                                ? "none kept" : "kept \(c.keptHistoryDays) days" + (c.historyDays == nil ? " (the default)" : "")))
                }
            }
        }

        struct Drop: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Drop a collection a sync added, if it holds no record.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The collection.") var collection: String

            func run() throws {
                try reportingErrors {
                    let store = try database.open()
                    try store.dropAddedCollection(collection)
                    print("dropped \(collection) from this database's schema (a sync with the hub adds it again if the hub declares it)")
                }
            }
        }
    }
}
