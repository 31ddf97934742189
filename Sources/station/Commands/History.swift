import ArgumentParser
import StationCommands
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station history`: what happened to a record on this node.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a record's history: every version this node stored, who made it, and what changed.",
            discussion: """
                Oldest first. Each entry says when this node stored the version, what it did (created, updated, \
                deleted, restored, resolved, merged), who wrote it (--by or $STATION_USER where it was written) \
                and at which station, and each field that reads differently: from what to what, a counter's \
                movement as +5 / −2. A version received from a peer is listed when it changed what reads show, \
                with the writes it brought. Conflicts opened and resolved are listed with their values. The \
                history is kept for the collection's historyDays (default 365) and is this node's own: a hub \
                keeps none.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The record id.") var id: String
        @Option(help: "Show at most this many entries, the newest.") var limit: Int?

        func validate() throws {
            if let limit, limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                var entries: [StoredHistoryEntry] = []
                var after: Int64?
                // Paged, keeping only the newest `limit` entries.
                while true {
                    let page = try store.history(collection, id, after: after, limit: 1000)
                    entries += page
                    if let limit, entries.count > limit { entries.removeFirst(entries.count - limit) }
                    guard page.count == 1000, let last = page.last else { break }
                    after = last.number
                }
                if entries.isEmpty, try store.record(collection, id) == nil {
                    throw CommandFailure("\(collection)/\(id) does not exist on this node", code: "recordNotFound")
                }
                if output.json {
                    print(JSONValue.array(entries.map(\.json)).canonicalText)
                } else {
                    print(HistoryOutput.text(entries, collection: collection, id: id, keepsHistory: store.keepsHistory))
                }
            }
        }
    }
}
