import ArgumentParser
import StationCommands
import StationStore
import StationSync

extension StationCommand {
    /// `station get`: one record.
    struct Get: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show one record: the values every replica shows, its clock and its conflicts.",
            discussion: "Exit status 1 if this node never had the record; a deleted one prints with \"deleted\": true.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The record id.") var id: String

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                try printRecord(store, collection, id, json: output.json)
            }
        }
    }
}
