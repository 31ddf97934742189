import Foundation
import StationCore
import StationMemory
import StationStore
import StationSync
import StationTestSupport
import Testing

/// The sync engine and the serving side over each backend, and over the two mixed: stations
/// and a hub that write concurrently, sync through station tokens in random pairs and orders,
/// and converge with nothing lost; a refused push changes nothing.
@Suite("Sync engine on every backend")
struct EngineOnBackendsTests {
    /// The hub's backend and the stations' backends.
    static let layouts: [(hub: Backend, stations: Backend)] = [(.sqlite, .sqlite), (.memory, .memory), (.sqlite, .memory), (.memory, .sqlite)]

    static func token(_ station: String) -> Principal { Principal(station: station, read: .all, write: .all, relay: false) }

    @Test(arguments: 0..<layouts.count)
    func stationsAndAHubConvergeWithNothingLost(_ layout: Int) async throws {
        let (hubBackend, stationBackend) = Self.layouts[layout]
        let hubs = try Backend.Factory(hubBackend)
        let stationsFactory = try Backend.Factory(stationBackend)
        defer {
            hubs.keep()
            stationsFactory.keep()
        }
        let hub = try hubs.make("hub", incarnation: "h1")
        let names = ["hotline", "charity", "justice"]
        var stations: [String: any TestBackendStore] = [:]
        for (i, name) in names.enumerated() { stations[name] = try stationsFactory.make(NodeID(validatingNode: name), incarnation: "s\(i)") }
        var rng = SeededRandom(seed: 0x5EED + UInt64(layout))
        // The last note each station wrote to each record, by "station/id" (bytes: look-alike ids are different records).
        var written: [ByteString: JSONValue] = [:]
        for step in 0..<120 {
            let name = names[Int(rng.next() % UInt64(names.count))]
            let station = stations[name]!
            switch rng.next() % 3 {
            case 0, 1:
                let id = LookAlikeIDs.all[Int(rng.next() % UInt64(LookAlikeIDs.all.count))]
                let note = JSONValue.string("\(name) \(step)")
                try station.put("cases", id, ["notes": note, "visits": .int(Int64(step % 7))])
                try station.add("stock", id, field: "quantity", amount: 1)
                written[ByteString("\(name)/\(id)")] = note
            default:
                try await sync(station, with: hub, principal: Self.token(name), batchSize: 1 + Int(rng.next() % 7))
            }
        }
        // Two fault-free rounds: everybody has everything.
        for _ in 0..<2 {
            for name in names { try await sync(stations[name]!, with: hub, principal: Self.token(name), batchSize: 5) }
        }
        let expected = try hub.snapshot()
        for name in names {
            #expect(try stations[name]!.snapshot() == expected, "\(name) differs from the hub (\(hubBackend) hub, \(stationBackend) stations)")
        }
        // Every stock counter holds every increment; every record shows a note some station wrote.
        let c = try syncSchema.collection("cases")
        for id in LookAlikeIDs.all {
            guard let record = try hub.record("cases", id) else { continue }
            let notes = names.compactMap { written[ByteString("\($0)/\(id)")] }
            let shown = record.state.view(in: c, id: id).fields["notes"]
            #expect(
                shown.map { value in notes.contains { $0.canonicalText == value.canonicalText } } ?? false,
                "cases/\(id): \(String(describing: shown))")
        }
        // A push in another station's name is refused and changes nothing at the hub.
        let before = try hub.snapshot()
        let sequenceBefore = try await hub.lastSequence()
        try stations["hotline"]!.put("cases", "r1", ["notes": "posing"])
        await #expect(throws: (any Error).self) {
            try await sync(stations["hotline"]!, with: hub, principal: Self.token("charity"))
        }
        #expect(try hub.snapshot() == before)
        #expect(try await hub.lastSequence() == sequenceBefore)
    }
}
