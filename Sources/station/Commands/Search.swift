import ArgumentParser
import Foundation
import StationCommands
import StationCore
import StationStore

extension StationCommand {
    /// `station search`: records whose text holds a few characters.
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Find the records of a collection whose text holds TEXT: a name, part of an address, a phone number.",
            discussion: """
                Reads the fields the schema lists under "search" (a full-text index: any three \
                characters find a name in any script, e.g. station search residents 陈美); in a \
                collection that lists none, every text field of every record. Latin letters match \
                in either case. Records come in id order; --limit cuts a page, --after ID goes on.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The text to find.") var text: String
        @Option(help: ArgumentHelp("At most this many records.", valueName: "n")) var limit: Int = 50
        @Option(help: ArgumentHelp("Go on after this record id (the one the previous page ended with).", valueName: "id")) var after: String?
        @Flag(help: "Say on stderr how the search is answered.") var explain = false

        func validate() throws {
            if limit < 1 { throw ValidationError("--limit must be at least 1") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open(readOnly: true)
                let page = try store.search(collection, text, after: after, limit: limit)
                if explain { Terminal.hint("plan: \(page.plan)") }
                if output.json {
                    print(JSONValue.array(page.records.map { RecordOutput.json($0) }).canonicalText)
                    if let next = page.next { Terminal.hint("more: --after '\(next.replacingOccurrences(of: "'", with: "'\\''"))'") }
                    return
                }
                let rows = page.records.map { r -> [String] in
                    [r.id, r.view.conflicted ? "conflicted" : "", RecordOutput.summary(r.view.fields)]
                }
                print(RecordOutput.table(["ID", "FLAGS", "FIELDS"], rows))
                print("\(rows.count) record\(rows.count == 1 ? "" : "s") in \(collection) holding \"\(text)\"")
                if let next = page.next { print("more: --after '\(next.replacingOccurrences(of: "'", with: "'\\''"))'") }
            }
        }
    }
}
