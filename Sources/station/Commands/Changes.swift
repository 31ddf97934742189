import ArgumentParser
import StationCommands
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station changes`: the local change feed.
    struct Changes: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the change feed: each record changed after --since, once, at its latest change.",
            discussion: "Local writes and changes merged from peers are both stamped; `source` names the peer.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Option(help: "Show changes after this sequence number.") var since: Int64 = 0
        @Option(help: "Show at most this many changes.") var limit: Int = 1000

        func validate() throws {
            guard since >= 0 else { throw ValidationError("--since must be 0 or more") }
            guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                let batch = try store.changes(since: since, limit: limit)
                let parsed = try batch.changes.map { change -> (Change, RecordState, RecordView) in
                    let state = try RecordState(jsonText: change.stateText)
                    let view = state.view(in: try store.schema.collection(change.collection), id: change.id)
                    return (change, state, view)
                }
                if output.json {
                    let items: [JSONValue] = parsed.map { change, state, view in
                        .object([
                            "seq": .int(change.seq), "collection": .string(change.collection), "id": .string(change.id),
                            "source": change.source.map { .string($0) } ?? .null,
                            "fields": .object(view.fields), "deleted": .bool(view.deleted),
                            "clock": RecordOutput.clockJSON(state.clock), "conflicted": .bool(view.conflicted),
                            "state": state.json,
                        ])
                    }
                    print(
                        JSONValue.object([
                            "changes": .array(items), "next": .int(batch.nextSince), "more": .bool(batch.hasMore),
                        ]).canonicalText)
                    return
                }
                let rows = parsed.map { change, state, view in
                    [
                        String(change.seq), "\(change.collection)/\(change.id)", change.source ?? "local",
                        view.deleted ? "deleted" : RecordOutput.summary(view.fields),
                    ]
                }
                print(RecordOutput.table(["SEQ", "RECORD", "SOURCE", "NOW"], rows))
                if batch.hasMore { print("more changes follow: station changes --since \(batch.nextSince)") }
            }
        }
    }
}
