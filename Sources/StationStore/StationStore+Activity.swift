import Foundation
import GRDB
import StationCore

/// What a station was last seen doing at this node.
public struct StationActivity: Sendable, Equatable {
    public var station: String
    public var lastSeenAt: String
    public var lastPullAt: String?
    /// The sequence of this node's feed the station had pulled through at its last pull.
    public var pulledThrough: Int64
    public var lastPushAt: String?
    /// Changes it has pushed here, in all.
    public var pushedChanges: Int64
}

extension StationStore {
    /// Notes that `station` pulled through `pulledThrough`, or pushed `pushed` changes. A pull
    /// that moved nothing within a minute of the last one writes nothing, so frequent no-op
    /// syncs do not turn into writes at the hub.
    public func noteActivity(station: String, pulledThrough: Int64? = nil, pushed: Int? = nil) throws {
        if (pushed ?? 0) == 0, let pulledThrough {
            let unchanged = try read { db in
                try Bool.fetchOne(
                    db,
                    sql: "SELECT pulledThrough = ? AND lastSeenAt > datetime('now', '-60 seconds') FROM station_activity WHERE station = ?",
                    arguments: [pulledThrough, station]) ?? false
            }
            if unchanged { return }
        }
        // Grouped with the pushes arriving at the same time: no commit of its own.
        try writeGrouped { tx in
            let db = tx.db
            try db.execute(
                sql: """
                    INSERT INTO station_activity (station, lastSeenAt) VALUES (?, datetime('now'))
                    ON CONFLICT(station) DO UPDATE SET lastSeenAt = excluded.lastSeenAt
                    """,
                arguments: [station])
            if let pulledThrough {
                try db.execute(
                    sql: "UPDATE station_activity SET lastPullAt = datetime('now'), pulledThrough = ? WHERE station = ?",
                    arguments: [pulledThrough, station])
            }
            if let pushed {
                try db.execute(
                    sql: "UPDATE station_activity SET lastPushAt = datetime('now'), pushedChanges = pushedChanges + ? WHERE station = ?",
                    arguments: [pushed, station])
            }
        }
    }

    /// Every station seen here, by name.
    public func stationActivity() throws -> [StationActivity] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM station_activity ORDER BY station").map { row in
                StationActivity(
                    station: row["station"], lastSeenAt: row["lastSeenAt"], lastPullAt: row["lastPullAt"],
                    pulledThrough: row["pulledThrough"], lastPushAt: row["lastPushAt"], pushedChanges: row["pushedChanges"])
            }
        }
    }

    /// How many changes in this node's feed come after `seq` (what a station that pulled through
    /// `seq` has yet to receive, at most).
    public func changeCount(after seq: Int64) throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE seq > ?", arguments: [seq]) ?? 0 }
    }
}
