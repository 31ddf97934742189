import ArgumentParser
import StationCommands
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station add`: adds to a counter field.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a (possibly negative) integer to a counter field.",
            discussion: """
                Counters merge by summing every station's increments. Negative amounts: station add … quantity -2. \
                A record that does not exist is refused (a mistyped id would make a new one) unless --create.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @OptionGroup var author: AuthorOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The record id.") var id: String
        @Argument(help: "The counter field.") var field: String
        // Captured with `.allUnrecognized` so that a negative amount (-2) is not taken for an option.
        @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The integer to add, e.g. 5 or -2.", valueName: "amount"))
        var amountArgument: [String]
        @Flag(help: "Make the record if it does not exist (else that is refused).") var create = false

        /// The amount, with a `--` separator (`add c id f -- -3`) allowed before it.
        private var amountWords: [String] { amountArgument.filter { $0 != "--" } }

        var amount: Int64 { (try? parseAmount(amountWords.first ?? "")) ?? 0 }

        func validate() throws {
            guard amountWords.count == 1 else {
                throw ValidationError(
                    amountWords.isEmpty ? "missing the amount to add" : "expected one amount, got \(amountWords.joined(separator: " "))")
            }
            _ = try parseAmount(amountWords[0])
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                if !create, try store.record(collection, id) == nil {
                    throw CommandFailure(
                        "\(collection)/\(id) does not exist: nothing added (--create makes it, with \(field) \(amount))",
                        code: "recordNotFound")
                }
                let person = try author.author
                let exists = try store.record(collection, id) != nil
                // Adding 0 to a record writes nothing (nothing to sync); the field is still checked.
                try store.addToCounter(collection, id, field: field, amount: amount, create: true, author: person)
                if amount == 0, exists { Terminal.hint("unchanged: adding 0 to \(collection)/\(id) \(field) writes nothing") }
                try printRecord(store, collection, id, json: output.json)
            }
        }
    }
}

func parseAmount(_ text: String) throws -> Int64 {
    guard let value = Int64(text.hasPrefix("+") ? String(text.dropFirst()) : text) else {
        throw ValidationError("amount must be an integer, not \"\(text)\"")
    }
    return value
}
