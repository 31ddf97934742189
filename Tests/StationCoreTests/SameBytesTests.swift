import Testing
@testable import StationCore
import StationTestSupport

/// Issue 11, findings 1–3 in the core: ids and values are compared by their bytes, a dot names one
/// write (two contents under one dot are a collision, never "unchanged"), and equal values written
/// concurrently are no conflict.
@Suite struct SameBytesTests {
    let cases = Fixtures.cases
    let stock = Fixtures.stock

    /// Pairs that Swift's `String ==` calls equal and whose bytes differ.
    static let lookAlikes: [(String, String)] = [
        ("caf\u{E9}", "cafe\u{301}"),  // NFC and NFD
        ("\u{C5}sa", "\u{212B}sa"),  // Å: LATIN CAPITAL A WITH RING and ANGSTROM SIGN
        ("\u{F900}", "\u{8C48}"),  // a CJK compatibility ideograph and its unified one
    ]

    @Test func lookAlikeStringsAreDifferentValues() {
        for (a, b) in Self.lookAlikes {
            #expect(a == b)  // Swift's view: the reason for this test
            #expect(!a.hasSameBytes(as: b))
            #expect(JSONValue.string(a) != JSONValue.string(b))
            #expect(Set([JSONValue.string(a), .string(b)]).count == 2)
            #expect(ByteString(a) != ByteString(b))
            #expect(Set([RecordKey("cases", a), RecordKey("cases", b)]).count == 2)
            #expect(JSONValue.array([.string(a)]) != .array([.string(b)]))
            #expect(JSONValue.object(["k": .string(a)]) != .object(["k": .string(b)]))
        }
        #expect(JSONValue.double(0.0) != .double(-0.0))
        #expect(JSONValue.double(0.0).canonicalText != JSONValue.double(-0.0).canonicalText)
        #expect(JSONValue.double(1.5) == .double(1.5))
        #expect(JSONValue.object(["a": 1, "b": [true, nil]]) == .object(["b": [true, nil], "a": 1]))
        #expect(JSONValue.object(["a": 1, "b": 2]).hashValue == JSONValue.object(["b": 2, "a": 1]).hashValue)
    }

    @Test func aLookAlikeValueIsAChangeAndAConflict() async throws {
        for (a, b) in Self.lookAlikes {
            var s = RecordState()
            try s.put(["notes": .string(a)], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
            // The other spelling is a different value: written, not "unchanged".
            var t = s
            #expect(try t.put(["notes": .string(b)], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1") != nil)
            #expect(t.fields["notes"]?.first?.value == .string(b))
            // Written concurrently at two nodes, the two spellings stand as a conflict.
            var x = s, y = s
            try x.put(["status": .string(a)], by: "hotline", at: Fixtures.t(2), in: cases, id: "r1")
            try y.put(["status": .string(b)], by: "civil-affairs", at: Fixtures.t(3), in: cases, id: "r1")
            let view = x.merged(with: y).view(in: cases, id: "r1")
            #expect(view.conflicted)
            #expect(view.conflicts.count == 1)
        }
    }

    // MARK: - Equal values

    @Test func concurrentWritesOfTheSameValueAreNoConflict() async throws {
        var base = RecordState()
        try base.put(["status": "open", "notes": "n", "phone": "1"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
        var a = base, b = base
        try a.put(["status": "closed", "notes": "same note", "phone": 0.5], by: "hotline", at: Fixtures.t(10), in: cases, id: "r1")
        try b.put(["status": "closed", "notes": "same note", "phone": 0.5], by: "civil-affairs", at: Fixtures.t(20), in: cases, id: "r1")
        let m1 = a.merged(with: b), m2 = b.merged(with: a)
        #expect(m1 == m2)
        // The registers keep both writes (the causal history stays exact)…
        #expect(m1.fields["status"]?.count == 2)
        // …and reads show one value, with no conflict to resolve or acknowledge.
        let view = m1.view(in: cases, id: "r1")
        #expect(view.fields["status"] == "closed")
        #expect(view.conflicts.isEmpty)
        #expect(!view.conflicted)
        #expect(m1.status(in: cases).conflicts == 0)
        #expect(!m1.status(in: cases).conflicted)
        // A write over them makes no resolution entry: there was nothing to resolve.
        var later = m1
        try later.put(["status": "reopened"], by: "hotline", at: Fixtures.t(30), in: cases, id: "r1")
        #expect(later.resolutions.isEmpty)
        // A third, different value is a conflict again.
        var c = base
        try c.put(["status": "pending"], by: "labor", at: Fixtures.t(25), in: cases, id: "r1")
        #expect(m1.merged(with: c).view(in: cases, id: "r1").conflicted)
    }

    @Test func aPutOfWhatTheRecordShowsWritesNothing() async throws {
        var s = RecordState()
        try s.put(["status": "open", "notes": "n", "visits": 3], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
        let before = s
        #expect(try s.put(["status": "open"], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1") == nil)
        #expect(try s.put(["status": "open", "notes": "n", "visits": 3], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1") == nil)
        #expect(try s.put(["phone": nil], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1") == nil)  // unset stays unset
        #expect(try s.put([:], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1") == nil)
        #expect(s == before)
        // Anything different writes.
        #expect(try s.put(["visits": 4], by: "hotline", at: Fixtures.t(2), in: cases, id: "r1") != nil)
        #expect(try s.put(["notes": "n2"], by: "hotline", at: Fixtures.t(3), in: cases, id: "r1") != nil)
        // --force writes the same values as a new write.
        let clock = s.clock
        #expect(try s.put(["notes": "n2"], by: "hotline", at: Fixtures.t(4), in: cases, id: "r1", force: true) != nil)
        #expect(s.clock != clock)
    }

    @Test func aPutOfTheShownValuesStillWritesWhereItDecidesSomething() async throws {
        var base = RecordState()
        try base.put(["status": "open"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
        // A manual conflict: putting the value reads show (the winner) resolves it: a write.
        var a = base, b = base
        try a.put(["status": "x"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r1")
        try b.put(["status": "y"], by: "civil-affairs", at: Fixtures.t(20), in: cases, id: "r1")
        var m = a.merged(with: b)
        #expect(try m.put(["status": "y"], by: "hotline", at: Fixtures.t(30), in: cases, id: "r1") != nil)
        #expect(!m.view(in: cases, id: "r1").conflicted)
        // A deleted record: putting its old values recreates it.
        var d = base
        try d.delete(by: "hotline", at: Fixtures.t(5), in: cases, id: "r1")
        #expect(try d.put(["status": "open"], by: "hotline", at: Fixtures.t(6), in: cases, id: "r1") != nil)
        #expect(!d.isDeleted(in: cases))
        // A new record is always written, even with no fields.
        var e = RecordState()
        #expect(try e.put([:], by: "hotline", at: Fixtures.t(0), in: cases, id: "r2") != nil)
    }

    // MARK: - A dot names one write

    /// A station that wrote (hotline, 2) = "b", and the same station restored from before that
    /// write, writing (hotline, 2) = "c": two writes under one name.
    func twoWritesUnderOneDot() throws -> (RecordState, RecordState) {
        var base = RecordState()
        try base.put(["notes": "a"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
        var first = base, second = base
        try first.put(["notes": "b"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r1")
        try second.put(["notes": "c"], by: "hotline", at: Fixtures.t(20), in: cases, id: "r1")
        #expect(first.clock == second.clock)
        return (first, second)
    }

    @Test func twoContentsUnderOneDotAreACollisionAndChangeNothing() async throws {
        let (first, second) = try twoWritesUnderOneDot()
        var x = first
        #expect(x.merge(second) == .collision(Dot("hotline", 2)))
        #expect(x == first)
        var y = second
        #expect(y.merge(first) == .collision(Dot("hotline", 2)))
        #expect(y == second)
        // Content differs in time alone: still two writes.
        var base = RecordState()
        try base.put(["notes": "a"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
        var t1 = base, t2 = base
        try t1.put(["notes": "same"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r1")
        try t2.put(["notes": "same"], by: "hotline", at: Fixtures.t(11), in: cases, id: "r1")
        #expect(t1.collidingDot(with: t2) == Dot("hotline", 2))
        // The same state is no collision.
        #expect(first.collidingDot(with: first) == nil)
    }

    @Test func aCollisionIsFoundUnderLaterWritesToo() async throws {
        let (first, second) = try twoWritesUnderOneDot()
        // Another node wrote another field on top of the first version: the incoming state now
        // dominates, yet both hold (hotline, 2) on `notes` with different values.
        var later = first
        try later.put(["phone": "555"], by: "civil-affairs", at: Fixtures.t(30), in: cases, id: "r1")
        var s = second
        #expect(s.merge(later) == .collision(Dot("hotline", 2)))
        #expect(s == second)
        var l = later
        #expect(l.merge(second) == .collision(Dot("hotline", 2)))
        // Concurrent: a write of civil-affairs on the second version, the first version elsewhere.
        var other = second
        try other.put(["phone": "777"], by: "civil-affairs", at: Fixtures.t(40), in: cases, id: "r1")
        var f = first
        try f.put(["status": "open"], by: "labor", at: Fixtures.t(41), in: cases, id: "r1")
        #expect(f.clock.compare(other.clock) == .concurrent)
        #expect(f.collidingDot(with: other) == Dot("hotline", 2))
        #expect(f.merged(with: other) == f)
    }

    @Test func honestHistoriesNeverCollide() async throws {
        var rng = SeededRandom(seed: 11)
        let nodes: [NodeID] = ["hotline", "civil-affairs", "labor"]
        var replicas = Array(repeating: RecordState(), count: 3)
        for step in 0..<400 {
            let r = Int.random(in: 0..<3, using: &rng)
            if Bool.random(using: &rng) {
                let value: JSONValue = Bool.random(using: &rng) ? "same" : .string("v\(step)")
                try replicas[r].put(["notes": value, "status": value], by: nodes[r], at: Fixtures.t(UInt64(step)), in: cases, id: "r1")
            } else {
                let from = Int.random(in: 0..<3, using: &rng)
                let outcome = replicas[r].merge(replicas[from])
                if case .collision = outcome { Issue.record("collision at step \(step)") }
            }
        }
    }
}
