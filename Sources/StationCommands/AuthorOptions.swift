import ArgumentParser
import Foundation
import StationCore

/// `--by NAME`: the person who makes a write, kept with every value it writes and shown in the
/// record's history and conflicts; `$STATION_USER` when absent.
public struct AuthorOptions: ParsableArguments {
    @Option(
        name: .customLong("by"),
        help: ArgumentHelp("Who makes the write, kept with the values and shown in the record's history (default: $STATION_USER).", valueName: "name")
    )
    public var by: String?

    public init() {}

    /// The person named: `--by`, else `$STATION_USER`, else nobody; in the form records hold it.
    /// A name that is not one throws (`invalidPerson`, with `--json` as the error body): read it
    /// inside the command's error reporting, before anything is written.
    public var author: String? {
        get throws {
            let given = by ?? ProcessInfo.processInfo.environment["STATION_USER"].flatMap { $0.isEmpty ? nil : $0 }
            guard let given else { return nil }
            guard let checked = Person.checked(given) else {
                throw CommandFailure(
                    "\(by != nil ? "--by" : "$STATION_USER") \(JSONValue.string(given).canonicalText) is not a person's name: it must be \(Person.rule)",
                    code: "invalidPerson")
            }
            return checked
        }
    }
}
