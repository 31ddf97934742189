// A charity desk's own program: opens (or makes) its station, writes as its clerk, syncs with the
// hub and reads what reads show. Usage: Desk DATABASE HUB_URL TOKEN
import Foundation
import StationCore
import StationHTTP
import StationSeeds
import StationStore
import StationSync

let arguments = CommandLine.arguments
guard arguments.count == 4 else { fatalError("usage: Desk DATABASE HUB_URL TOKEN") }
let (path, hub, token) = (arguments[1], arguments[2], arguments[3])

// The station: a SQLite file holding records with their clocks; made once, opened after.
let store =
    FileManager.default.fileExists(atPath: path)
    ? try StationStore.open(path: path)
    : try StationStore.create(path: path, node: "charity", schema: DefaultSchema.schema, incarnation: StationStore.makeIncarnation())

// Local writes work offline; each names who made it. Two bags handed out at each run.
if try store.record("charity_stock", "stk-0042") == nil {
    try store.put("charity_stock", "stk-0042", ["itemName": "Rice, 10 kg bag", "quantity": 20], author: "Li Na")
}
try store.add("charity_stock", "stk-0042", field: "quantity", amount: -2, author: "Li Na")

// One sync with the hub: push what is new here, pull what is new there, merged as the CLI does.
let transport = try HTTPSyncTransport(peer: hub, token: token, caller: store.writer.rawValue)
let summary = try await SyncEngine(storage: store, transport: transport).run()
print("pushed \(summary.pushed), pulled \(summary.pulled)")

// Reads show the merged view; queries use the collection's indexes.
let low = try store.query("charity_stock", RecordQuery(conditions: [try RecordQuery.Condition(parsing: "quantity<50")]))
for record in low.records {
    print(record.id, record.view.fields["itemName"]?.canonicalText ?? "-", record.view.fields["quantity"]?.canonicalText ?? "-")
}
