import ArgumentParser
import StationCommands
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station user`: the people who use this station's records API (and its page).
    struct UserCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "user",
            abstract: "Add, list and remove the users of this station's records API (station serve).",
            discussion: """
                A program or page calls the records API with a user's token (Authorization: Bearer TOKEN), and every \
                write it makes is authored by that user (station history shows the name). Users and their tokens are \
                this station's own: they are not sync tokens, and a sync token does not open the records API.
                """,
            subcommands: [Add.self, ListUsers.self, Remove.self], defaultSubcommand: ListUsers.self)

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Add a user and print their token (shown once; only its hash is kept).")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var output: OutputOptions
            @Argument(help: "The person's name, as writes will name them (any script).") var name: String

            func run() throws {
                try reportingErrors {
                    let store = try database.open()
                    let (user, token) = try store.addUser(name)
                    if output.json {
                        print(JSONValue.object(["name": .string(user.name), "token": .string(token)]).canonicalText)
                    } else {
                        print(token)
                        Terminal.hint("user \(user.name) added; give them this token (it is not shown again)")
                    }
                }
            }
        }

        struct ListUsers: ParsableCommand {
            static let configuration = CommandConfiguration(commandName: "list", abstract: "List the users.")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try reportingErrors {
                    let store = try database.open(readOnly: true)
                    let users = try store.users()
                    if output.json {
                        print(
                            JSONValue.array(users.map { .object(["name": .string($0.name), "createdAt": .string($0.createdAt)]) }).canonicalText)
                    } else if users.isEmpty {
                        Terminal.hint("no users (station user add NAME)")
                    } else {
                        print(RecordOutput.table(["NAME", "ADDED"], users.map { [$0.name, $0.createdAt] }))
                    }
                }
            }
        }

        struct Remove: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Remove a user: their token stops working at once.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The user's name.") var name: String

            func run() throws {
                try reportingErrors {
                    let store = try database.open()
                    guard try store.removeUser(name) else {
                        throw CommandFailure("there is no user \(name) (station user list)", code: "userNotFound")
                    }
                    Terminal.hint("user \(name) removed")
                }
            }
        }
    }
}
