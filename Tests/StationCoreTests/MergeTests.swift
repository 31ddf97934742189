import Testing
@testable import StationCore

/// The merge rule, case by case, with no database.
@Suite struct MergeTests {
    let cases = Fixtures.cases
    let stock = Fixtures.stock

    func created(
        _ values: [String: JSONValue], by node: NodeID = "hotline", at ms: UInt64 = 0, in c: CollectionSchema? = nil
    )
        throws -> RecordState
    {
        var s = RecordState()
        try s.put(values, by: node, at: Fixtures.t(ms), in: c ?? cases, id: "r1")
        return s
    }

    @Test func aLocalWriteIncrementsItsNodeAndStampsItsDot() async throws {
        var s = try created(["notes": "a"])
        try s.put(["phone": "555"], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1")
        #expect(s.clock == VectorClock(["hotline": 2]))
        #expect(s.fields["notes"]?.map(\.dot) == [Dot("hotline", 1)])
        #expect(s.fields["phone"]?.map(\.dot) == [Dot("hotline", 2)])
        #expect(s.existence.map(\.dot) == [Dot("hotline", 2)])
    }

    @Test func dominatedIncomingIsIgnoredAndDominatingIsTakenWhole() async throws {
        let old = try created(["notes": "a"])
        var new = old
        try new.put(["notes": "b"], by: "civil-affairs", at: Fixtures.t(5), in: cases, id: "r1")
        var local = new
        #expect(local.merge(old) == .unchanged)
        #expect(local == new)
        var behind = old
        #expect(behind.merge(new) == .fastForward)
        #expect(behind == new)
        var same = new
        #expect(same.merge(new) == .unchanged)
    }

    @Test func concurrentEditsOfDifferentFieldsAreNotConflicts() async throws {
        let base = try created(["notes": "n0", "phone": "p0"])
        var a = base, b = base
        try a.put(["notes": "n1"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r1")
        try b.put(["phone": "p1"], by: "civil-affairs", at: Fixtures.t(20), in: cases, id: "r1")
        let m = a.merged(with: b)
        let view = m.view(in: cases, id: "r1")
        #expect(view.fields == ["notes": "n1", "phone": "p1"])
        #expect(view.conflicts.isEmpty)
        #expect(!view.conflicted)
        #expect(m.clock == VectorClock(["hotline": 2, "civil-affairs": 1]))
    }

    @Test func concurrentLWWEditsShowTheLatestAndKeepTheLoser() async throws {
        let base = try created(["notes": "n0"])
        var a = base, b = base
        try a.put(["notes": "from hotline"], by: "hotline", at: Fixtures.t(30), in: cases, id: "r1")
        try b.put(["notes": "from civil"], by: "civil-affairs", at: Fixtures.t(20), in: cases, id: "r1")
        let m1 = a.merged(with: b), m2 = b.merged(with: a)
        #expect(m1 == m2)
        let view = m1.view(in: cases, id: "r1")
        #expect(view.fields["notes"] == "from hotline")
        #expect(!view.conflicted)
        #expect(view.conflicts.count == 1)
        let c = try #require(view.conflicts.first)
        #expect(c.policy == .lww && c.automatic)
        #expect(c.values.map(\.value) == ["from hotline", "from civil"])
    }

    @Test func lwwTiesAreBrokenByNodeName() async throws {
        let base = try created(["notes": "n0"])
        var a = base, b = base
        try a.put(["notes": "A"], by: "alpha", at: Fixtures.t(30), in: cases, id: "r1")
        try b.put(["notes": "B"], by: "beta", at: Fixtures.t(30), in: cases, id: "r1")
        #expect(a.merged(with: b).view(in: cases, id: "r1").fields["notes"] == "B")
    }

    @Test func manualConflictsFlagTheRecordUntilAWriteThatSawBoth() async throws {
        let base = try created(["status": "open"])
        var a = base, b = base
        try a.put(["status": "closed"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r1")
        try b.put(["status": "referred"], by: "civil-affairs", at: Fixtures.t(20), in: cases, id: "r1")
        var m = a.merged(with: b)
        var view = m.view(in: cases, id: "r1")
        #expect(view.conflicted)
        #expect(view.fields["status"] == "referred")
        #expect(view.conflicts.first?.automatic == false)
        #expect(Set(m.fields["status"]!.map(\.value)) == ["closed", "referred"])
        // The resolution is an ordinary write that has seen both values.
        try m.put(["status": "closed"], by: "center", at: Fixtures.t(5), in: cases, id: "r1")
        view = m.view(in: cases, id: "r1")
        #expect(!view.conflicted && view.conflicts.isEmpty)
        #expect(view.fields["status"] == "closed")
        // It supersedes both on a replica that still holds the conflict.
        var other = a.merged(with: b)
        other.merge(m)
        #expect(other == m)
    }

    @Test func countersAddUp() async throws {
        // 10, then +5 at one station and -2 at another concurrently: 13 everywhere.
        let base = try created(["quantity": 10, "name": "rice"], by: "charity", in: stock)
        var a = base, b = base
        try a.add(5, to: "quantity", by: "charity", at: Fixtures.t(1), in: stock, id: "r1")
        try b.add(-2, to: "quantity", by: "hotline", at: Fixtures.t(2), in: stock, id: "r1")
        #expect(a.merged(with: b).view(in: stock, id: "r1").fields["quantity"] == 13)
        #expect(b.merged(with: a).view(in: stock, id: "r1").fields["quantity"] == 13)
        #expect(a.merged(with: b).view(in: stock, id: "r1").conflicts.isEmpty)
    }

    @Test func puttingACounterIsAStocktakeThatConcurrentAddsStillChange() async throws {
        let base = try created(["quantity": 3], by: "charity", in: stock)
        var a = base, b = base
        try a.put(["quantity": 10], by: "charity", at: Fixtures.t(1), in: stock, id: "r1")  // counted 10
        try b.add(-2, to: "quantity", by: "hotline", at: Fixtures.t(2), in: stock, id: "r1")  // sold 2 meanwhile
        #expect(a.merged(with: b).view(in: stock, id: "r1").fields["quantity"] == 8)
    }

    @Test func counterFieldsRefuseNonIntegers() async throws {
        var s = RecordState()
        #expect(throws: CoreError.self) {
            try s.put(["quantity": "ten"], by: "charity", at: Fixtures.t(0), in: stock, id: "r1")
        }
        #expect(s.isEmpty)
        #expect(throws: CoreError.self) {
            try s.add(1, to: "name", by: "charity", at: Fixtures.t(0), in: stock, id: "r1")
        }
        #expect(s.isEmpty)
    }

    @Test func updateWinsOverAConcurrentDeleteAndTheDeleteIsKept() async throws {
        let base = try created(["notes": "n0", "phone": "p0"])
        var a = base, b = base
        try a.delete(by: "hotline", at: Fixtures.t(50), in: cases, id: "r1")
        try b.put(["notes": "n1"], by: "civil-affairs", at: Fixtures.t(10), in: cases, id: "r1")
        let m = a.merged(with: b)
        let view = m.view(in: cases, id: "r1")
        #expect(!view.deleted)
        #expect(view.fields == ["notes": "n1", "phone": "p0"])
        let c = try #require(view.conflicts.first { $0.field == Conflict.existenceField })
        #expect(c.policy == .updateWins)
        #expect(c.values.map(\.value) == [false, true])
        #expect(c.values[1].dot == Dot("hotline", 2))
    }

    @Test func deleteWinsWhenTheCollectionSaysSoAndTheUpdateIsKept() async throws {
        let base = try created(["name": "rice", "quantity": 4], by: "charity", in: stock)
        var a = base, b = base
        try a.delete(by: "charity", at: Fixtures.t(5), in: stock, id: "r1")
        try b.put(["name": "brown rice"], by: "hotline", at: Fixtures.t(10), in: stock, id: "r1")
        let view = a.merged(with: b).view(in: stock, id: "r1")
        #expect(view.deleted)
        #expect(view.fields["name"] == "brown rice")  // the update survives in the tombstone
        #expect(view.conflicts.contains { $0.field == Conflict.existenceField && $0.policy == .deleteWins })
    }

    @Test func recreatingADeletedRecordStartsFresh() async throws {
        var s = try created(["notes": "old", "visits": 4])
        try s.delete(by: "hotline", at: Fixtures.t(1), in: cases, id: "r1")
        #expect(s.view(in: cases, id: "r1").deleted)
        try s.put(["phone": "1"], by: "hotline", at: Fixtures.t(2), in: cases, id: "r1")
        let view = s.view(in: cases, id: "r1")
        #expect(!view.deleted)
        #expect(view.fields == ["phone": "1", "visits": 0])
    }

    @Test func deletingTwiceWritesNothingAndAddToADeletedRecordIsRefused() async throws {
        var s = try created(["visits": 1])
        #expect(try s.delete(by: "hotline", at: Fixtures.t(1), in: cases, id: "r1") != nil)
        let clock = s.clock
        #expect(try s.delete(by: "hotline", at: Fixtures.t(2), in: cases, id: "r1") == nil)
        #expect(s.clock == clock)
        #expect(throws: CoreError.self) { try s.add(1, to: "visits", by: "hotline", at: Fixtures.t(3), in: cases, id: "r1") }
        var never = RecordState()
        #expect(throws: CoreError.self) { try never.delete(by: "hotline", at: Fixtures.t(3), in: cases, id: "r1") }
    }

    @Test func nullUnsetsAField() async throws {
        var s = try created(["notes": "x", "phone": "1"])
        try s.put(["notes": nil], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1")
        #expect(s.view(in: cases, id: "r1").fields == ["phone": "1"])
    }

    @Test func mergingCreatesNoDot() async throws {
        let base = try created(["notes": "n0"])
        var a = base, b = base
        try a.put(["notes": "a"], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1")
        try b.put(["notes": "b"], by: "civil-affairs", at: Fixtures.t(2), in: cases, id: "r1")
        let m = a.merged(with: b)
        #expect(m.clock == VectorClock(["hotline": 2, "civil-affairs": 1]))
        // Two replicas merging the same versions end identical.
        #expect(m.canonicalBytes == b.merged(with: a).canonicalBytes)
    }

    @Test func conflictIdsAreTheSameOnEveryReplica() async throws {
        let base = try created(["status": "open"])
        var a = base, b = base
        try a.put(["status": "x"], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1")
        try b.put(["status": "y"], by: "civil-affairs", at: Fixtures.t(2), in: cases, id: "r1")
        let id1 = a.merged(with: b).view(in: cases, id: "r1").conflicts.map(\.id)
        let id2 = b.merged(with: a).view(in: cases, id: "r1").conflicts.map(\.id)
        #expect(id1 == id2 && id1.count == 1 && id1[0].count == 16)
    }

    /// The Dynamo paper (SOSP 2007, §4.4): D1, D2 by Sx; D3 by Sy and D4 by Sz on D2, concurrent;
    /// Sx reconciles to D5 [(Sx,3),(Sy,1),(Sz,1)], which supersedes both.
    @Test func dynamoPaperExample() async throws {
        let c = CollectionSchema(name: "docs", defaultPolicy: .manual)
        var d = RecordState()
        try d.put(["body": "D1"], by: "sx", at: Fixtures.t(1), in: c, id: "d")
        #expect(d.clock == VectorClock(["sx": 1]))
        try d.put(["body": "D2"], by: "sx", at: Fixtures.t(2), in: c, id: "d")
        #expect(d.clock == VectorClock(["sx": 2]))
        var d3 = d, d4 = d
        try d3.put(["body": "D3"], by: "sy", at: Fixtures.t(3), in: c, id: "d")
        try d4.put(["body": "D4"], by: "sz", at: Fixtures.t(4), in: c, id: "d")
        #expect(d3.clock == VectorClock(["sx": 2, "sy": 1]))
        #expect(d4.clock == VectorClock(["sx": 2, "sz": 1]))
        #expect(d3.clock.compare(d4.clock) == .concurrent)
        // A reader sees both, with the context [(Sx,2),(Sy,1),(Sz,1)].
        var reader = d3.merged(with: d4)
        #expect(reader.clock == VectorClock(["sx": 2, "sy": 1, "sz": 1]))
        #expect(Set(reader.fields["body"]!.map(\.value)) == ["D3", "D4"])
        #expect(reader.view(in: c, id: "d").conflicted)
        // Sx reconciles.
        try reader.put(["body": "D5"], by: "sx", at: Fixtures.t(5), in: c, id: "d")
        #expect(reader.clock == VectorClock(["sx": 3, "sy": 1, "sz": 1]))
        #expect(reader.clock.compare(d3.clock) == .after && reader.clock.compare(d4.clock) == .after)
        var atSy = d3
        #expect(atSy.merge(reader) == .fastForward)
        #expect(atSy.view(in: c, id: "d").fields["body"] == "D5")
        #expect(!atSy.view(in: c, id: "d").conflicted)
    }

    /// Riak's "sibling explosion": with plain per-node vector clocks, a client that writes with a
    /// stale context keeps adding siblings. With dotted values, a writer that has seen a value
    /// replaces it; only values it has not seen stay as siblings.
    @Test func riakSiblingExplosionDoesNotHappen() async throws {
        let c = CollectionSchema(name: "docs", defaultPolicy: .manual)
        var server = RecordState()
        try server.put(["v": "a"], by: "alpha", at: Fixtures.t(1), in: c, id: "x")
        // Two clients keep writing through two nodes, each having read once.
        var alpha = server, beta = server
        for round in 0..<10 {
            try alpha.put(["v": .string("alpha \(round)")], by: "alpha", at: Fixtures.t(10 + UInt64(round)), in: c, id: "x")
            try beta.put(["v": .string("beta \(round)")], by: "beta", at: Fixtures.t(20 + UInt64(round)), in: c, id: "x")
            server.merge(alpha)
            server.merge(beta)
            // Never more siblings than truly concurrent writers.
            #expect(server.fields["v"]!.count <= 2)
        }
        #expect(server.fields["v"]!.map(\.value) == ["alpha 9", "beta 9"])
        // A writer that has seen both replaces both: one value, no false sibling.
        try server.put(["v": "settled"], by: "alpha", at: Fixtures.t(99), in: c, id: "x")
        #expect(server.fields["v"]!.count == 1)
        alpha.merge(server)
        beta.merge(server)
        #expect(alpha == server && beta == server)
    }
}

/// Resolving conflicts: a write that has seen every competing value, with its history kept in
/// the record so it converges too.
@Suite struct ResolutionTests {
    let cases = Fixtures.cases

    func conflicted() throws -> RecordState {
        var base = RecordState()
        try base.put(["status": "open"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
        var a = base, b = base
        try a.put(["status": "closed"], by: "hotline", at: Fixtures.t(10), in: cases, id: "r1")
        try b.put(["status": "referred"], by: "civil-affairs", at: Fixtures.t(20), in: cases, id: "r1")
        return a.merged(with: b)
    }

    @Test func chooseKeepsTheValueAtTheIndexAndRecordsWhoAndHow() async throws {
        var s = try conflicted()
        let c = try #require(s.view(in: cases, id: "r1").conflicts.first)
        #expect(c.values.map(\.value) == ["referred", "closed"])
        let dot = try s.resolve(c.id, .choose(1), by: "center", at: Fixtures.t(30), in: cases, id: "r1")
        let view = s.view(in: cases, id: "r1")
        #expect(view.fields["status"] == "closed" && view.conflicts.isEmpty && !view.conflicted)
        let r = try #require(view.resolutions.first)
        #expect(r.conflictID == c.id && r.how == .choose && r.by == dot && r.result == "closed")
        #expect(r.values.map(\.value) == ["referred", "closed"])
        #expect(s.clock == VectorClock(["hotline": 2, "civil-affairs": 1, "center": 1]))
    }

    @Test func valueAndAcceptWork() async throws {
        var s = try conflicted()
        var t = s
        let id = try #require(s.view(in: cases, id: "r1").conflicts.first?.id)
        try s.resolve(id, .value("mediated"), by: "center", at: Fixtures.t(30), in: cases, id: "r1")
        #expect(s.view(in: cases, id: "r1").fields["status"] == "mediated")
        try t.resolve(id, .accept, by: "center", at: Fixtures.t(30), in: cases, id: "r1")
        #expect(t.view(in: cases, id: "r1").fields["status"] == "referred")
        #expect(t.resolutions.first?.how == .accept)
    }

    @Test func unknownIdsAndIndexesChangeNothing() async throws {
        var s = try conflicted()
        let before = s
        let id = try #require(s.view(in: cases, id: "r1").conflicts.first?.id)
        #expect(throws: CoreError.self) { try s.resolve("0000000000000000", .accept, by: "center", at: Fixtures.t(30), in: cases, id: "r1") }
        #expect(throws: CoreError.self) { try s.resolve(id, .choose(2), by: "center", at: Fixtures.t(30), in: cases, id: "r1") }
        #expect(throws: CoreError.self) { try s.resolve(id, .choose(-1), by: "center", at: Fixtures.t(30), in: cases, id: "r1") }
        #expect(s == before)
    }

    @Test func theResolutionReachesAReplicaThatStillHoldsTheConflict() async throws {
        let conflicted = try conflicted()
        var center = conflicted
        let id = try #require(center.view(in: cases, id: "r1").conflicts.first?.id)
        try center.resolve(id, .choose(0), by: "center", at: Fixtures.t(30), in: cases, id: "r1")
        var station = conflicted
        #expect(station.merge(center) == .fastForward)
        #expect(station.view(in: cases, id: "r1").conflicts.isEmpty)
        #expect(station.resolutions == center.resolutions)
        #expect(try RecordState(jsonText: center.canonicalText, collection: cases) == center)
    }

    @Test func concurrentResolutionsOfOneConflictBothStayInTheHistory() async throws {
        let conflicted = try conflicted()
        var a = conflicted, b = conflicted
        let id = try #require(a.view(in: cases, id: "r1").conflicts.first?.id)
        try a.resolve(id, .choose(0), by: "hotline", at: Fixtures.t(30), in: cases, id: "r1")
        try b.resolve(id, .choose(1), by: "civil-affairs", at: Fixtures.t(31), in: cases, id: "r1")
        let m = a.merged(with: b)
        #expect(m == b.merged(with: a))
        #expect(m.resolutions.count == 2)
        // The two resolutions are themselves concurrent: a new, smaller conflict a person can settle.
        #expect(m.view(in: cases, id: "r1").conflicts.count == 1)
    }

    @Test func anOrdinaryWriteThatSupersedesSiblingsIsRecordedAsAWrite() async throws {
        var s = try conflicted()
        try s.put(["status": "closed", "notes": "x"], by: "hotline", at: Fixtures.t(40), in: cases, id: "r1")
        #expect(s.resolutions.map(\.how) == [.write])
        #expect(s.resolutions.first?.result == "closed")
    }

    @Test func deleteVersusUpdateCanBeResolvedEitherWay() async throws {
        var base = RecordState()
        try base.put(["notes": "n"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
        var a = base, b = base
        try a.delete(by: "hotline", at: Fixtures.t(10), in: cases, id: "r1")
        try b.put(["phone": "1"], by: "civil-affairs", at: Fixtures.t(5), in: cases, id: "r1")
        let m = a.merged(with: b)
        let c = try #require(m.view(in: cases, id: "r1").conflicts.first)
        #expect(c.field == Conflict.existenceField && c.values.map(\.value) == [false, true])
        var deleteIt = m
        try deleteIt.resolve(c.id, .choose(1), by: "center", at: Fixtures.t(20), in: cases, id: "r1")
        #expect(deleteIt.view(in: cases, id: "r1").deleted)
        var keepIt = m
        try keepIt.resolve(c.id, .accept, by: "center", at: Fixtures.t(20), in: cases, id: "r1")
        let kept = keepIt.view(in: cases, id: "r1")
        #expect(!kept.deleted && kept.fields == ["notes": "n", "phone": "1"] && kept.conflicts.isEmpty)
        #expect(throws: CoreError.self) { try keepIt.resolve(c.id, .value("yes"), by: "center", at: Fixtures.t(21), in: cases, id: "r1") }
    }

    @Test func resolvingAFieldKeepsTheRecordsDeleteConflictInTheHistory() async throws {
        var base = RecordState()
        try base.put(["notes": "n", "status": "open"], by: "hotline", at: Fixtures.t(0), in: cases, id: "r1")
        var a = base, b = base
        try a.put(["status": "closed"], by: "hotline", at: Fixtures.t(1), in: cases, id: "r1")
        try a.delete(by: "hotline", at: Fixtures.t(2), in: cases, id: "r1")
        try b.put(["status": "referred"], by: "civil-affairs", at: Fixtures.t(3), in: cases, id: "r1")
        var m = a.merged(with: b)
        let conflicts = m.view(in: cases, id: "r1").conflicts
        #expect(Set(conflicts.map(\.field)) == ["status", Conflict.existenceField])
        let status = try #require(conflicts.first { $0.field == "status" })
        let existence = try #require(conflicts.first { $0.field == Conflict.existenceField })
        try m.resolve(status.id, .choose(0), by: "center", at: Fixtures.t(4), in: cases, id: "r1")
        #expect(m.view(in: cases, id: "r1").conflicts.isEmpty)
        let ended = try #require(m.resolutions.first { $0.conflictID == existence.id })
        #expect(ended.how == .write && ended.result == false && ended.by.node == "center")
    }
}
