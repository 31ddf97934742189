import Foundation
import StationCore
import StationStore
import StationSync
import Testing
@testable import StationSync

/// Review round 7, F4a: junk records a rogue LAN peer brought waited at every hub sync, forever,
/// with no remedy short of a new database. `station forget` forgets records only other nodes wrote.
@Suite struct ForgetTests {
    let net: Network
    init() throws { net = try Network(["hub", "a", "b", "rogue"]) }

    let asA = Principal(station: "a", read: .all, write: .all, relay: false)

    @Test("Junk a LAN peer brought is forgotten and stops waiting; a record with this station's writes is refused; the feed never reuses a sequence")
    func junkIsForgotten() async throws {
        for i in 0..<3 { try net["rogue"].put("cases", "junk\(i)", ["notes": "junk"]) }
        try await net.sync("a", with: "rogue")
        try net["a"].put("cases", "mine", ["notes": "mine"])
        try net["a"].put("cases", "junk2", ["notes": "edited here"])  // junk2 now holds a write of a's
        #expect(try await net.sync("a", with: "hub", principal: asA).waiting == 3)
        // b pulls everything from a on the LAN: its cursor reaches a's newest sequence.
        try await net.sync("b", with: "a")
        let keys = (0..<3).map { RecordKey("cases", "junk\($0)") }
        let before = try net["a"].everyRow()
        #expect { try net["a"].forget(keys) } throws: { "\($0)".contains("junk2 holds writes of this station") }
        #expect(try net["a"].everyRow() == before)
        let last = try net["a"].lastSequence()
        #expect(try net["a"].forget(Array(keys.prefix(2))).count == 2)
        #expect(try net["a"].record("cases", "junk0") == nil)
        #expect(try net["a"].lastSequence() == last)
        #expect(try await net.sync("a", with: "hub", principal: asA).waiting == 1)
        // a's next write gets a new sequence, past every one handed out: b's pull finds it.
        try net["a"].put("cases", "later", ["notes": "after forgetting"])
        #expect(try net["a"].lastSequence() == last + 1)
        try await net.sync("b", with: "a")
        #expect(try net["b"].record("cases", "later") != nil)
        #expect { try net["a"].forget([RecordKey("cases", "nope")]) } throws: { ($0 as? ForgetRefusal)?.code == .recordNotFound }
    }
}
