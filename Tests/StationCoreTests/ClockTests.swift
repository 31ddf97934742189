import Testing
@testable import StationCore

@Suite struct VectorClockTests {
    @Test func comparesCausalHistories() {
        let a = VectorClock(["a": 2, "b": 1])
        #expect(a.compare(VectorClock(["a": 2, "b": 1])) == .equal)
        #expect(a.compare(VectorClock(["a": 2, "b": 2])) == .before)
        #expect(a.compare(VectorClock(["a": 1])) == .after)
        #expect(a.compare(VectorClock(["a": 1, "c": 1])) == .concurrent)
        #expect(VectorClock().compare(a) == .before)
        #expect(a.compare(VectorClock()) == .after)
    }

    @Test func mergeIsPointwiseMax() {
        let m = VectorClock(["a": 2, "b": 1]).merged(with: VectorClock(["b": 3, "c": 1]))
        #expect(m == VectorClock(["a": 2, "b": 3, "c": 1]))
    }

    @Test func zeroEntriesAreNotStored() {
        #expect(VectorClock(["a": 0, "b": 1]) == VectorClock(["b": 1]))
    }

    @Test func incrementGivesTheNextDot() {
        var c = VectorClock(["a": 2])
        #expect(c.increment("a") == Dot("a", 3))
        #expect(c.increment("b") == Dot("b", 1))
        #expect(c.contains(Dot("a", 3)) && !c.contains(Dot("a", 4)))
    }

    @Test func nodeNamesAreValidated() {
        #expect(throws: CoreError.self) { try NodeID(validating: "Hotline") }
        #expect(throws: CoreError.self) { try NodeID(validating: "") }
        #expect(throws: CoreError.self) { try NodeID(validating: String(repeating: "a", count: 65)) }
        #expect((try? NodeID(validating: "civil-affairs-2")) != nil)
    }
}

@Suite struct HybridLogicalClockTests {
    @Test func neverGoesBackwardsWhenTheWallClockDoes() {
        var hlc = HybridLogicalClock()
        let a = hlc.now(physical: 10_000)
        let b = hlc.now(physical: 5_000)  // clock set back
        let c = hlc.now(physical: 10_000)
        #expect(a < b && b < c)
        #expect(b.wall == 10_000 && b.logical == 1)
    }

    /// A station whose clock ran a year ahead, then was put right: had its clock gone on from its
    /// last timestamp, every write it made for a year would be refused by its hub (clock_drift).
    @Test func startsAgainFromTheWallClockWhenItsLastTimeIsFarAhead() {
        var hlc = HybridLogicalClock(maxForwardDrift: 60_000)
        let wrong = hlc.now(physical: 1_000 + 365 * 86_400_000)
        let right = hlc.now(physical: 1_000)
        #expect(wrong.wall == 1_000 + 365 * 86_400_000 && right.wall == 1_000 && right.logical == 0)
        // Within the drift it never goes back.
        _ = hlc.now(physical: 50_000)
        #expect(hlc.now(physical: 1_000).wall == 50_000)
    }

    @Test func followsRemoteTimesSoLaterWritesSortAfter() {
        var hlc = HybridLogicalClock()
        _ = hlc.now(physical: 1_000)
        let remote = HLCTimestamp(wall: 50_000, logical: 7)
        let adopted = hlc.observe(remote, physical: 1_000)
        #expect(adopted)
        let next = hlc.now(physical: 1_001)  // this machine's clock runs behind
        #expect(next > remote)
    }

    @Test func refusesToJumpToAFarFutureRemoteClock() {
        var hlc = HybridLogicalClock(maxForwardDrift: 60_000)
        _ = hlc.now(physical: 1_000)
        let future = HLCTimestamp(wall: 1_000 + 10 * 60_000, logical: 0)
        let adopted = hlc.observe(future, physical: 1_000)
        #expect(!adopted)
        #expect(hlc.now(physical: 1_001).wall == 1_001)
    }

    @Test func logicalOverflowCarriesIntoTheWallTime() {
        var hlc = HybridLogicalClock(last: HLCTimestamp(wall: 5, logical: .max))
        let t = hlc.now(physical: 1)
        #expect(t.wall == 6 && t.logical == 0)
    }
}
