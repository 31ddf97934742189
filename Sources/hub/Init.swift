import ArgumentParser
import Foundation
import StationCommands
import StationCore
import StationSeeds
import StationStore
import StationSync

extension HubCommand {
    /// `hub init`: creates the hub's database.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the hub's database.",
            discussion:
                "Refuses to overwrite an existing file. Without --schema, the service center's schema (seeds/schema.json) is used, without its indexes and search fields (a hub answers syncs, not queries)."
        )

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("The hub's node name.", valueName: "name"))
        var node = "hub"

        @Option(help: ArgumentHelp("A schema file (JSON) naming collections and field policies.", valueName: "file"))
        var schema: String?

        func run() throws {
            try reportingErrors {
                let node = try NodeID(validatingNode: node)
                var chosen = try loadSchema(file: schema, default: DefaultSchema.schema)
                if schema == nil {
                    // The hub serves syncs, not a clerk's queries: the built-in schema's indexes
                    // and search fields (each node's own) would only slow every merge there.
                    for name in chosen.collectionNames {
                        chosen.collections[name]!.indexes = []
                        chosen.collections[name]!.search = []
                    }
                }
                let path = try database.path
                let store = try StationStore.create(path: path, node: node, schema: chosen, incarnation: StationStore.makeIncarnation(), role: .hub)
                try store.close()
                print("initialized hub database \(path) (node \(node), \(chosen.collections.count) collections)")
                Terminal.hint("next: hub token add --db \(path) STATION   then   hub serve --db \(path) --listen 127.0.0.1:8080")
            }
        }
    }
}
