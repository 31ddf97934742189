import ArgumentParser
import Foundation
import StationCommands
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station forget`: forgets records only other nodes wrote (junk a rogue peer brought).
    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Forget records here that only other nodes wrote (a rogue LAN peer's or a crafted change file's).",
            discussion: """
                For records that wait at every hub sync and never go (writes of other nodes the hub never \
                receives), or collide with the hub's (a forgery under another node's names): they are \
                removed from this database only, without a tombstone. A record holding any write of this \
                station is refused (nothing is forgotten): write the values to keep instead. A record \
                that is real comes back from whoever holds it; `station sync --full` fetches the hub's \
                copies now.
                """)

        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The record ids.") var ids: [String]

        func validate() throws {
            guard !ids.isEmpty else { throw ValidationError("name at least one record id") }
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                _ = try store.schema.collection(collection)
                let forgotten = try store.forget(ids.map { RecordKey(collection, $0) })
                // Ids that look alike (one text in two spellings) are named with their code points.
                let lookAlike = forgotten.contains { a in forgotten.contains { b in a.id == b.id && !a.id.hasSameBytes(as: b.id) } }
                func shown(_ key: RecordKey) -> String {
                    guard lookAlike, key.id.unicodeScalars.contains(where: { !$0.isASCII }) else { return key.description }
                    let codes = key.id.unicodeScalars.map { $0.isASCII ? String($0) : "\\u{\(String($0.value, radix: 16, uppercase: true))}" }
                    return "\(key) (\(codes.joined()))"
                }
                print(
                    "forgot \(forgotten.count) record\(forgotten.count == 1 ? "" : "s") (\(forgotten.map(shown).joined(separator: ", "))); "
                        + "a record that is real comes back from whoever holds it (station sync --full fetches the hub's copies now)")
            }
        }
    }
}
