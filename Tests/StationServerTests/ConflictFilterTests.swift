import StationCore
import Testing

@testable import StationServer

/// The dashboard's conflict filter: what it holds, and the links that keep it.
@Suite struct ConflictFilterTests {
    func report(collection: String, field: String, policy: ConflictPolicy, from nodes: [NodeID], at ms: UInt64) -> ConflictReport {
        let schema = CollectionSchema(name: collection, fields: [field: policy == .manual ? .manual : .lww])
        var a = RecordState()
        var b = RecordState()
        try! a.put([field: "one"], by: nodes[0], at: HLCTimestamp(wall: ms, logical: 0), in: schema, id: "r")
        try! b.put([field: "two"], by: nodes[1], at: HLCTimestamp(wall: ms + 1, logical: 0), in: schema, id: "r")
        a.merge(b)
        return ConflictReport(open: a.conflict(onField: field, in: schema, id: "r")!)
    }

    @Test func aFilterHoldsWhatItNames() {
        let day: UInt64 = 86_400_000
        let now: UInt64 = 1_800_000_000_000
        let fresh = report(collection: "cases", field: "notes", policy: .lww, from: ["hotline", "civil-affairs"], at: now - day / 2)
        let old = report(collection: "stock", field: "price", policy: .manual, from: ["charity.x1", "hotline"], at: now - 10 * day)
        #expect(ConflictFilter([:]).holds(fresh, now: now) && ConflictFilter([:]).holds(old, now: now))
        #expect(ConflictFilter(["collection": "cases"]).holds(fresh, now: now) && !ConflictFilter(["collection": "cases"]).holds(old, now: now))
        // A station by its name, whatever incarnation wrote.
        #expect(ConflictFilter(["station": "charity"]).holds(old, now: now) && !ConflictFilter(["station": "charity"]).holds(fresh, now: now))
        #expect(ConflictFilter(["policy": "manual"]).holds(old, now: now) && !ConflictFilter(["policy": "manual"]).holds(fresh, now: now))
        #expect(ConflictFilter(["age": "1d"]).holds(fresh, now: now) && !ConflictFilter(["age": "1d"]).holds(old, now: now))
        #expect(ConflictFilter(["age": "older"]).holds(old, now: now) && !ConflictFilter(["age": "older"]).holds(fresh, now: now))
        // Unknown values are no filter; the page stays within bounds.
        let loose = ConflictFilter(["policy": "nonsense", "age": "?", "page": "-4"])
        #expect(loose.isEmpty && loose.page == 1)
    }

    @Test func linksKeepTheFilter() {
        let filter = ConflictFilter(["collection": "cases", "policy": "update-wins", "station": "a b", "page": "3"])
        #expect(filter.query() == "/ui?collection=cases&station=a%20b&policy=update%2Dwins&page=3")
        #expect(filter.query(page: 1) == "/ui?collection=cases&station=a%20b&policy=update%2Dwins")
        #expect(ConflictFilter().query(stationsByLag: true) == "/ui?sort=lag")
        #expect(ConflictFilter().query() == "/ui")
    }
}
