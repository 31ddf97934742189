// Local write throughput against its floor, measured in the same run on the same machine:
// a plain GRDB insert of the same rows (same fields as JSON, same primary key, same batching,
// same database configuration) into a plain table.
//
//   swift run -c release station-bench [--records N] [--batch B] [--rounds R]
//   swift run -c release station-bench --queries 100000,1000000 [--runs N]
//
// --queries: a filtered, sorted, limited query on an indexed field (charity_stock.quantity) at
// each size, p50 and p99 of --runs runs, beside the same query on a field with no index
// (pointsPrice, read by a scan).
import Foundation
import GRDB
import StationCore
import StationSeeds
import StationStore
import StationSync

struct Options {
    var records = 100_000
    var batch = 1000
    var rounds = 3
    var querySizes: [Int] = []
    var runs = 200
    init() {
        var args = CommandLine.arguments.dropFirst().makeIterator()
        while let a = args.next() {
            switch a {
            case "--records": records = Int(args.next() ?? "") ?? records
            case "--batch": batch = Int(args.next() ?? "") ?? batch
            case "--rounds": rounds = Int(args.next() ?? "") ?? rounds
            case "--queries": querySizes = (args.next() ?? "").split(separator: ",").compactMap { Int($0) }
            case "--runs": runs = Int(args.next() ?? "") ?? runs
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
            "itemName": .string("Item \(i) rice 5kg bag"), "category": .string(["grain", "oil", "clothing", "daily"][i % 4]),
            "unit": "bag", "quantity": .int(Int64(i % 50)), "pointsPrice": .int(Int64(10 + i % 90)),
            "shelf": .string("Shelf \(i % 40)"),
        ]
    )
}
let schema = DefaultSchema.schema
/// The same schema keeping no history: the local-write figure of the history entries (and the
/// authors, written only with them here) beside the one without.
let withoutHistory: Schema = {
    var s = DefaultSchema.schema
    for name in s.collectionNames { s.collections[name]!.historyDays = 0 }
    return s
}()
/// The same schema with no index, no search fields and no history: a write's own cost.
let unindexed: Schema = {
    var s = withoutHistory
    for name in s.collectionNames {
        s.collections[name]!.indexes = []
        s.collections[name]!.search = []
    }
    return s
}()
/// The person the writes name, where they name one.
let clerk = "Li Na"

if !options.querySizes.isEmpty {
    try runQueries()
    exit(0)
}
let rows = (0..<options.records).map(row)

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

func stationPut(_ n: Int, update: Bool = false, schema: Schema = schema, author: String? = clerk) throws -> Double {
    let store = try StationStore.create(path: "\(directory)/station-\(n).sqlite", node: "charity", schema: schema)
    let load = {
        for start in stride(from: 0, to: rows.count, by: options.batch) {
            try store.write { tx in
                for (id, fields) in rows[start..<min(start + options.batch, rows.count)] {
                    // Forced: the update round puts the same values again, which would otherwise
                    // be "unchanged" and write nothing; forced, it is a full write as before.
                    try tx.put("charity_stock", id, fields, force: true, author: author)
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
var withoutIndexes: [Double] = []
var noHistory: [Double] = []
for round in 0..<options.rounds {
    plain.append(try plainInsert(round))
    station.append(try stationPut(round, update: false))
    updates.append(try stationPut(100 + round, update: true))
    noHistory.append(try stationPut(300 + round, update: false, schema: withoutHistory, author: nil))
    withoutIndexes.append(try stationPut(200 + round, update: false, schema: unindexed, author: nil))
}
func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }
let p = median(plain)
let s = median(station)
let u = median(updates)
let h = median(noHistory)
let w = median(withoutIndexes)
let n = Double(options.records)
func rate(_ seconds: Double) -> String { String(format: "%.0f records/s", n / seconds) }
print("local writes: \(options.records) records, batches of \(options.batch), median of \(options.rounds) rounds")
print("  plain GRDB insert (floor)   \(String(format: "%.3f", p)) s  \(rate(p))")
print(
    "  station put, new records    \(String(format: "%.3f", s)) s  \(rate(s))  ratio \(String(format: "%.2f", s / p))x  (index, search, history, author)"
)
print("  station put, existing ones  \(String(format: "%.3f", u)) s  \(rate(u))  ratio \(String(format: "%.2f", u / p))x")
print("  station put, no history     \(String(format: "%.3f", h)) s  \(rate(h))  ratio \(String(format: "%.2f", h / p))x  (index, search)")
print(
    "  station put, no index rows  \(String(format: "%.3f", w)) s  \(rate(w))  ratio \(String(format: "%.2f", w / p))x  (no index, search or history)"
)
let json: JSONValue = .array([
    [
        "name": "local writes (new records)", "value": .double(n / s), "unit": "records/s", "floor": .double(n / p),
        "ratio": .double(s / p), "goal": "<= 1.3x the plain insert", "met": .bool(s / p <= 1.3),
    ],
    [
        "name": "local writes (updates of existing records)", "value": .double(n / u), "unit": "records/s", "floor": .double(n / p),
        "ratio": .double(u / p), "goal": "report", "met": .null,
    ],
    [
        "name": "local writes (new records, no history or author)", "value": .double(n / h), "unit": "records/s", "floor": .double(n / p),
        "ratio": .double(h / p), "goal": "report", "met": .null,
    ],
    [
        "name": "local writes (new records, no index, search or history rows)", "value": .double(n / w), "unit": "records/s", "floor": .double(n / p),
        "ratio": .double(w / p), "goal": "report", "met": .null,
    ],
])
print(json.canonicalText)

/// The query figures: for each size, a store of that many stock items, then the indexed query and
/// the same on an unindexed field, each timed in process (what the API and the page pay).
func runQueries() throws {
    var out: [JSONValue] = []
    var indexedP50: [Int: Double] = [:]
    for size in options.querySizes {
        let store = try StationStore.create(path: "\(directory)/query-\(size).sqlite", node: "charity", schema: schema)
        let load = try time {
            for start in stride(from: 0, to: size, by: 5000) {
                try store.write { tx in
                    for i in start..<min(start + 5000, size) {
                        let (id, fields) = row(i)
                        try tx.put("charity_stock", id, fields)
                    }
                }
            }
        }
        FileHandle.standardError.write(Data("loaded \(size) records in \(String(format: "%.1f", load)) s\n".utf8))
        func measure(_ text: String, sort: String, runs: Int) throws -> (p50: Double, p99: Double, plan: String, count: Int) {
            var query = RecordQuery(conditions: [try RecordQuery.Condition(parsing: text)])
            query.sortField = sort
            var times: [Double] = []
            var plan = ""
            var count = 0
            for _ in 0..<runs {
                var page: QueryPage?
                times.append(try time { page = try store.query("charity_stock", query, limit: 50) })
                plan = page!.plan
                count = page!.records.count
            }
            times.sort()
            return (times[times.count / 2], times[min(times.count - 1, times.count * 99 / 100)], plan, count)
        }
        let indexed = try measure("quantity<5", sort: "quantity", runs: options.runs)
        let scan = try measure("pointsPrice<15", sort: "pointsPrice", runs: 3)
        indexedP50[size] = indexed.p50
        var searchTimes: [Double] = []
        var searchPlan = ""
        var hits = 0
        for run in 0..<options.runs {
            let name = "Item \((run * 7919) % size) rice"
            var page: QueryPage?
            searchTimes.append(try time { page = try store.search("charity_stock", name, limit: 50) })
            searchPlan = page!.plan
            hits += page!.records.count
        }
        searchTimes.sort()
        let searchP50 = searchTimes[searchTimes.count / 2]
        let searchP99 = searchTimes[min(searchTimes.count - 1, searchTimes.count * 99 / 100)]
        print("query at \(size) records, limit 50:")
        print(
            "  --where quantity<5 --sort quantity      p50 \(String(format: "%.2f", indexed.p50 * 1000)) ms  p99 \(String(format: "%.2f", indexed.p99 * 1000)) ms  (\(indexed.plan); \(indexed.count) records)"
        )
        print("  --where pointsPrice<15 --sort pointsPrice p50 \(String(format: "%.1f", scan.p50 * 1000)) ms  (\(scan.plan))")
        out.append([
            "name": .string("query on an indexed field, \(size) records (p50)"), "value": .double(indexed.p50 * 1000), "unit": "ms",
            "p99": .double(indexed.p99 * 1000), "goal": size >= 1_000_000 ? "< 5 ms" : "report",
            "met": size >= 1_000_000 ? .bool(indexed.p50 < 0.005) : .null,
        ])
        out.append([
            "name": .string("the same query on a field with no index, \(size) records (p50)"), "value": .double(scan.p50 * 1000), "unit": "ms",
        ])
        print(
            "  search \"Item N rice\"                     p50 \(String(format: "%.2f", searchP50 * 1000)) ms  p99 \(String(format: "%.2f", searchP99 * 1000)) ms  (\(searchPlan); \(hits) hits in \(options.runs) searches)"
        )
        out.append([
            "name": .string("search for a name, \(size) records (p50)"), "value": .double(searchP50 * 1000), "unit": "ms",
            "p99": .double(searchP99 * 1000),
            "goal": size >= 1_000_000 ? "< 20 ms" : "report", "met": size >= 1_000_000 ? .bool(searchP50 < 0.020) : .null,
        ])
        try? FileManager.default.removeItem(atPath: "\(directory)/query-\(size).sqlite")
    }
    if let small = options.querySizes.min(), let big = options.querySizes.max(), small != big, let a = indexedP50[small], let b = indexedP50[big] {
        print("  indexed query \(big) vs \(small) records: ratio \(String(format: "%.2f", b / a))x (goal <= 1.5x)")
        out.append([
            "name": .string("indexed query, \(big) vs \(small) records"), "value": .double(b / a), "unit": "x", "goal": "<= 1.5x",
            "met": .bool(b / a <= 1.5),
        ])
    }
    print(JSONValue.array(out).canonicalText)
}
