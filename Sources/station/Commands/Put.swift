import ArgumentParser
import Foundation
import StationCommands
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station put`: sets fields of a record, keeping the others.
    struct Put: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set fields of a record (creating it if needed); other fields are kept.",
            discussion: """
                JSON_OBJECT holds the fields to set, e.g. '{"status": "open", "phone": "555-0101"}'; \
                - reads it from standard input, @FILE from a file (for values too long for a command line).
                null unsets a field. Putting a counter field sets its total (a stocktake); concurrent \
                increments made elsewhere still add up on top. A put of what the record already shows \
                writes nothing (no change to sync) and says "unchanged" on stderr; --force writes it \
                anyway.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var author: AuthorOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The record id.") var id: String
        @Argument(help: ArgumentHelp("The fields to set, as a JSON object (- : from stdin; @FILE: from a file).", valueName: "json-object"))
        var fields: String
        @Flag(help: "Write even when the record already shows these values (a new write to sync).") var force = false

        func run() throws {
            try reportingErrors {
                let values = try parseFieldsObject(try fieldsText(fields))
                let store = try database.open()
                if try !store.put(collection, id, values, force: force, author: try author.author).changed {
                    Terminal.hint("unchanged: \(collection)/\(id) already shows these values (nothing written; --force writes anyway)")
                }
                try printRecord(store, collection, id, json: output.json)
            }
        }
    }
}

/// The text of a fields argument: itself, standard input for `-`, or a file's for `@FILE`
/// (a UTF-8 byte order mark dropped).
func fieldsText(_ argument: String) throws -> String {
    var data: Data
    if argument == "-" {
        data = FileHandle.standardInput.readDataToEndOfFile()
    } else if argument.hasPrefix("@") {
        let path = String(argument.dropFirst())
        guard let read = FileManager.default.contents(atPath: path) else { throw CommandFailure("cannot read \(path)") }
        data = read
    } else {
        return argument
    }
    if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
    guard let text = String(data: data, encoding: .utf8) else { throw CommandFailure("fields: the input is not UTF-8") }
    return text
}

/// Parses a command-line JSON object of fields.
func parseFieldsObject(_ text: String) throws -> [String: JSONValue] {
    let value: JSONValue
    do {
        value = try JSONParser.parse(text)
    } catch {
        throw CommandFailure("fields: \(error)")
    }
    guard let object = value.objectValue else {
        throw CommandFailure("fields must be a JSON object like '{\"name\": \"value\"}', not \(value.typeName)")
    }
    return object
}

/// Prints a record as stored (after a write, or for `get`).
func printRecord(_ store: StationStore, _ collection: String, _ id: String, json: Bool) throws {
    guard let record = try store.record(collection, id) else {
        throw CommandFailure("\(collection)/\(id) does not exist", code: StoreError.Code.recordNotFound.rawValue)
    }
    print(json ? RecordOutput.json(record).canonicalText : RecordOutput.text(record))
}
