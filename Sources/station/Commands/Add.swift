import ArgumentParser
import StationCore
import StationStore

extension StationCommand {
    /// `station add`: adds to a counter field.
    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a (possibly negative) integer to a counter field.",
            discussion: "Counters merge by summing every station's increments. Negative amounts: station add … quantity -2")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Argument(help: "The collection.") var collection: String
        @Argument(help: "The record id.") var id: String
        @Argument(help: "The counter field.") var field: String
        // Captured with `.allUnrecognized` so that a negative amount (-2) is not taken for an option.
        @Argument(parsing: .allUnrecognized, help: ArgumentHelp("The integer to add, e.g. 5 or -2.", valueName: "amount"))
        var amountArgument: [String]

        var amount: Int64 { (try? parseAmount(amountArgument.first ?? "")) ?? 0 }

        func validate() throws {
            guard amountArgument.count == 1 else {
                throw ValidationError(amountArgument.isEmpty ? "missing the amount to add" : "expected one amount, got \(amountArgument.joined(separator: " "))")
            }
            _ = try parseAmount(amountArgument[0])
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                try store.add(collection, id, field: field, amount: amount)
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
