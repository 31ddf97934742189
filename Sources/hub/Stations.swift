import ArgumentParser
import StationCommands
import StationCore
import StationHub
import StationStore
import StationSync

extension HubCommand {
    /// `hub stations`: the dashboard's station table on the command line.
    struct Stations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show every station with a token or a sync here: its last sync, how far behind the hub it is, its clock and database.",
            discussion: """
                BEHIND counts the hub's changes the station has not pulled yet; CLOCK is how far its clock was from the hub's at its \
                last session; DATABASE is the database that writes as the station here now (a restored, copied or reinstalled \
                database writes under a new one).
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingErrors {
                let store = try database.open(readOnly: true)
                let activity = try await store.stationActivity()
                let tokens = try store.tokens()
                let writers = try store.nodeWriters()
                let names = Set(activity.map(\.station)).union(tokens.filter { $0.revokedAt == nil && !$0.isOperator }.map(\.station))
                    .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                let last = try store.lastSequence()
                struct Row {
                    var station: String
                    var activity: StationActivity?
                    var behind: Int?
                    var database: String?
                }
                let rows = try names.map { name -> Row in
                    let a = activity.first { $0.station == name }
                    let behind = try a.flatMap { $0.lastPullAt == nil ? nil : try store.changeCount(after: $0.pulledThrough) }
                    let live = writers.first { $0.node == name && $0.status == .live }?.writer
                    return Row(station: name, activity: a, behind: behind, database: live)
                }
                if output.json {
                    print(
                        JSONValue.object([
                            "lastSeq": .int(last),
                            "stations": .array(
                                rows.map { r in
                                    .object([
                                        "station": .string(r.station), "lastSeenAt": r.activity.map { .string($0.lastSeenAt) } ?? .null,
                                        "lastPullAt": r.activity?.lastPullAt.map { .string($0) } ?? .null,
                                        "lastPushAt": r.activity?.lastPushAt.map { .string($0) } ?? .null,
                                        "pulledThrough": r.activity.map { .int($0.pulledThrough) } ?? .null,
                                        "behind": r.behind.map { .int(Int64($0)) } ?? .null, "pushedChanges": .int(r.activity?.pushedChanges ?? 0),
                                        "clockOffset": r.activity?.clockOffset.map { .int($0) } ?? .null,
                                        "database": r.database.map { .string($0) } ?? .null,
                                    ])
                                }),
                        ]).canonicalText)
                    return
                }
                guard !rows.isEmpty else {
                    print("no stations yet: hub token add --db \(try database.path) STATION makes one a token")
                    return
                }
                print(
                    RecordOutput.table(
                        ["STATION", "LAST SYNC", "BEHIND", "PUSHED", "CLOCK", "DATABASE"],
                        rows.map { r in
                            let behind = r.behind.map { $0 == 0 ? "up to date" : "\($0) change\($0 == 1 ? "" : "s")" } ?? "never synced"
                            return [
                                r.station, r.activity?.lastSeenAt ?? "never", behind, String(r.activity?.pushedChanges ?? 0),
                                ClockOffset.status(r.activity?.clockOffset), r.database ?? "",
                            ]
                        }))
                print("the hub's change feed is at #\(last)")
            }
        }
    }
}
