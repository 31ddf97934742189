import ArgumentParser
import Foundation
import StationCommands
import StationCore
import StationStore
import StationSync

extension HubCommand {
    /// `hub token`: the bearer tokens stations sync with.
    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage the bearer tokens that stations sync with.",
            subcommands: [Add.self, List.self, Revoke.self])

        struct Add: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Make a token for a station and print it (only the token, on stdout).",
                discussion: """
                    The token is shown once; the hub keeps only a hash of it. The station may push only its \
                    own writes, unless --relay (a peer or a district hub forwarding other nodes' writes).
                    """)

            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The station's node name, e.g. hotline.") var station: String
            @Option(help: ArgumentHelp("Collections it may read: * or c1,c2.", valueName: "collections")) var read = "*"
            @Option(help: ArgumentHelp("Collections it may write: * or c1,c2.", valueName: "collections")) var write = "*"
            @Flag(help: "Allow it to bring writes made by other nodes (peer replication, hub to hub).") var relay = false
            @Flag(name: .customLong("operator"), help: "An operator's token: opens the dashboard at /ui, where conflicts can be resolved.")
            var isOperator = false

            func run() throws {
                try reportingErrors {
                    let node = try NodeID(validatingNode: station)
                    let store = try database.open()
                    guard node != store.node else {
                        throw CommandFailure(
                            "\(node) is this hub's own node name; a token is for a station (or a hub syncing here) with a name of its own")
                    }
                    let readList = try AccessList(parsing: read)
                    let writeList = try AccessList(parsing: write)
                    for case .only(let names) in [readList, writeList] {
                        for name in names.sorted() { _ = try store.schema.collection(name) }
                    }
                    let (token, stored) = Tokens.make(station: node.rawValue, read: readList, write: writeList, relay: relay, isOperator: isOperator)
                    try store.addToken(stored)
                    print(token)
                    Terminal.hint(
                        "token \(stored.id) for \(node): read \(readList), write \(writeList)\(relay ? ", relay" : "")\(isOperator ? ", operator (dashboard at /ui)" : ""); shown once, keep it safe"
                    )
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List tokens (ids and permissions, never the secrets).")
            @OptionGroup var database: DatabaseOptions
            @OptionGroup var output: OutputOptions

            func run() throws {
                try reportingErrors {
                    let tokens = try database.open().tokens()
                    if output.json {
                        print(
                            JSONValue.array(
                                tokens.map { t in
                                    .object([
                                        "id": .string(t.id), "station": .string(t.station), "read": .string(t.read.description),
                                        "write": .string(t.write.description),
                                        "relay": .bool(t.relay), "operator": .bool(t.isOperator), "createdAt": .string(t.createdAt),
                                        "revokedAt": t.revokedAt.map { .string($0) } ?? .null,
                                    ])
                                }
                            ).canonicalText)
                        return
                    }
                    print(
                        RecordOutput.table(
                            ["ID", "STATION", "READ", "WRITE", "RELAY", "OPERATOR", "CREATED", "REVOKED"],
                            tokens.map {
                                [
                                    $0.id, $0.station, $0.read.description, $0.write.description, $0.relay ? "yes" : "no",
                                    $0.isOperator ? "yes" : "no", $0.createdAt,
                                    $0.revokedAt ?? "",
                                ]
                            }))
                }
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Revoke every token of a station, or one token by its id (--id); its next request gets 401.",
                discussion: "`hub token list` shows the ids. Revoking a token also ends the dashboard sessions signed in with it.")
            @OptionGroup var database: DatabaseOptions
            @Argument(help: "The station's node name (every token of it).") var station: String?
            @Option(help: ArgumentHelp("Revoke only this token (the id before the dot; see hub token list).", valueName: "id")) var id: String?

            func validate() throws {
                guard (station == nil) != (id == nil) else { throw ValidationError("give a station (every token of it) or --id ID (one token)") }
            }

            func run() throws {
                try reportingErrors {
                    let store = try database.open()
                    if let id {
                        guard let token = try store.token(id: id) else { throw CommandFailure("no token \(id) here (hub token list shows the ids)") }
                        guard try store.revokeToken(id: id) else {
                            throw CommandFailure("token \(id) of \(token.station) was revoked already (\(token.revokedAt ?? "?") UTC)")
                        }
                        print("revoked token \(id) of \(token.station)")
                        return
                    }
                    let station = station!
                    let count = try store.revokeTokens(station: station)
                    guard count > 0 else { throw CommandFailure("\(station) has no live token") }
                    print("revoked \(count) token\(count == 1 ? "" : "s") of \(station)")
                }
            }
        }
    }
}
