import Foundation
import StationCore
import StationStore
import StationSync
import Testing
@testable import StationSync

/// Only a database's local writes make its writer's dots (issue 12, review round 3, F4): a
/// version claiming writes of this database it never made (a rogue LAN peer writing in this
/// station's name, a crafted change file) is left out for that record, and the batch goes on.
@Suite struct OwnWritesTests {
    @Test("A version claiming writes of this database beyond what it made is left out; its own later writes go on")
    func aForgedWriteInThisDatabasesNameIsLeftOut() async throws {
        let dir = try TemporaryDirectory()
        let station = try StationStore.create(path: "\(dir.path)/civil.sqlite", node: "civil-affairs", schema: syncSchema, incarnation: "c1")
        let cases = try syncSchema.collection("cases")
        try station.put("cases", "k1", ["notes": "mine"])
        let held = try #require(try station.record("cases", "k1")?.state)
        var forged = held
        let t = HLCTimestamp(wall: 1_800_000_000_000, logical: 0)
        let dot = forged.clock.increment(station.writer)
        forged.fields["notes"] = [DottedValue(dot: dot, time: t, value: "forged in civil-affairs' name")]
        forged.existence = [DottedValue(dot: dot, time: t, value: true)]
        var unknown = RecordState()
        try unknown.put(["notes": "never written here"], by: station.writer, at: t, in: cases, id: "k2")
        var honest = RecordState()
        try honest.put(["notes": "from hotline"], by: "hotline", at: t, in: cases, id: "k3")
        let results = try await station.apply(
            [
                IncomingChange(collection: "cases", id: "k1", state: forged), IncomingChange(collection: "cases", id: "k2", state: unknown),
                IncomingChange(collection: "cases", id: "k3", state: honest),
            ],
            from: "rogue", cursor: nil, claim: nil, check: nil)
        #expect(results == [.collision, .collision, .created])
        #expect(try station.record("cases", "k1")?.state == held)
        #expect(try station.record("cases", "k2") == nil)
        // A version holding exactly this database's writes (its own, echoed back) merges as usual.
        #expect(
            try await station.apply([IncomingChange(collection: "cases", id: "k1", state: held)], from: "hub", cursor: nil, claim: nil, check: nil)
                == [
                    .unchanged
                ])
        try station.put("cases", "k1", ["notes": "mine, later"])
        #expect(try station.record("cases", "k1")?.state.view(in: cases, id: "k1").fields["notes"] == "mine, later")
    }
}
