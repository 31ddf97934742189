import StationCore
import StationTestSupport
import Testing

@testable import StationStore

/// Queries read through an index give what reading every record gives (issue 15): the same
/// records, in the same order, with the same pages, for values of every kind, after updates,
/// deletes, recreates, counter adds, merges and forgets.
@Suite struct QueryIndexTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    static let schemaText = #"""
        {"collections": {"items": {"default": "lww", "fields": {"n": "lww", "name": "lww", "count": "counter", "tag": "lww", "other": "lww"},
          "indexes": ["n", "name", "count", "tag"]}}}
        """#

    /// The answer with no index: every record's view, filtered, ordered and paged by RecordQuery.
    func expected(_ store: StationStore, _ query: RecordQuery, after: RecordQuery.Position?, limit: Int?) throws -> [String] {
        let all = try store.records(in: "items").filter { query.matches($0.view.fields) }
            .map { (query.position(id: $0.id, fields: $0.view.fields), $0.id) }
            .filter { after == nil || query.precedes(after!, $0.0) }
            .sorted { query.precedes($0.0, $1.0) }
        return Array(all.map(\.1).prefix(limit ?? .max))
    }

    @Test func anIndexedQueryAnswersAsAScanDoes() async throws {
        let schema = try Schema(jsonText: Self.schemaText)
        let store = try StationStore.create(path: dir.file("q.sqlite"), node: "hotline", schema: schema, clock: TestClock().closure)
        var rng = SeededRandom(seed: 15)
        let values: [JSONValue] = [
            .null, true, false, 0, 1, 2, 3, -1, 1.5, 2.0, -0.5, 9_007_199_254_740_993, "a", "ab", "abc", "b", "B", "caf\u{E9}", "cafe\u{301}",
            "陈美林", "陈美", "", ["x"], ["k": 1], "ab\u{0}", "ab\u{0}c", "a\u{0}",
        ]
        for round in 0..<6 {
            try store.write { tx in
                for i in 0..<40 {
                    let id = "r\(Int.random(in: 0..<60, using: &rng))"
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0: _ = try? tx.delete("items", id)
                    case 1: _ = try? tx.add("items", id, field: "count", amount: Int64.random(in: -3...3, using: &rng))
                    default:
                        var fields: [String: JSONValue] = [:]
                        for field in ["n", "name", "tag", "other"] where Bool.random(using: &rng) {
                            fields[field] = values.randomElement(using: &rng)!
                        }
                        if Int.random(in: 0..<4, using: &rng) == 0 { fields["count"] = .int(Int64.random(in: 0...5, using: &rng)) }
                        _ = try tx.put("items", id, fields)
                    }
                    _ = (round, i)
                }
            }
        }
        let conditions: [String] = [
            "n=1", "n=2", "n<2", "n>=1", "n>-1", "n<=1.5", "n in (1, \"a\", null)", "n=null", "n!=1", "name^=a", "name^=caf", "name^=陈",
            "name=B", "name>a", "count<3", "count>=0", "tag=true", "tag in (false, 0)", "other=a", "name>ab", "name<\"ab\\u0000c\"",
            "name=\"ab\\u0000\"", "name^=\"ab\\u0000\"",
        ]
        var checked = 0
        for sort in [nil, "n", "name", "count", "tag", "other"] {
            for descending in [false, true] where sort != nil || !descending {
                for condition in [nil] + conditions {
                    var query = RecordQuery(conditions: try condition.map { [try RecordQuery.Condition(parsing: $0)] } ?? [])
                    query.sortField = sort
                    query.descending = descending
                    for limit in [nil, 3] {
                        var after: RecordQuery.Position?
                        var pages = 0
                        repeat {
                            let page = try store.query("items", query, after: after, limit: limit)
                            let want = try expected(store, query, after: after, limit: limit)
                            #expect(page.records.map(\.id) == want, "\(query) after \(after?.cursor ?? "-") limit \(limit ?? 0): \(page.plan)")
                            checked += 1
                            after = page.next.map { try! RecordQuery.Position(cursor: $0) }
                            pages += 1
                        } while after != nil && pages < 100
                    }
                }
            }
        }
        #expect(checked > 500)
    }

    @Test func theIndexFollowsDeletesForgetsAndMerges() async throws {
        let schema = try Schema(jsonText: Self.schemaText)
        let store = try StationStore.create(path: dir.file("f.sqlite"), node: "hotline", schema: schema, clock: TestClock().closure)
        try store.put("items", "a", ["n": 1])
        try store.put("items", "b", ["n": 1])
        try store.delete("items", "b")
        let query = RecordQuery(conditions: [try RecordQuery.Condition(parsing: "n=1")], sortField: "n")
        #expect(try store.query("items", query).records.map(\.id) == ["a"])
        #expect(try store.query("items", query, includeDeleted: true).records.map(\.id) == ["a", "b"])
        try store.put("items", "b", ["n": 1])
        #expect(try store.query("items", query).records.map(\.id) == ["a", "b"])
        // A version merged from elsewhere moves the record in the index.
        let c = try schema.collection("items")
        var other = try #require(try store.record("items", "a")).state
        try other.put(["n": 5], by: "civil-affairs", at: HLCTimestamp(wall: 9_999_999_999_999, logical: 0), in: c, id: "a")
        try store.write { tx in _ = try tx.merge("items", "a", other, from: "civil-affairs") }
        #expect(try store.query("items", query).records.map(\.id) == ["b"])
        #expect(
            try store.query("items", RecordQuery(conditions: [try RecordQuery.Condition(parsing: "n=5")], sortField: "n")).records.map(\.id) == ["a"])
        #expect(try store.query("items", query).plan.hasPrefix("index on n"))
        // A record only another node wrote, forgotten: gone from the index too.
        var junk = RecordState()
        try junk.put(["n": 1], by: "civil-affairs", at: HLCTimestamp(wall: 1_000, logical: 0), in: c, id: "junk")
        try store.write { tx in _ = try tx.merge("items", "junk", junk, from: "civil-affairs") }
        #expect(try store.query("items", query).records.map(\.id) == ["b", "junk"])
        _ = try store.forget([RecordKey("items", "junk")])
        #expect(try store.query("items", query).records.map(\.id) == ["b"])
        let rows = try store.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM record_field WHERE id = 'junk'") }
        #expect(rows == 0)
    }

    @Test func searchFindsTextInAnyScriptAndFollowsEveryWrite() async throws {
        let text = #"""
            {"collections": {"people": {"default": "lww", "fields": {"name": {"type": "string"}, "notes": {"type": "text"}, "age": {"type": "integer"}},
              "search": ["name", "notes"]}, "plain": {"fields": {"name": "lww"}}}}
            """#
        let schema = try Schema(jsonText: text)
        let store = try StationStore.create(path: dir.file("s.sqlite"), node: "hotline", schema: schema, clock: TestClock().closure)
        try store.put("people", "p1", ["name": "陈美林", "notes": "Lives alone, 3F"])
        try store.put("people", "p2", ["name": "Chen Hao", "notes": "son of 陈美林"])
        try store.put("people", "p3", ["name": "Wu Lihua"])
        // U+0000 (JSON allows it in a text): the whole text is indexed, not the part before it.
        try store.put("people", "p4", ["name": "Émile Ørsted", "notes": "before\u{0}after"])
        func ids(_ q: String, in c: String = "people") throws -> [String] { try store.search(c, q).records.map(\.id) }
        #expect(try ids("陈美林") == ["p1", "p2"])
        #expect(try ids("美林") == ["p1", "p2"])  // two characters: read through
        #expect(try ids("chen") == ["p2"])  // Latin letters in either case
        #expect(try ids("ALONE") == ["p1"])
        #expect(try ids("wu") == ["p3"])
        #expect(try ids("nobody").isEmpty)
        #expect(try ids("after") == ["p4"] && ids("before") == ["p4"] && ids("Ørsted") == ["p4"])
        // Under three characters, case folds beyond ASCII as the trigrams fold it.
        for text in ["Ém", "ÉM", "ém", "ør", "ØR", "émi", "ÉMI", "ørs"] { #expect(try ids(text) == ["p4"], "\(text)") }
        #expect(throws: CoreError.self) { try store.search("people", "a\u{0}b") }
        try store.delete("people", "p4")
        #expect(try ids("\"quoted\" OR x").isEmpty)  // the text, never FTS syntax
        try store.put("people", "p1", ["notes": "moved in with her son"])
        #expect(try ids("alone").isEmpty)
        try store.delete("people", "p2")
        #expect(try ids("陈美林") == ["p1"])
        try store.put("people", "p2", ["name": "Chen Hao"])
        #expect(try ids("Chen Hao") == ["p2"])
        let page = try store.search("people", "e", limit: 1)
        #expect(page.records.map(\.id) == ["p1"] && page.next == "p1")
        #expect(try store.search("people", "e", after: "p1", limit: 5).records.map(\.id) == ["p2"])
        // A collection with no search fields is scanned.
        try store.put("plain", "x", ["name": "Zhang Yan"])
        #expect(try ids("yan", in: "plain") == ["x"])
        #expect(try store.search("plain", "yan").plan.hasPrefix("scan"))
    }
}
