import ArgumentParser
import StationCommands
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station info`: what this database is.
    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the node, its collections with their policies and record counts.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                let counts = try store.counts()
                let last = try store.lastSequence()
                if output.json {
                    print(
                        JSONValue.object([
                            "node": .string(store.node.rawValue), "path": .string(store.path), "lastSeq": .int(last),
                            "schema": store.schema.json,
                            "counts": .object(counts.mapValues { .object(["alive": .int(Int64($0.alive)), "deleted": .int(Int64($0.deleted))]) }),
                            "database": .string(store.databaseID), "writer": .string(store.writer.rawValue),
                            "restoredFrom": try store.restoredFrom().map { .string($0) } ?? .null,
                            "lineage": .array(store.lineage.map { .string($0.rawValue) }),
                        ]).canonicalText)
                    return
                }
                print("node \(store.node) (writes as \(store.writer))  database \(store.path)  last change #\(last)")
                if let restored = try store.restoredFrom() {
                    print("restored from an earlier copy (database \(restored)); peers push and pull everything again with it")
                }
                if let before = store.lineage.last {
                    print("wrote as \(before) before; a hub that took that database's pushes takes this one's instead")
                }
                let rows = store.schema.collectionNames.map { name -> [String] in
                    let c = store.schema.collections[name]!
                    let special = c.fields.keys.sorted().filter { c.fields[$0] != c.defaultPolicy }
                        .map { "\($0):\(c.fields[$0]!.rawValue)" }.joined(separator: " ")
                    let n = counts[name] ?? (0, 0)
                    return [name, String(n.alive), String(n.deleted), c.defaultPolicy.rawValue, c.deleteConflict.rawValue, special]
                }
                print(RecordOutput.table(["COLLECTION", "RECORDS", "DELETED", "DEFAULT", "DELETES", "OTHER POLICIES"], rows))
            }
        }
    }
}
