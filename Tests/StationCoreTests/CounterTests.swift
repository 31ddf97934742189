import Testing
@testable import StationCore

/// Counters (issue 12): stocktakes mean what a person means, and no sum ever wraps.
@Suite struct CounterTests {
    let stock = Fixtures.stock
    func t(_ ms: UInt64) -> HLCTimestamp { Fixtures.t(ms) }

    /// The charity supermarket's case: stock 10; two desks each count 100 while offline; one
    /// sells 3. Every node reads 97, not 187.
    @Test func twoStocktakesThatAgreeAreThatNumber() async throws {
        var hub = RecordState()
        try hub.put(["quantity": 10], by: "hub", at: t(0), in: stock, id: "rice")
        var deskA = hub, deskB = hub
        try deskA.put(["quantity": 100], by: "desk-a", at: t(1), in: stock, id: "rice")
        try deskB.put(["quantity": 100], by: "desk-b", at: t(2), in: stock, id: "rice")
        try deskA.add(-3, to: "quantity", by: "desk-a", at: t(3), in: stock, id: "rice")
        for order in [[hub, deskA, deskB], [deskB, hub, deskA], [deskA, deskB, hub]] {
            var s = order[0]
            s.merge(order[1])
            s.merge(order[2])
            let view = s.view(in: stock, id: "rice")
            #expect(view.fields["quantity"] == 97)
            #expect(view.conflicts.isEmpty)
            #expect(!view.conflicted)
        }
    }

    /// Two counts that disagree are a conflict a person sees; reads show the latest meanwhile,
    /// with the increments it has not seen on top; a resolution sets the count everywhere.
    @Test func twoStocktakesThatDisagreeAreAConflictUntilAPersonSetsTheCount() async throws {
        var hub = RecordState()
        try hub.put(["quantity": 10], by: "hub", at: t(0), in: stock, id: "rice")
        var deskA = hub, deskB = hub
        try deskA.put(["quantity": 100], by: "desk-a", at: t(1), in: stock, id: "rice")
        try deskB.put(["quantity": 90], by: "desk-b", at: t(2), in: stock, id: "rice")
        try deskA.add(-3, to: "quantity", by: "desk-a", at: t(3), in: stock, id: "rice")
        var s = deskA.merged(with: deskB)
        let view = s.view(in: stock, id: "rice")
        #expect(view.fields["quantity"] == 87)  // desk-b's count is the later: 90, and desk-a's sale it had not seen
        #expect(view.conflicted)
        let conflict = try #require(view.conflicts.first)
        #expect(conflict.field == "quantity" && conflict.policy == .counter && !conflict.automatic)
        #expect(conflict.values.map(\.value) == [87, 97])
        #expect(deskB.merged(with: deskA) == s)
        // Agreeing or not does not change as increments arrive.
        var later = deskB
        try later.add(5, to: "quantity", by: "desk-b", at: t(4), in: stock, id: "rice")
        #expect(s.merged(with: later).view(in: stock, id: "rice").conflicts.first?.values.map(\.value) == [92, 102])
        // Resolved by keeping desk-a's count (as it reads now): one stocktake, everywhere.
        try s.resolve(conflict.id, .choose(1), by: "hub", at: t(5), in: stock, id: "rice")
        let resolved = s.view(in: stock, id: "rice")
        #expect(resolved.fields["quantity"] == 97 && resolved.conflicts.isEmpty)
        #expect(resolved.resolutions.last?.result == 97 && resolved.resolutions.last?.policy == .counter)
        // The increment desk-b made meanwhile (not seen by the resolution) still adds on top.
        #expect(s.merged(with: later).view(in: stock, id: "rice").fields["quantity"] == 102)
    }

    @Test func aCounterConflictNeedsAnIntegerToResolve() async throws {
        var deskA = RecordState(), deskB = RecordState()
        try deskA.put(["quantity": 1], by: "desk-a", at: t(1), in: stock, id: "rice")
        try deskB.put(["quantity": 2], by: "desk-b", at: t(2), in: stock, id: "rice")
        var s = deskA.merged(with: deskB)
        let conflict = try #require(s.view(in: stock, id: "rice").conflicts.first { $0.field == "quantity" })
        let before = s
        #expect { try s.resolve(conflict.id, .value("many"), by: "hub", at: t(3), in: stock, id: "rice") } throws: {
            ($0 as? CoreError)?.code == .wrongType
        }
        #expect(s == before)
        try s.resolve(conflict.id, .value(7), by: "hub", at: t(3), in: stock, id: "rice")
        #expect(s.view(in: stock, id: "rice").fields["quantity"] == 7)
    }

    /// A counter holds at most ±(2^53 − 1) per total and per count: a local write past it is
    /// refused changing nothing, and so is a received state holding one, naming the field. The
    /// sum of totals then always fits: two of 2^53 − 1 read 2^54 − 2, nothing wraps.
    @Test func countersHoldAtMost2To53AndSumsNeverWrap() async throws {
        let most = RecordState.maxCounterMagnitude
        #expect(most == 9_007_199_254_740_991)
        var a = RecordState(), b = RecordState()
        try a.add(most, to: "quantity", by: "desk-a", at: t(1), in: stock, id: "rice")
        try b.add(-most, to: "quantity", by: "desk-b", at: t(2), in: stock, id: "rice")
        try b.add(2 * most, to: "quantity", by: "desk-b", at: t(3), in: stock, id: "rice")
        let both = a.merged(with: b)
        #expect(both.counterTotal("quantity") == 2 * most)
        #expect(both.view(in: stock, id: "rice").conflicts.isEmpty)
        try both.check(against: stock)
        var c = a
        for amount in [1, Int64.max] {
            #expect { try c.add(amount, to: "quantity", by: "desk-a", at: t(4), in: stock, id: "rice") } throws: {
                ($0 as? CoreError)?.code == .counterOverflow && "\($0)".contains("stock/rice") && "\($0)".contains("\"quantity\"")
            }
        }
        for count in [most + 1, -most - 1, .max, .min] {
            #expect { try c.put(["quantity": .int(count)], by: "desk-a", at: t(4), in: stock, id: "rice") } throws: {
                ($0 as? CoreError)?.code == .counterOverflow && "\($0)".contains("stock/rice")
            }
        }
        #expect(c == a)
        // Received: a total or a stocktake past the bound is refused by validation.
        var planted = a
        planted.fields["quantity"] = [DottedValue(dot: Dot("desk-a", 1), time: t(1), value: .int(most + 1))]
        #expect { try planted.check(against: stock) } throws: {
            ($0 as? CoreError)?.code == .counterOverflow && "\($0)".contains("quantity")
        }
        planted.fields["quantity"] = [DottedValue(dot: Dot("desk-a", 1), time: t(1), value: Stocktake(count: 0, seen: [:]).json)]
        try planted.check(against: stock)
        planted.fields["quantity"] = [DottedValue(dot: Dot("desk-a", 1), time: t(1), value: Stocktake(count: .max, seen: [:]).json)]
        #expect { try planted.check(against: stock) } throws: { ($0 as? CoreError)?.code == .counterOverflow }
    }

    /// A stocktake's reading can pass 64 bits in theory, even honestly: 600 desks each take
    /// 2^53 − 1 out, a stocktake sees that, then each desk puts twice as much back. The state is
    /// kept (a merge is never refused for what a counter reads, so no station's total can stop
    /// another's sync), reads the nearest 64-bit number, merges the same in any order and shows a
    /// conflict naming every number held; increments wait for a count, and a count ends it.
    @Test func aReadingPast64BitsIsAConflictThatACountEnds() async throws {
        let most = RecordState.maxCounterMagnitude
        var desks: [RecordState] = []
        for n in 0..<600 {
            var d = RecordState()
            try d.add(-most, to: "quantity", by: NodeID(unchecked: "desk-\(n)"), at: t(UInt64(n + 1)), in: stock, id: "rice")
            desks.append(d)
        }
        var counted = desks.reduce(RecordState()) { $0.merged(with: $1) }
        try counted.put(["quantity": .int(most)], by: "office", at: t(1000), in: stock, id: "rice")
        var later = desks
        for n in later.indices {
            try later[n].add(2 * most, to: "quantity", by: NodeID(unchecked: "desk-\(n)"), at: t(UInt64(2000 + n)), in: stock, id: "rice")
        }
        let forward = later.reduce(counted) { $0.merged(with: $1) }
        let backward = later.reversed().reduce(RecordState()) { $0.merged(with: $1) }.merged(with: counted)
        #expect(forward == backward)
        try forward.check(against: stock)
        let reading = forward.counterReading("quantity")
        #expect(!reading.fits)
        #expect(reading.value == .max)
        let view = forward.view(in: stock, id: "rice")
        #expect(view.conflicted)
        let conflict = try #require(view.conflicts.first { $0.field == "quantity" })
        #expect(conflict.policy == .counter && !conflict.automatic && conflict.rule.contains("past 64 bits"))
        #expect(conflict.values.count == 601)
        #expect(conflict.values.allSatisfy { $0.value.intValue! == most })
        var s = forward
        #expect { try s.add(-1, to: "quantity", by: "desk-0", at: t(5000), in: stock, id: "rice") } throws: {
            ($0 as? CoreError)?.code == .counterOverflow && "\($0)".contains("put quantity")
        }
        #expect(s == forward)
        var resolved = forward
        try resolved.resolve(conflict.id, .value(40), by: "office", at: t(5001), in: stock, id: "rice")
        #expect(resolved.counterTotal("quantity") == 40)
        #expect(resolved.view(in: stock, id: "rice").conflicts.isEmpty)
        #expect(resolved.resolutions.contains { $0.conflictID == conflict.id })
        try s.put(["quantity": 40], by: "desk-0", at: t(5002), in: stock, id: "rice")
        try s.add(-3, to: "quantity", by: "desk-0", at: t(5003), in: stock, id: "rice")
        #expect(s.counterTotal("quantity") == 37)
        #expect(!s.view(in: stock, id: "rice").conflicted)
    }

    /// A node holding the largest total there is cannot make the counter unrepairable: a
    /// stocktake always works, and increments go on from it.
    @Test func aStocktakeAlwaysWorks() async throws {
        let most = RecordState.maxCounterMagnitude
        var s = RecordState()
        try s.add(most, to: "quantity", by: "mallory", at: t(1), in: stock, id: "rice")
        try s.add(-5, to: "quantity", by: "desk-a", at: t(2), in: stock, id: "rice")
        try s.put(["quantity": 40], by: "desk-a", at: t(3), in: stock, id: "rice")
        #expect(s.counterTotal("quantity") == 40)
        try s.add(-3, to: "quantity", by: "desk-a", at: t(4), in: stock, id: "rice")
        #expect(s.counterTotal("quantity") == 37)
        try s.put(["quantity": .int(-most)], by: "desk-b", at: t(5), in: stock, id: "rice")
        #expect(s.counterTotal("quantity") == -most)
        try s.check(against: stock)
    }

    /// A put of the count the record reads writes nothing; with disagreeing stocktakes it writes.
    @Test func aStocktakeOfTheCountShownWritesNothingUnlessItDecidesSomething() async throws {
        var s = RecordState()
        try s.put(["quantity": 5], by: "desk-a", at: t(1), in: stock, id: "rice")
        #expect(try s.put(["quantity": 5], by: "desk-b", at: t(2), in: stock, id: "rice") == nil)
        var other = RecordState()
        try other.put(["quantity": 9], by: "desk-b", at: t(3), in: stock, id: "rice")
        s.merge(other)
        #expect(s.counterTotal("quantity") == 9)
        #expect(try s.put(["quantity": 9], by: "desk-a", at: t(4), in: stock, id: "rice") != nil)  // ends the disagreement
        #expect(s.view(in: stock, id: "rice").conflicts.isEmpty)
    }

    /// A recreate unsets the fields it does not give by writing null over them (no value is
    /// dropped without a write there) and restarts counters at 0 with a stocktake.
    @Test func aRecreateWritesOverWhatItClears() async throws {
        var s = RecordState()
        try s.put(["name": "rice", "quantity": 4], by: "desk-a", at: t(1), in: stock, id: "rice")
        try s.add(3, to: "quantity", by: "desk-b", at: t(2), in: stock, id: "rice")
        try s.delete(by: "desk-a", at: t(3), in: stock, id: "rice")
        let dot = try #require(try s.put(["price": 2], by: "desk-c", at: t(4), in: stock, id: "rice"))
        #expect(s.fields["name"] == [DottedValue(dot: dot, time: t(4), value: .null)])
        #expect(s.view(in: stock, id: "rice").fields == ["price": 2, "quantity": 0])
        #expect(s.fields["quantity"]!.contains { $0.dot.node == "desk-b" && $0.value == 3 })  // desk-b's increments stay its own
    }

    /// States received from elsewhere: a counter holds totals and stocktakes, nothing else, and a
    /// stocktake may not claim to have seen a total the register does not hold (it would take
    /// that node's future increments away).
    @Test func counterRegistersAreChecked() async throws {
        func state(_ register: String) -> String {
            #"{"clock":{"a":1,"b":1},"exists":[["a",1,1,true],["b",1,1,true]],"fields":{"quantity":"# + register + "}}"
        }
        #expect(throws: Never.self) { try RecordState(jsonText: state(#"[["a",1,1,{"count":5,"seen":{"b":2}}],["b",1,1,2]]"#), collection: stock) }
        let refused = [
            (#"[["a",1,1,{"count":5,"seen":{"zed":2}}],["b",1,1,2]]"#, "saw a total of zed"),
            (#"[["a",1,1,{"count":5}],["b",1,1,2]]"#, "not an integer (a total)"),
            (#"[["a",1,1,"five"]]"#, "not an integer (a total)"),
            (#"[["a",1,1,{"count":1.5,"seen":{}}]]"#, "not an integer (a total)"),
        ]
        // Two stocktakes of one node: its later one replaces the earlier, so no honest state holds both.
        #expect {
            try RecordState(
                jsonText:
                    #"{"clock":{"a":2},"exists":[["a",2,1,true]],"fields":{"quantity":[["a",1,1,{"count":5,"seen":{}}],["a",2,1,{"count":6,"seen":{}}]]}}"#,
                collection: stock)
        } throws: { "\($0)".contains("two stocktakes of one node") }
        for (register, reason) in refused {
            #expect { try RecordState(jsonText: state(register), collection: stock) } throws: {
                ($0 as? CoreError)?.code == .invalidVersion && "\($0)".contains(reason)
            }
        }
    }
}
