import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationSeeds
import StationStore
import StationSync

extension StationCommand {
    /// `station init`: creates a new station database.
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a station database for a node.",
            discussion: "Refuses to overwrite an existing file. Without --schema, the service center's schema (seeds/schema.json) is used.")

        @OptionGroup var database: DatabaseOptions

        @Option(help: ArgumentHelp("This node's name: 1-64 characters of a-z, 0-9 and '-'.", valueName: "name"))
        var node: String

        @Option(help: ArgumentHelp("A schema file (JSON) naming collections and field policies.", valueName: "file"))
        var schema: String?

        func run() throws {
            try reportingErrors {
                let node = try NodeID(validatingNode: node)
                let schema = try loadSchema(file: schema, default: DefaultSchema.schema)
                let path = try database.path
                let store = try StationStore.create(
                    path: path, node: node, schema: schema, incarnation: StationStore.makeIncarnation(), role: .station)
                try store.close()
                print("initialized \(path) for node \(node) with \(schema.collections.count) collections")
            }
        }
    }
}
