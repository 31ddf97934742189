import Testing
@testable import StationCore

/// A history entry is worked out from the state replaced and the state stored.
@Suite struct HistoryEntryTests {
    static let me: NodeID = "charity.abc"
    static let other: NodeID = "hotline.xyz"

    func entry(_ previous: RecordState?, _ next: RecordState, writer: NodeID = me) -> HistoryEntry? {
        HistoryEntry(previous: previous, next: next, in: Fixtures.stock, id: "s1", writer: writer)
    }

    @Test func aLocalWriteSaysWhoWroteWhatFromWhatToWhat() throws {
        var s = RecordState()
        try s.put(["name": "Rice", "quantity": 20], by: Self.me, at: Fixtures.t(1), in: Fixtures.stock, id: "s1", author: "Wang Fang")
        let created = try #require(entry(nil, s))
        #expect(created.kind == .created)
        #expect(created.writes == [HistoryEntry.Write(dot: Dot(Self.me, 1), time: Fixtures.t(1), author: "Wang Fang")])
        #expect(
            created.changes == [
                HistoryEntry.FieldChange(field: "name", before: nil, after: "Rice"),
                HistoryEntry.FieldChange(field: "quantity", before: nil, after: 20, moved: 20, counted: true),
            ])
        let before = s
        try s.add(-2, to: "quantity", by: Self.me, at: Fixtures.t(2), in: Fixtures.stock, id: "s1", author: "Li Na")
        let taken = try #require(entry(before, s))
        #expect(taken.kind == .updated && taken.authors == ["Li Na"])
        #expect(taken.changes == [HistoryEntry.FieldChange(field: "quantity", before: 20, after: 18, moved: -2)])
        let alive = s
        try s.delete(by: Self.me, at: Fixtures.t(3), in: Fixtures.stock, id: "s1")
        #expect(entry(alive, s)?.kind == .deleted)
        #expect(entry(alive, s)?.changes == [])
        let deleted = s
        try s.put(["name": "Rice"], by: Self.me, at: Fixtures.t(4), in: Fixtures.stock, id: "s1")
        let restored = try #require(entry(deleted, s))
        #expect(restored.kind == .restored)
        #expect(restored.changes == [HistoryEntry.FieldChange(field: "quantity", before: 18, after: 0, moved: -18, counted: true)])
        // A forced put of what reads show is still this node's write: an entry with no changes.
        let same = s
        try s.put(["name": "Rice"], by: Self.me, at: Fixtures.t(5), in: Fixtures.stock, id: "s1", force: true)
        #expect(entry(same, s)?.kind == .updated && entry(same, s)?.changes == [])
    }

    @Test func aMergeListsTheWritesItBringsAndTheConflictsItOpens() throws {
        var base = RecordState()
        try base.put(["name": "Rice", "price": 30, "quantity": 10], by: Self.me, at: Fixtures.t(1), in: Fixtures.stock, id: "s1")
        var mine = base
        var theirs = base
        try mine.put(["price": 28], by: Self.me, at: Fixtures.t(2), in: Fixtures.stock, id: "s1", author: "Li Na")
        try theirs.put(["price": 25], by: Self.other, at: Fixtures.t(3), in: Fixtures.stock, id: "s1", author: "Chen Jie")
        try theirs.add(5, to: "quantity", by: Self.other, at: Fixtures.t(4), in: Fixtures.stock, id: "s1", author: "Chen Jie")
        var merged = mine
        merged.merge(theirs)
        let e = try #require(entry(mine, merged))
        #expect(e.kind == .merged)
        // Both writes of hotline show: the put's in price, the add's in quantity and existence.
        #expect(e.writes.map(\.dot) == [Dot(Self.other, 1), Dot(Self.other, 2)])
        #expect(e.authors == ["Chen Jie"])
        #expect(e.changes.contains(HistoryEntry.FieldChange(field: "quantity", before: 10, after: 15, moved: 5)))
        // price is manual: reads show the later write (hotline's 25) and the conflict opens.
        #expect(e.changes.contains(HistoryEntry.FieldChange(field: "price", before: 28, after: 25)))
        #expect(e.opened.map(\.field) == ["price"])
        // Merging the same again changes nothing reads show: no entry.
        var again = merged
        again.merge(theirs)
        #expect(entry(merged, again) == nil)
    }

    @Test func aResolutionIsListedWithItsPerson() throws {
        var a = RecordState()
        try a.put(["price": 30], by: Self.me, at: Fixtures.t(1), in: Fixtures.stock, id: "s1")
        var b = RecordState()
        try b.put(["price": 25], by: Self.other, at: Fixtures.t(2), in: Fixtures.stock, id: "s1")
        a.merge(b)
        let conflict = try #require(a.conflict(onField: "price", in: Fixtures.stock, id: "s1"))
        let before = a
        try a.resolve(conflict.id, .choose(1), by: Self.me, at: Fixtures.t(3), in: Fixtures.stock, id: "s1", person: "Zhou")
        let e = try #require(entry(before, a))
        #expect(e.kind == .resolved)
        #expect(e.resolved.map(\.person) == ["Zhou"] && e.resolved.map(\.how) == [.choose])
        #expect(e.changes == [HistoryEntry.FieldChange(field: "price", before: 25, after: 30)])
        // The entry reads back as JSON with what a person needs.
        let json = e.json.canonicalText
        #expect(json.contains(#""kind":"resolved""#) && json.contains(#""person":"Zhou""#) && json.contains(#""how":"choose""#))
    }
}

extension HistoryEntryTests {
    @Test func theEntryWrittenStraightIsItsJSON() throws {
        var a = RecordState()
        try a.put(
            ["name": "Rice \"5kg\"", "price": 30, "quantity": 3], by: Self.me, at: Fixtures.t(1), in: Fixtures.stock, id: "s1", author: "Wang Fang")
        var b = RecordState()
        try b.put(["price": 25], by: Self.other, at: Fixtures.t(2), in: Fixtures.stock, id: "s1")
        var merged = a
        merged.merge(b)
        let conflict = try #require(merged.conflict(onField: "price", in: Fixtures.stock, id: "s1"))
        var resolved = merged
        try resolved.resolve(conflict.id, .value(27), by: Self.me, at: Fixtures.t(3), in: Fixtures.stock, id: "s1", person: "Zhou")
        var later = resolved
        try later.add(-5, to: "quantity", by: Self.me, at: Fixtures.t(4), in: Fixtures.stock, id: "s1")
        for (before, after) in [(nil, a), (a, merged), (merged, resolved), (resolved, later)] as [(RecordState?, RecordState)] {
            let made = try #require(self.entry(before, after))
            var bytes: [UInt8] = []
            made.write(to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == made.json.canonicalText)
        }
    }
}
