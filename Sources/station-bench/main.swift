// Local write throughput against its floor, measured in the same run on the same machine:
// a plain GRDB insert of the same rows (same fields as JSON, same primary key, same batching,
// same database configuration) into a plain table.
//
//   swift run -c release station-bench [--records N] [--batch B] [--rounds R]
import Foundation
import GRDB
import StationCore
import StationSeeds
import StationStore

struct Options {
    var records = 100_000
    var batch = 1000
    var rounds = 3
    init() {
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let a = args.next() {
            switch a {
            case "--records": records = Int(args.next() ?? "") ?? records
            case "--batch": batch = Int(args.next() ?? "") ?? batch
            case "--rounds": rounds = Int(args.next() ?? "") ?? rounds
            default: FileHandle.standardError.write(Data("unknown argument \(a)\n".utf8)); exit(64)
            }
        }
    }
}

let options = Options()
let directory = NSTemporaryDirectory() + "stationsync-bench-\(UUID().uuidString)"
try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: directory) }

/// The rows: charity-supermarket stock items with a counter, strings and integers.
func row(_ i: Int) -> (String, [String: JSONValue]) {
    (
        "stk-\(i)",
        [
            "name": .string("Item \(i) rice 5kg bag"), "category": .string(["grain", "oil", "clothing", "daily"][i % 4]),
            "unit": "bag", "quantity": .int(Int64(i % 50)), "pointsPrice": .int(Int64(10 + i % 90)),
            "location": .string("Shelf \(i % 40)"),
        ]
    )
}
let rows = (0..<options.records).map(row)
let schema = DefaultSchema.schema

func time(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func plainInsert(_ n: Int) throws -> Double {
    var config = Configuration()
    config.busyMode = .timeout(10)
    let pool = try DatabasePool(path: "\(directory)/plain-\(n).sqlite", configuration: config)
    // Commits as durable as the station's (see StationStore.open).
    try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
    try pool.write { db in
        try db.execute(
            sql: "CREATE TABLE plain (collection TEXT NOT NULL, id TEXT NOT NULL, fields TEXT NOT NULL, PRIMARY KEY (collection, id)) WITHOUT ROWID")
    }
    return try time {
        for start in stride(from: 0, to: rows.count, by: options.batch) {
            try pool.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    let statement = try db.cachedStatement(sql: "INSERT INTO plain (collection, id, fields) VALUES (?, ?, ?)")
                    for (id, fields) in rows[start..<min(start + options.batch, rows.count)] {
                        try statement.execute(arguments: ["charity_stock", id, JSONValue.object(fields).canonicalText])
                    }
                    return .commit
                }
            }
        }
    }
}

func stationPut(_ n: Int, update: Bool = false) throws -> Double {
    let store = try StationStore.create(path: "\(directory)/station-\(n).sqlite", node: "charity", schema: schema)
    let load = {
        for start in stride(from: 0, to: rows.count, by: options.batch) {
            try store.write { tx in
                for (id, fields) in rows[start..<min(start + options.batch, rows.count)] {
                    // Forced: the update round puts the same values again, which would otherwise
                    // be "unchanged" and write nothing; forced, it is a full write as before.
                    try tx.put("charity_stock", id, fields, force: true)
                }
            }
        }
    }
    let first = try time(load)
    guard update else { return first }
    return try time(load)  // the same puts again, on existing records
}

var plain: [Double] = []
var station: [Double] = []
var updates: [Double] = []
for round in 0..<options.rounds {
    plain.append(try plainInsert(round))
    station.append(try stationPut(round, update: false))
    updates.append(try stationPut(100 + round, update: true))
}
let p = plain.sorted()[plain.count / 2]
let s = station.sorted()[station.count / 2]
let u = updates.sorted()[updates.count / 2]
let n = Double(options.records)
func rate(_ seconds: Double) -> String { String(format: "%.0f records/s", n / seconds) }
print("local writes: \(options.records) records, batches of \(options.batch), median of \(options.rounds) rounds")
print("  plain GRDB insert (floor)   \(String(format: "%.3f", p)) s  \(rate(p))")
print("  station put, new records    \(String(format: "%.3f", s)) s  \(rate(s))  ratio \(String(format: "%.2f", s / p))x")
print("  station put, existing ones  \(String(format: "%.3f", u)) s  \(rate(u))  ratio \(String(format: "%.2f", u / p))x")
let json: JSONValue = .array([
    [
        "name": "local writes (new records)", "value": .double(n / s), "unit": "records/s", "floor": .double(n / p),
        "ratio": .double(s / p), "goal": "<= 1.3x the plain insert", "met": .bool(s / p <= 1.3),
    ],
    [
        "name": "local writes (updates of existing records)", "value": .double(n / u), "unit": "records/s", "floor": .double(n / p),
        "ratio": .double(u / p), "goal": "report", "met": .null,
    ],
])
print(json.canonicalText)
