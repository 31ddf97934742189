import StationCore
import Testing

/// `station list --where/--sort/--limit/--after` as the core decides it: on what reads show.
@Suite struct RecordQueryTests {
    typealias Condition = RecordQuery.Condition

    @Test func conditionsAreReadAsWritten() throws {
        #expect(try Condition(parsing: "quantity<5") == Condition(field: "quantity", op: .less, values: [.int(5)]))
        #expect(try Condition(parsing: "quantity <= 5") == Condition(field: "quantity", op: .lessOrEqual, values: [.int(5)]))
        #expect(try Condition(parsing: "acknowledged=false") == Condition(field: "acknowledged", op: .equal, values: [.bool(false)]))
        #expect(try Condition(parsing: "fullName^=Chen") == Condition(field: "fullName", op: .prefix, values: [.string("Chen")]))
        #expect(try Condition(parsing: "notes!=null") == Condition(field: "notes", op: .notEqual, values: [.null]))
        #expect(
            try Condition(parsing: "status in (open, \"on hold\", 3)")
                == Condition(field: "status", op: .oneOf, values: [.string("open"), .string("on hold"), .int(3)]))
        // The first operator splits; the value may hold others.
        #expect(try Condition(parsing: "notes=a<b") == Condition(field: "notes", op: .equal, values: [.string("a<b")]))
        for bad in ["quantity", "=5", "status in open", "name^=5"] {
            #expect(throws: CoreError.self, "\(bad)") { try Condition(parsing: bad) }
        }
    }

    @Test func valuesCompareByKind() throws {
        let low = try Condition(parsing: "quantity<5")
        #expect(low.holds(for: .int(3)) && low.holds(for: .double(4.5)) && !low.holds(for: .int(5)))
        // A range is no question of a text, or of a record without the field.
        #expect(!low.holds(for: .string("3")) && !low.holds(for: nil))
        #expect(try Condition(parsing: "quantity=5").holds(for: .double(5)))
        #expect(try Condition(parsing: "notes=null").holds(for: nil))
        // Integers past 2^53 compare exactly.
        #expect(!(try Condition(parsing: "n=9007199254740993").holds(for: .int(9_007_199_254_740_992))))
        // Two spellings of one name are two values, as two ids are.
        let nfc = try Condition(parsing: "name=caf\u{E9}")
        #expect(nfc.holds(for: .string("caf\u{E9}")) && !nfc.holds(for: .string("cafe\u{301}")))
        #expect(try Condition(parsing: "name^=\u{9648}").holds(for: .string("\u{9648}\u{5927}\u{660E}")))
    }

    @Test func theOrderIsTotalAndPagesGoOn() throws {
        var query = RecordQuery(sortField: "quantity", descending: false)
        let rows: [(String, JSONValue?)] = [("a", .int(3)), ("b", nil), ("c", .double(2.5)), ("d", .int(3)), ("e", .string("x"))]
        let positions = rows.map { query.position(id: $0.0, fields: $0.1.map { ["quantity": $0] } ?? [:]) }
        #expect(positions.sorted(by: query.precedes).map(\.id) == ["b", "c", "a", "d", "e"])
        query.descending = true
        #expect(positions.sorted(by: query.precedes).map(\.id) == ["e", "d", "a", "c", "b"])
        let cursor = positions[0].cursor
        #expect(try RecordQuery.Position(cursor: cursor) == positions[0])
        #expect(throws: CoreError.self) { try RecordQuery.Position(cursor: "page 2") }
    }
}
