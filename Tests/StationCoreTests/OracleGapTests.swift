import Testing
@testable import StationCore

/// Cases that `tools/mutate` found no test for (its survivors, issue 11): each test here fails
/// with the mutation named in its comment.
@Suite struct OracleGapTests {
    let cases = Fixtures.cases
    let stock = Fixtures.stock

    /// Mutation: a stocktake computes its increment from this node's own total instead of the
    /// total it sees (other nodes' increments ignored).
    @Test func aStocktakeSetsTheTotalThisNodeSeesIncludingOthersIncrements() async throws {
        var charity = RecordState()
        try charity.put(["quantity": 10], by: "charity", at: Fixtures.t(0), in: stock, id: "rice")
        var hotline = charity
        try hotline.add(5, to: "quantity", by: "hotline", at: Fixtures.t(1), in: stock, id: "rice")
        charity.merge(hotline)
        #expect(charity.counterTotal("quantity") == 15)
        try charity.put(["quantity": 20], by: "charity", at: Fixtures.t(2), in: stock, id: "rice")  // counted 20 on the shelf
        #expect(charity.counterTotal("quantity") == 20)
        #expect(charity.view(in: stock, id: "rice").fields["quantity"] == 20)
        // An increment made elsewhere meanwhile still adds up on top.
        try hotline.add(-2, to: "quantity", by: "hotline", at: Fixtures.t(3), in: stock, id: "rice")
        #expect(charity.merged(with: hotline).counterTotal("quantity") == 18)
    }

    /// Mutation: the join's hashed branch (registers of more than 64 value pairs) looks for the
    /// other side's dots in its own register.
    @Test func longRegistersJoinAsShortOnes() async throws {
        var base = RecordState()
        try base.put(["status": "open"], by: "hub", at: Fixtures.t(0), in: cases, id: "r")
        let nodes = (0..<12).map { NodeID(unchecked: "n\($0)") }
        var states: [RecordState] = []
        for (i, node) in nodes.enumerated() {
            var s = base
            try s.put(["status": .string("from \(node)")], by: node, at: Fixtures.t(UInt64(10 + i)), in: cases, id: "r")
            states.append(s)
        }
        var x = states[0]
        for s in states[1...8] { x.merge(s) }
        // n0 writes again after seeing its first value; y holds that and n3…n11.
        var again = states[0]
        try again.put(["status": "n0 again"], by: nodes[0], at: Fixtures.t(50), in: cases, id: "r")
        var y = again
        for s in states[3...11] { y.merge(s) }
        #expect(x.fields["status"]!.count * y.fields["status"]!.count > 64)  // the hashed branch
        let joined = x.merged(with: y)
        #expect(joined == y.merged(with: x))
        let dots = Set(joined.fields["status"]!.map(\.dot))
        #expect(!dots.contains(Dot(nodes[0], 1)), "n0's first value was superseded by its second")
        #expect(dots.contains(Dot(nodes[0], 2)))
        #expect(dots.count == 12)
    }

    /// Mutation: a collision is noticed only when the two values' times differ.
    @Test func aCollisionWithTheSameTimeAndAnotherValueIsNoticed() async throws {
        var base = RecordState()
        try base.put(["notes": "a"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r")
        var first = base, second = base
        try first.put(["notes": "b"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r")
        try second.put(["notes": "c"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r")
        try first.put(["phone": "1"], by: "civil-affairs", at: Fixtures.t(20), in: cases, id: "r")  // clocks now differ
        #expect(second.collidingDot(with: first) == Dot("hotline", 2))
        var s = second
        #expect(s.merge(first) == .collision(Dot("hotline", 2)))
    }

    /// Mutation: equal clocks with different content, where no register holds a common dot
    /// differently, pass as unchanged.
    @Test func equalClocksWithOtherContentAreACollision() async throws {
        var base = RecordState()
        try base.put(["notes": "a"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r")
        var a = base, b = base
        try a.put(["notes": "x"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r")
        try b.put(["phone": "y"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r")
        #expect(a.clock == b.clock)
        #expect(a.collidingDot(with: b) != nil)
        var m = a
        if case .collision = m.merge(b) {} else { Issue.record("merged two different writes under one dot") }
        #expect(m == a)
    }

    @Test("A local write that would make a record name more than 1024 writers is refused, changing nothing")
    func aWriteBeyondTheWriterLimitIsRefused() async throws {
        let c = Fixtures.cases
        var state = RecordState()
        for i in 0..<RecordState.maxClockEntries {
            try state.put(["notes": .string("n\(i)")], by: NodeID(node: "usb", incarnation: "i\(i)"), at: Fixtures.t(UInt64(i)), in: c, id: "r")
        }
        let before = state
        let error = #expect(throws: CoreError.self) {
            try state.put(["notes": "one too many"], by: "usb.extra", at: Fixtures.t(5_000), in: c, id: "r")
        }
        #expect(error?.code == .tooManyWriters)
        #expect(state == before)
        #expect(throws: CoreError.self) { try state.add(1, to: "visits", by: "usb.extra", at: Fixtures.t(5_001), in: c, id: "r") }
        #expect(throws: CoreError.self) { try state.delete(by: "usb.extra", at: Fixtures.t(5_002), in: c, id: "r") }
        // A writer it names already may go on; the state can still be read.
        try state.put(["notes": "still fine"], by: "usb.i3", at: Fixtures.t(5_003), in: c, id: "r")
        #expect((try? RecordState(jsonText: state.canonicalText, collection: c)) == state)
    }
}
