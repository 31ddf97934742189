import ArgumentParser
import StationCommands
import StationStore
import StationSync

extension StationCommand {
    /// `station delete`: deletes a record.
    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a record.",
            discussion: """
                The record becomes a tombstone that keeps its last values and replicates like any write.
                An update made concurrently elsewhere wins by default (the collection's deleteConflict).
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var author: AuthorOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The record id.") var id: String

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                if try store.delete(collection, id, author: try author.author) == nil {
                    Terminal.hint("\(collection)/\(id) was already deleted; nothing changed")
                }
                try printRecord(store, collection, id, json: output.json)
            }
        }
    }
}
