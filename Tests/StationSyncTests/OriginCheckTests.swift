import StationCore
import Testing
@testable import StationSync

/// Origin binding without --relay: a station brings only its own writes, whatever it forges.
@Suite struct OriginCheckTests {
    let cases = CollectionSchema(name: "cases", fields: ["status": .manual, "notes": .lww])
    func t(_ ms: UInt64) -> HLCTimestamp { HLCTimestamp(wall: 1_700_000_000_000 + ms, logical: 0) }

    /// The hub's copy: civil-affairs wrote notes and status; hotline has it too.
    func hubCopy() throws -> RecordState {
        var s = RecordState()
        try s.put(["notes": "civil's note", "status": "open"], by: "civil-affairs", at: t(1), in: cases, id: "r")
        return s
    }

    func verify(_ pushed: RecordState, _ held: RecordState?) throws {
        try OriginCheck.verify(pushed, local: held, caller: "hotline", collection: "cases", id: "r")
    }

    @Test func honestPushesPass() async throws {
        let hub = try hubCopy()
        var mine = hub
        try mine.put(["notes": "hotline's note"], by: "hotline", at: t(2), in: cases, id: "r")  // supersedes
        try verify(mine, hub)
        var concurrent = hub
        try concurrent.put(["status": "closed"], by: "civil-affairs", at: t(3), in: cases, id: "r")  // hub moved on
        var station = hub
        try station.put(["phone": "1"], by: "hotline", at: t(4), in: cases, id: "r")
        try verify(station, concurrent)
        var fresh = RecordState()
        try fresh.put(["notes": "new"], by: "hotline", at: t(4), in: cases, id: "r")
        try verify(fresh, nil)  // a record new to the hub, with only the caller's writes
        var deleted = hub
        try deleted.delete(by: "hotline", at: t(5), in: cases, id: "r")
        var recreated = deleted
        try recreated.put(["phone": "2"], by: "hotline", at: t(6), in: cases, id: "r")  // clears civil's fields
        try verify(recreated, deleted)
    }

    @Test func rewritingAnotherNodesValueUnderItsDotIsRefused() async throws {
        let hub = try hubCopy()
        var forged = hub
        forged.fields["notes"]![0].value = "forged"
        try forged.put(["phone": "1"], by: "hotline", at: t(2), in: cases, id: "r")
        // Refused for this record only (a collision: a forger's and a restored database's look the
        // same, and an innocent peer may relay the latter), the others of the push go on.
        #expect { try verify(forged, hub) } throws: {
            ($0 as? SyncError)?.code == .dotCollision && "\($0)".contains("another content for the value node civil-affairs wrote")
        }
    }

    @Test func droppingAnotherNodesValueWithoutAWriteThereIsRefused() async throws {
        // The hub holds two concurrent status values, civil-affairs' and charity's.
        var hub = try hubCopy()
        var charity = hub
        try hub.put(["status": "closed"], by: "civil-affairs", at: t(2), in: cases, id: "r")
        try charity.put(["status": "referred"], by: "charity", at: t(3), in: cases, id: "r")
        hub.merge(charity)
        #expect(hub.fields["status"]!.count == 2)
        // hotline writes elsewhere and quietly removes charity's value from the register.
        var forged = hub
        try forged.put(["phone": "1"], by: "hotline", at: t(4), in: cases, id: "r")
        forged.fields["status"]!.removeAll { $0.dot.node == "charity" }
        #expect { try verify(forged, hub) } throws: { "\($0)".contains("drops the value node charity wrote to field status") }
        // Replacing both with its own write there is an ordinary write, and passes.
        var honest = hub
        try honest.put(["status": "mediated"], by: "hotline", at: t(5), in: cases, id: "r")
        try verify(honest, hub)
    }

    let stock = CollectionSchema(name: "stock", deleteConflict: .deleteWins, fields: ["quantity": .counter, "name": .lww])

    /// Issue 12, finding 2: a token without --relay cannot take another node's increments away
    /// (its own new total in the register does not license that), nor another's stocktake
    /// without one of its own.
    @Test func anotherNodesCounterEntriesCannotBeDropped() async throws {
        var hub = RecordState()
        try hub.add(40, to: "quantity", by: "desk-a", at: t(1), in: stock, id: "rice")
        func check(_ pushed: RecordState) throws {
            try OriginCheck.verify(pushed, local: hub, caller: "hotline", collection: "stock", id: "rice", schema: stock)
        }
        var forged = hub
        try forged.add(1, to: "quantity", by: "hotline", at: t(2), in: stock, id: "rice")
        forged.fields["quantity"]!.removeAll { $0.dot.node == "desk-a" }
        #expect { try check(forged) } throws: { ($0 as? SyncError)?.code == .forbidden && "\($0)".contains("drops node desk-a's total") }
        // Even with a stocktake of its own: a node's increments stay its own.
        var counted = hub
        try counted.put(["quantity": 7], by: "hotline", at: t(3), in: stock, id: "rice")
        try check(counted)
        counted.fields["quantity"]!.removeAll { $0.dot.node == "desk-a" }
        #expect { try check(counted) } throws: { "\($0)".contains("drops node desk-a's total") }
        // Another node's stocktake goes only under a stocktake of the caller's.
        try hub.put(["quantity": 50], by: "desk-a", at: t(4), in: stock, id: "rice")
        var sold = hub
        try sold.add(-1, to: "quantity", by: "hotline", at: t(5), in: stock, id: "rice")
        try check(sold)
        sold.fields["quantity"]!.removeAll { Stocktake($0.value) != nil }
        #expect { try check(sold) } throws: { "\($0)".contains("drops the stocktake node desk-a made") }
        var recount = hub
        try recount.put(["quantity": 49], by: "hotline", at: t(6), in: stock, id: "rice")
        try check(recount)
    }

    /// Found by the simulation's rogue LAN peer: a state that left out the total of an earlier
    /// database of the caller's own node (hotline restored or reinstalled writes as a new
    /// incarnation, whose increments are a total of their own) was taken, since the caller's own
    /// totals were not checked. A total is replaced only by its own writer's next one.
    @Test func anEarlierDatabasesTotalCannotBeDroppedByTheNodesNewOne() async throws {
        var hub = RecordState()
        try hub.add(40, to: "quantity", by: "hotline.old", at: t(1), in: stock, id: "rice")
        func check(_ pushed: RecordState) throws {
            try OriginCheck.verify(pushed, local: hub, caller: "hotline", collection: "stock", id: "rice", schema: stock)
        }
        var honest = hub
        try honest.add(1, to: "quantity", by: "hotline.new", at: t(2), in: stock, id: "rice")
        try check(honest)
        #expect(honest.counterTotal("quantity") == 41)
        var again = hub
        try again.add(2, to: "quantity", by: "hotline.old", at: t(3), in: stock, id: "rice")  // its own next total replaces it
        try check(again)
        var forged = honest
        forged.fields["quantity"]!.removeAll { $0.dot.node == "hotline.old" }
        #expect { try check(forged) } throws: { ($0 as? SyncError)?.code == .forbidden && "\($0)".contains("total") }
    }

    /// Issue 12, finding 2: the recreate allowance does not let a token drop a field another node
    /// wrote on a live record; a recreate writes null over what it clears, and passes.
    @Test func aFieldOfALiveRecordCannotBeDroppedAsIfRecreated() async throws {
        let hub = try hubCopy()
        var forged = hub
        try forged.put(["phone": "1"], by: "hotline", at: t(2), in: cases, id: "r")
        forged.fields["notes"] = nil
        #expect { try verify(forged, hub) } throws: { "\($0)".contains("drops the value node civil-affairs wrote to field notes") }
        // Deleted and recreated by the caller while offline: the cleared fields hold its nulls.
        var recreated = hub
        try recreated.delete(by: "hotline", at: t(3), in: cases, id: "r")
        try recreated.put(["phone": "2"], by: "hotline", at: t(4), in: cases, id: "r")
        #expect(recreated.fields["notes"]?.first?.value == .null)
        try verify(recreated, hub)
    }

    /// Issue 12, finding 2: the resolution history cannot be erased or forged by a token without
    /// --relay: an entry the hub holds must arrive unchanged, and a new entry of the caller's
    /// cannot claim another node wrote what it did not.
    @Test func theResolutionHistoryCannotBeErasedOrForged() async throws {
        var hub = try hubCopy()
        var charity = hub
        try hub.put(["status": "closed"], by: "civil-affairs", at: t(2), in: cases, id: "r")
        try charity.put(["status": "referred"], by: "charity", at: t(3), in: cases, id: "r")
        hub.merge(charity)
        let conflict = try #require(hub.view(in: cases, id: "r").conflicts.first { $0.field == "status" })
        // civil-affairs resolved it (the hub holds that entry).
        try hub.resolve(conflict.id, .choose(1), by: "civil-affairs", at: t(4), in: cases, id: "r", person: "Wang")
        var erased = hub
        try erased.put(["phone": "1"], by: "hotline", at: t(5), in: cases, id: "r")
        erased.resolutions = []
        #expect { try verify(erased, hub) } throws: { "\($0)".contains("drops the record's history entry of conflict \(conflict.id)") }
        var altered = hub
        try altered.put(["phone": "1"], by: "hotline", at: t(5), in: cases, id: "r")
        altered.resolutions[0].person = "Someone Else"
        #expect { try verify(altered, hub) } throws: { "\($0)".contains("changes the record's history entry") }
        // A forged entry of hotline's own that claims charity wrote "dismissed".
        var open = try hubCopy()
        var other = open
        try open.put(["status": "closed"], by: "civil-affairs", at: t(2), in: cases, id: "r")
        try other.put(["status": "referred"], by: "charity", at: t(3), in: cases, id: "r")
        open.merge(other)
        let c2 = try #require(open.view(in: cases, id: "r").conflicts.first { $0.field == "status" })
        var forged = open
        try forged.resolve(c2.id, .accept, by: "hotline", at: t(6), in: cases, id: "r")
        let index = try #require(forged.resolutions.firstIndex { $0.by.node == "hotline" })
        let charityIndex = try #require(forged.resolutions[index].values.firstIndex { $0.dot.node == "charity" })
        forged.resolutions[index].values[charityIndex].value = "dismissed"
        #expect { try verify(forged, open) } throws: { "\($0)".contains("says node charity wrote another value to field status") }
        // The honest resolution passes.
        var honest = open
        try honest.resolve(c2.id, .accept, by: "hotline", at: t(6), in: cases, id: "r", person: "Li")
        try verify(honest, open)
    }

    /// A full history keeps its newest 4096 entries (issue 13): an honest state whose history
    /// let its oldest entry fall off, or that still holds one the hub's let fall off, passes; a
    /// state that drops a newer entry is still refused.
    @Test func anEntryThatFellOffAFullHistoryIsNoneOfTheCallersDoing() async throws {
        var base = try hubCopy()
        var charity = base
        try base.put(["status": "closed", "notes": "civil's second"], by: "civil-affairs", at: t(2), in: cases, id: "r")
        try charity.put(["status": "referred", "notes": "charity's"], by: "charity", at: t(3), in: cases, id: "r")
        base.merge(charity)  // two conflicts open: status and notes
        // A long past: 4095 entries of civil-affairs' first write, the oldest first.
        let dot = Dot("civil-affairs", 1)
        base.resolutions = Resolution.compacted(
            (0..<(RecordState.maxResolutions - 1)).map { n in
                Resolution(
                    conflictID: String(format: "%016llx", UInt64(n)), field: "status", policy: .manual, how: .write, by: dot, time: t(UInt64(n) % 2),
                    values: [DottedValue(dot: dot, time: t(1), value: "open")], result: "open")
            })
        let oldest = try #require(base.resolutions.min { Resolution.isNewer($1, than: $0) })
        // The station ends both conflicts: 4097 entries, the oldest falls off its history.
        var station = base
        try station.put(["status": "done"], by: "hotline", at: t(10), in: cases, id: "r")
        try station.put(["notes": "hotline's"], by: "hotline", at: t(11), in: cases, id: "r")
        #expect(station.resolutions.count == RecordState.maxResolutions && !station.resolutions.contains(oldest))
        try verify(station, base)
        // The hub's history let it fall off instead; the station's still holds it.
        var hub = base
        try hub.put(["status": "done", "notes": "civil's third"], by: "civil-affairs", at: t(12), in: cases, id: "r")
        #expect(!hub.resolutions.contains(oldest))
        var concurrent = base
        try concurrent.put(["phone": "1"], by: "hotline", at: t(13), in: cases, id: "r")
        #expect(concurrent.resolutions.contains(oldest))
        try verify(concurrent, hub)
        #expect(concurrent.merged(with: hub).resolutions == hub.merged(with: concurrent).resolutions)
        // Dropping an entry newer than the pushed history's oldest is still refused.
        var erased = station
        let newer = try #require(station.resolutions.first { $0.by.node == "hotline" })
        erased.resolutions.removeAll { $0 == newer }
        try erased.put(["phone": "2"], by: "hotline", at: t(14), in: cases, id: "r")
        #expect { try verify(erased, station) } throws: { "\($0)".contains("drops the record's history entry") }
    }

    /// The same, for an entry cut by the bytes of the newer ones (Limits.historyBytes) rather
    /// than by their number.
    @Test func anEntryCutByTheBytesOfNewerOnesIsNoneOfTheCallersDoing() async throws {
        var base = try hubCopy()
        var charity = base
        let big = String(repeating: "n", count: 2 << 20)
        try base.put(["notes": .string("civil's second " + big)], by: "civil-affairs", at: t(2), in: cases, id: "r")
        try charity.put(["notes": "charity's"], by: "charity", at: t(3), in: cases, id: "r")
        base.merge(charity)  // notes in conflict, one side 2 MiB
        // A past of two entries of 2.2 MiB each: together past the bound, so one more entry
        // newer than both, weighing 2 MiB, cuts the older.
        let dot = Dot("civil-affairs", 1)
        base.resolutions = Resolution.compacted(
            (0..<2).map { n in
                Resolution(
                    conflictID: String(format: "%016llx", UInt64(n)), field: "status", policy: .manual, how: .write, by: dot, time: t(UInt64(n)),
                    values: [DottedValue(dot: dot, time: t(1), value: .string(String(repeating: "v", count: 2_200_000)))], result: "open")
            })
        #expect(base.resolutions.count == 2)
        let older = try #require(base.resolutions.min { Resolution.isNewer($1, than: $0) })
        var station = base
        try station.put(["notes": "hotline's"], by: "hotline", at: t(10), in: cases, id: "r")
        #expect(station.resolutions.count == 2 && !station.resolutions.contains(older))
        try verify(station, base)
        // The hub's own write cut it instead; a station's concurrent state still holds it.
        var hub = base
        try hub.put(["notes": "civil's third"], by: "civil-affairs", at: t(12), in: cases, id: "r")
        #expect(!hub.resolutions.contains(older))
        var concurrent = base
        try concurrent.put(["phone": "1"], by: "hotline", at: t(13), in: cases, id: "r")
        #expect(concurrent.resolutions.contains(older))
        try verify(concurrent, hub)
        #expect(concurrent.merged(with: hub) == hub.merged(with: concurrent))
        // Dropping the newer one, which nothing cuts, is refused.
        var erased = station
        let newer = try #require(base.resolutions.first { $0 != older })
        erased.resolutions.removeAll { $0 == newer }
        try erased.put(["phone": "2"], by: "hotline", at: t(14), in: cases, id: "r")
        #expect { try verify(erased, station) } throws: { ($0 as? SyncError)?.code == .forbidden }
    }

    /// A field once written stays in the record: a new entry of the caller's about a field the
    /// pushed state does not hold ended nothing there (made up, e.g. to push honest entries out
    /// of a full history).
    @Test func anEntryAboutAFieldTheRecordDoesNotHoldIsRefused() async throws {
        let hub = try hubCopy()
        var a = hub, b = hub
        try a.put(["phone": "1"], by: NodeID(node: "hotline", incarnation: "a"), at: t(2), in: cases, id: "r")
        try b.put(["phone": "2"], by: NodeID(node: "hotline", incarnation: "b"), at: t(3), in: cases, id: "r")
        a.merge(b)
        let conflict = try #require(a.view(in: cases, id: "r").conflicts.first { $0.field == "phone" })
        var honest = a
        try honest.resolve(conflict.id, .choose(0), by: NodeID(node: "hotline", incarnation: "a"), at: t(4), in: cases, id: "r")
        try verify(honest, hub)
        var madeUp = honest
        madeUp.resolutions[0].field = "f0"
        madeUp.resolutions[0].conflictID = Conflict.makeID(
            collection: "cases", recordID: "r", field: "f0", dots: madeUp.resolutions[0].values.map(\.dot))
        #expect { try verify(madeUp, hub) } throws: { "\($0)".contains("is about field f0, which the record does not hold") }
    }

    @Test func newWritesOfOtherNodesAreRefused() async throws {
        var other = try hubCopy()
        try other.put(["notes": "more"], by: "civil-affairs", at: t(2), in: cases, id: "r")
        #expect { try verify(other, try hubCopy()) } throws: { "\($0)".contains("brings writes of node civil-affairs this node has not seen") }
    }

    @Test func resurrectingAValueTheHubSupersededIsRefused() async throws {
        let old = try hubCopy()
        var hub = old
        try hub.put(["notes": "newer"], by: "civil-affairs", at: t(2), in: cases, id: "r")
        var forged = old
        forged.clock = hub.clock  // claims to have seen civil's newer write, but keeps the old note
        try forged.put(["phone": "1"], by: "hotline", at: t(3), in: cases, id: "r")
        #expect { try verify(forged, hub) } throws: { ($0 as? SyncError)?.code == .forbidden }
    }
}

extension OriginCheckTests {
    /// Mutation (tools/mutate): the existence register is not checked. A token rewrites another
    /// node's alive value under its dot into a delete.
    @Test func rewritingAnotherNodesExistenceUnderItsDotIsRefused() async throws {
        let hub = try hubCopy()
        var forged = hub
        forged.existence[0].value = false
        #expect { try verify(forged, hub) } throws: { "\($0)".contains("the record's existence") }
    }
}

extension OriginCheckTests {
    /// Mutation (tools/mutate): values the receiver no longer holds may be resurrected. The forged
    /// state keeps the hub's newer value and brings back the one it superseded beside it (so
    /// nothing is dropped: only the resurrection rule sees it).
    @Test func bringingBackASupersededValueBesideTheNewOneIsRefused() async throws {
        let old = try hubCopy()
        var hub = old
        try hub.put(["notes": "newer"], by: "civil-affairs", at: t(2), in: cases, id: "r")
        var forged = hub
        forged.fields["notes"]!.append(old.fields["notes"]![0])
        forged.fields["notes"]!.sort { $0.dot < $1.dot }
        try forged.put(["phone": "1"], by: "hotline", at: t(3), in: cases, id: "r")
        #expect { try verify(forged, hub) } throws: { "\($0)".contains("no longer holds") }
    }

    /// Mutation (tools/mutate): a field may be dropped without a write of the caller. The forged
    /// state leaves another node's field out entirely and writes nothing of its own.
    @Test func leavingAnotherNodesFieldOutWithoutAWriteIsRefused() async throws {
        let hub = try hubCopy()
        var forged = hub
        forged.fields["notes"] = nil
        #expect { try verify(forged, hub) } throws: { "\($0)".contains("drops the value node civil-affairs wrote to field notes") }
    }

    /// Mutation (tools/mutate): forged resolution entries pass. The forged state carries a
    /// resolution "by" civil-affairs that the hub never saw, claiming values it never wrote.
    @Test func inventingAResolutionOfAnotherNodeIsRefused() async throws {
        let hub = try hubCopy()
        var forged = hub
        try forged.put(["phone": "1"], by: "hotline", at: t(2), in: cases, id: "r")
        forged.resolutions.append(
            Resolution(
                conflictID: "00000000000000ff", field: "status", policy: .manual, how: .choose, by: Dot("civil-affairs", 1), time: t(1),
                values: [DottedValue(dot: Dot("civil-affairs", 1), time: t(1), value: "never written")], result: "never written"))
        #expect { try verify(forged, hub) } throws: { "\($0)".contains("resolution by node civil-affairs") }
    }

    /// Review of stop 20, F5: an entry calling a plain field `counter` skipped the check of what it
    /// says others wrote; an existence entry was not checked at all.
    @Test func aResolutionCannotLieAboutAnotherNodesWriteUnderAnotherPolicy() async throws {
        let hub = try hubCopy()  // civil-affairs wrote notes "civil's note" at (civil-affairs,1)
        var forged = hub
        try forged.put(["phone": "1"], by: "hotline", at: t(2), in: cases, id: "r")
        let by = Dot("hotline", forged.clock["hotline"])
        let lie = DottedValue<JSONValue>(dot: Dot("civil-affairs", 1), time: t(1), value: "stolen goods, do not sell")
        let mine = DottedValue<JSONValue>(dot: by, time: t(2), value: "x")
        forged.resolutions = [
            Resolution(
                conflictID: Conflict.makeID(collection: "cases", recordID: "r", field: "notes", dots: [lie.dot, mine.dot]), field: "notes",
                policy: .counter, how: .choose, by: by, time: t(2), values: [lie, mine], result: "x")
        ]
        #expect {
            try OriginCheck.verify(forged, local: hub, caller: "hotline", collection: "cases", id: "r", schema: cases)
        } throws: { "\($0)".contains("calls field notes counter") }
        forged.resolutions = [
            Resolution(
                conflictID: Conflict.makeID(collection: "cases", recordID: "r", field: Conflict.existenceField, dots: [Dot("civil-affairs", 1), by]),
                field: Conflict.existenceField, policy: .updateWins, how: .choose, by: by, time: t(2),
                values: [DottedValue(dot: Dot("civil-affairs", 1), time: t(1), value: true), DottedValue(dot: by, time: t(2), value: false)],
                result: false)
        ]
        #expect {
            try OriginCheck.verify(forged, local: hub, caller: "hotline", collection: "cases", id: "r", schema: cases)
        } throws: { "\($0)".contains("did another thing to the record's existence") }
    }

    /// Review round 3, F7: a new entry of the caller's could carry any conflict id (an open
    /// conflict's, so it showed as resolved), and be added for a write the receiver held without
    /// it, or say its write wrote another value than it did. Its id must be the one its field and
    /// values make; an honest resolution passes.
    @Test func aResolutionEntryIsTheConflictItNames() async throws {
        // The hub holds a manual conflict on status: civil-affairs "open" against hotline "closed".
        var hub = try hubCopy()
        var other = RecordState()
        try other.put(["status": "closed"], by: "hotline", at: t(2), in: cases, id: "r")
        _ = hub.merge(other)
        let open = try #require(hub.conflict(onField: "status", in: cases, id: "r"))
        var honest = hub
        try honest.resolve(open.id, .choose(0), by: "hotline", at: t(3), in: cases, id: "r")
        try verify(honest, hub)
        let entry = try #require(honest.resolutions.first)

        // The open conflict's id on an entry about notes: refused.
        var renamed = honest
        renamed.resolutions = [
            Resolution(
                conflictID: open.id, field: "notes", policy: .lww, how: .choose, by: entry.by, time: entry.time,
                values: [DottedValue(dot: Dot("civil-affairs", 1), time: t(1), value: "civil's note"), entry.values[1]], result: entry.result)
        ]
        #expect { try verify(renamed, hub) } throws: { "\($0)".contains("names other writes (or another field)") }
        // The right field, another id: refused.
        var reid = honest
        reid.resolutions[0].conflictID = "00000000deadbeef"
        #expect { try verify(reid, hub) } throws: { "\($0)".contains("names other writes") }
        // It says its write kept another value than it wrote: refused.
        var wrongResult = honest
        wrongResult.resolutions[0].result = "archived"
        #expect { try verify(wrongResult, hub) } throws: { "\($0)".contains("wrote another value to field status than it did") }
        // An entry added afterwards for a write the hub holds without it: refused.
        var mine = hub
        try mine.put(["phone": "1"], by: "hotline", at: t(4), in: cases, id: "r")
        let held = mine
        var late = held
        try late.put(["notes": "x"], by: "hotline", at: t(5), in: cases, id: "r")
        late.resolutions = [
            Resolution(
                conflictID: open.id, field: "status", policy: .manual, how: .choose, by: Dot("hotline", held.clock["hotline"]), time: t(4),
                values: open.values, result: open.values[0].value)
        ]
        #expect { try verify(late, held) } throws: { "\($0)".contains("which this node holds without it") }
    }

    /// Review round 4, F5: an entry for a conflict that is still open (its values still in the
    /// field), a counter entry whose result is not its stocktake's count, and an existence entry
    /// whose result is not what its write did, were taken.
    @Test func anEntrysClaimsAreCheckedAgainstThePushedState() async throws {
        var hub = try hubCopy()
        var other = RecordState()
        try other.put(["status": "closed"], by: "hotline", at: t(2), in: cases, id: "r")
        _ = hub.merge(other)
        let open = try #require(hub.conflict(onField: "status", in: cases, id: "r"))
        // hotline writes only the phone, and says it ended the status conflict: still open.
        var still = hub
        try still.put(["phone": "1"], by: "hotline", at: t(3), in: cases, id: "r")
        let by = Dot("hotline", still.clock["hotline"])
        still.resolutions = [
            Resolution(
                conflictID: open.id, field: "status", policy: .manual, how: .choose, by: by, time: t(3), values: open.values, result: "settled")
        ]
        #expect { try verify(still, hub) } throws: { "\($0)".contains("still holds (the conflict is open)") }
        // Its time is not its write's.
        var honest = hub
        try honest.resolve(open.id, .choose(0), by: "hotline", at: t(3), in: cases, id: "r")
        var retimed = honest
        retimed.resolutions[0].time = t(9)
        #expect { try verify(retimed, hub) } throws: { "\($0)".contains("another time than the write has") }
        // An existence entry saying the write deleted the record it kept.
        var deleted = hub
        try deleted.delete(by: "civil-affairs", at: t(4), in: cases, id: "r")
        var kept = hub
        try kept.put(["notes": "kept"], by: "hotline", at: t(4), in: cases, id: "r")
        _ = deleted.merge(kept)
        let existence = try #require(deleted.existenceConflict(in: cases, id: "r"))
        var ended = deleted
        try ended.resolve(existence.id, .value(false), by: "hotline", at: t(5), in: cases, id: "r")
        try OriginCheck.verify(ended, local: deleted, caller: "hotline", collection: "cases", id: "r", schema: cases)
        var lied = ended
        let i = try #require(lied.resolutions.firstIndex { $0.field == Conflict.existenceField })
        lied.resolutions[i].result = true
        #expect {
            try OriginCheck.verify(lied, local: deleted, caller: "hotline", collection: "cases", id: "r", schema: cases)
        } throws: { "\($0)".contains("deleted the record; it kept it") }
    }

    /// Review round 4, F5b: a counter entry whose result is not what its stocktake counted.
    @Test func aCounterEntrysResultIsItsStocktakesCount() async throws {
        let stock = CollectionSchema(name: "stock", fields: ["quantity": .counter])
        var a = RecordState()
        try a.put(["quantity": 10], by: "civil-affairs", at: t(1), in: stock, id: "s")
        var b = RecordState()
        try b.put(["quantity": 20], by: "hotline", at: t(1), in: stock, id: "s")
        _ = a.merge(b)
        let conflict = try #require(a.conflict(onField: "quantity", in: stock, id: "s"))
        var resolved = a
        try resolved.resolve(conflict.id, .value(50), by: "hotline", at: t(2), in: stock, id: "s")
        try OriginCheck.verify(resolved, local: a, caller: "hotline", collection: "stock", id: "s", schema: stock)
        var lied = resolved
        lied.resolutions[0].result = 7777
        #expect {
            try OriginCheck.verify(lied, local: a, caller: "hotline", collection: "stock", id: "s", schema: stock)
        } throws: { "\($0)".contains("counted 7777 in quantity; it counted 50") }
    }

    /// Review round 4, F2: a state relayed by a LAN peer (no caller) meets the rules every
    /// honest state passes: a write in a made-up incarnation of this station that drops another
    /// node's value, or a node's own value dropped without a write of its own there, is refused;
    /// an honest relayed state (another node's newer write) passes.
    @Test func aRelayedStateMeetsTheRulesEveryHonestStatePasses() async throws {
        let held = try hubCopy()  // civil-affairs wrote notes and status
        var newer = held
        try newer.put(["notes": "labor's"], by: "labor", at: t(2), in: cases, id: "r")
        try OriginCheck.verify(newer, local: held, caller: nil, collection: "cases", id: "r", schema: cases)
        var forged = held
        _ = forged.clock.increment(NodeID(node: "hotline", incarnation: "zzz"))
        forged.existence = [DottedValue(dot: Dot(NodeID(node: "hotline", incarnation: "zzz"), 1), time: t(3), value: true)]
        forged.fields["notes"] = nil
        #expect {
            try OriginCheck.verify(forged, local: held, caller: nil, collection: "cases", id: "r", schema: cases)
        } throws: { "\($0)".contains("drops the value node civil-affairs wrote") }
        // A file "from civil-affairs" dropping civil-affairs' own value without a write there.
        var own = held
        own.fields["notes"] = nil
        try own.put(["phone": "1"], by: "civil-affairs", at: t(4), in: cases, id: "r")
        #expect {
            try OriginCheck.verify(own, local: held, caller: "civil-affairs", collection: "cases", id: "r", schema: cases)
        } throws: { "\($0)".contains("drops the value node civil-affairs wrote") }
    }

    /// Review round 4, F4: a write-only token's state may not carry a history: whether 4096
    /// entries of its own fit depended on the history the record has here.
    @Test func aWriteOnlyTokensStateCarriesNoHistory() async throws {
        var mine = RecordState()
        try mine.put(["notes": "a"], by: "hotline", at: t(1), in: cases, id: "r")
        try OriginCheck.verifyOnlyOwn(mine, caller: "hotline", collection: "cases", id: "r")
        mine.resolutions = [
            Resolution(
                conflictID: "00000000deadbeef", field: "notes", policy: .lww, how: .write, by: Dot("hotline", 1), time: t(1),
                values: [DottedValue(dot: Dot("hotline", 1), time: t(1), value: "a"), DottedValue(dot: Dot("hotline", 1), time: t(1), value: "b")],
                result: "a")
        ]
        #expect { try OriginCheck.verifyOnlyOwn(mine, caller: "hotline", collection: "cases", id: "r") } throws: {
            ($0 as? SyncError)?.code == .unseenWrites
        }
    }

    /// Review of stop 20, F2: a clock padded with made-up incarnations of the caller's node (to fill
    /// the record's writer limit, after which nobody new can write it) is refused.
    @Test func aClockPaddedWithIncarnationsIsRefused() async throws {
        let hub = try hubCopy()
        var padded = hub
        try padded.put(["phone": "1"], by: "hotline", at: t(2), in: cases, id: "r")
        for n in 0..<OriginCheck.maxIncarnations { _ = padded.clock.increment(NodeID(node: "hotline", incarnation: "f\(n)")) }
        #expect { try verify(padded, hub) } throws: { "\($0)".contains("databases of hotline in the record's clock") }
        var honest = hub
        try honest.put(["phone": "1"], by: NodeID(node: "hotline", incarnation: "a1"), at: t(2), in: cases, id: "r")
        try honest.put(["phone": "2"], by: NodeID(node: "hotline", incarnation: "b2"), at: t(3), in: cases, id: "r")
        try verify(honest, hub)
    }
}
