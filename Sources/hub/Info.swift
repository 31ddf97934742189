import ArgumentParser
import StationCommands
import StationCore
import StationSync

extension HubCommand {
    /// `hub info`: the hub's node, collections, record counts, its tokens' stations and their activity.
    struct Info: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the hub's node, record counts per collection, and its tokens' stations.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            try await reportingErrors {
                let store = try database.open(readOnly: true)
                let counts = try store.counts()
                let writers = try store.nodeWriters()
                let activity = try await store.stationActivity()
                // Per station: its tokens in force and revoked.
                let tokens = try store.tokens()
                let tokenStations = Dictionary(grouping: tokens, by: \.station).sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                if output.json {
                    print(
                        JSONValue.object([
                            "node": .string(store.node.rawValue), "writer": .string(store.writer.rawValue), "database": .string(store.databaseID),
                            "lastSeq": .int(try store.lastSequence()),
                            "counts": .object(counts.mapValues { .object(["alive": .int(Int64($0.alive)), "deleted": .int(Int64($0.deleted))]) }),
                            "conflictedRecords": .int(Int64(try store.conflictedRecordCount())),
                            "restoredFrom": try store.restoredFrom().map { .string($0) } ?? .null,
                            "writers": .array(writers.map(\.json)),
                            "tokens": .array(
                                tokenStations.map { station, list in
                                    .object([
                                        "station": .string(station), "active": .int(Int64(list.lazy.filter { $0.revokedAt == nil }.count)),
                                        "revoked": .int(Int64(list.lazy.filter { $0.revokedAt != nil }.count)),
                                    ])
                                }),
                            "stations": .array(
                                activity.map { a in
                                    .object([
                                        "station": .string(a.station), "lastSeenAt": .string(a.lastSeenAt),
                                        "lastPullAt": a.lastPullAt.map { .string($0) } ?? .null,
                                        "lastPushAt": a.lastPushAt.map { .string($0) } ?? .null,
                                        "pushedChanges": .int(a.pushedChanges), "clockOffset": a.clockOffset.map { .int($0) } ?? .null,
                                    ])
                                }),
                        ]).canonicalText)
                    return
                }
                print(
                    "hub \(store.node)  database \(store.path)  last change #\(try store.lastSequence())  records with conflicts: \(try store.conflictedRecordCount())"
                )
                if let restored = try store.restoredFrom() {
                    print("restored from an earlier copy (database \(restored)); stations push and pull everything again with it")
                }
                print(
                    RecordOutput.table(
                        ["COLLECTION", "RECORDS", "DELETED"],
                        store.schema.collectionNames.map { [$0, String(counts[$0]?.alive ?? 0), String(counts[$0]?.deleted ?? 0)] }))
                if !tokenStations.isEmpty {
                    print("")
                    print(
                        RecordOutput.table(
                            ["TOKENS OF", "ACTIVE", "REVOKED"],
                            tokenStations.map { station, list in
                                [
                                    station, String(list.lazy.filter { $0.revokedAt == nil }.count),
                                    String(list.lazy.filter { $0.revokedAt != nil }.count),
                                ]
                            }))
                }
                if !activity.isEmpty {
                    print("")
                    print(
                        RecordOutput.table(
                            ["STATION", "LAST SEEN", "LAST PUSH", "PUSHED", "CLOCK"],
                            activity.map {
                                [$0.station, $0.lastSeenAt, $0.lastPushAt ?? "never", String($0.pushedChanges), ClockOffset.status($0.clockOffset)]
                            }))
                }
                if !writers.isEmpty {
                    print("")
                    print(
                        RecordOutput.table(
                            ["STATION", "DATABASE (WRITER)", "STATUS", "LAST PUSH", "NOTE"],
                            writers.map { w in
                                let note: String
                                switch w.status {
                                case .live: note = w.reason ?? ""
                                case .retired: note = "replaced by \(w.retiredBy ?? "?") at \(w.retiredAt ?? "?")"
                                case .refused: note = "\(w.refusals) push\(w.refusals == 1 ? "" : "es") refused, last at \(w.lastRefusedAt ?? "?")"
                                }
                                return [w.node, w.writer, w.status.rawValue, w.lastPushAt ?? "never", note]
                            }))
                }
            }
        }
    }
}
