import Testing

@testable import StationCore

/// Typed collections (issue 15): every local write is checked against its field's type, an
/// undeclared field is refused with the closest declared name, and a refusal changes nothing.
@Suite struct FieldTypeTests {
    func t(_ ms: UInt64) -> HLCTimestamp { Fixtures.t(ms) }

    static let schemaText = #"""
        {"collections": {
          "stock": {"default": "lww", "fields": {
            "itemName": {"type": "string", "required": true},
            "notes": {"type": "text"},
            "quantity": {"policy": "counter", "min": 0},
            "pointsPrice": {"policy": "manual", "type": "integer", "min": 0, "max": 1000},
            "price": {"type": "decimal"},
            "fresh": {"type": "boolean"},
            "expiry": {"type": "date"},
            "counted": {"type": "datetime"},
            "unit": {"type": "enum", "values": ["bag", "bottle", "箱"]},
            "phone": {"type": "phone"},
            "donor": {"type": "reference", "collection": "donors"},
            "数量": {"type": "integer"},
            "anything": "lww"
          }},
          "donors": {"fields": {"name": "lww"}}
        }}
        """#

    var stock: CollectionSchema { try! Schema(jsonText: Self.schemaText).collection("stock") }

    func refusal(_ values: [String: JSONValue], on start: RecordState = RecordState()) -> CoreError? {
        var s = start
        do {
            try s.put(values, by: "desk", at: t(1), in: stock, id: "rice")
            return nil
        } catch {
            #expect(s == start, "a refused put changed the state")
            return error
        }
    }

    func created() throws -> RecordState {
        var s = RecordState()
        try s.put(["itemName": "Rice", "quantity": 3], by: "desk", at: t(0), in: stock, id: "rice")
        return s
    }

    @Test func anUndeclaredFieldIsRefusedWithTheClosestName() throws {
        let error = refusal(["itemName": "Rice", "quantiy": 3])
        #expect(error?.code == .unknownField)
        #expect(error?.message == #"stock/rice: unknown field "quantiy" in stock (did you mean "quantity"?)"#)
        // Case alone is one edit; nothing near lists the fields.
        #expect(refusal(["ItemName": "Rice"])?.message.contains(#"did you mean "itemName""#) == true)
        let far = refusal(["itemName": "Rice", "colour": "red"])
        #expect(far?.code == .unknownField)
        #expect(far?.message.contains("its fields: ") == true)
        // A Chinese name is one edit per character.
        #expect(refusal(["itemName": "Rice", "数": 1])?.message.contains(#"did you mean "数量""#) == true)
    }

    @Test func anUntypedCollectionTakesAnyField() throws {
        var s = RecordState()
        try s.put(["whatever": "x", "n": 1.5], by: "desk", at: t(0), in: Fixtures.cases, id: "c")
        #expect(s.view(in: Fixtures.cases, id: "c").fields["whatever"] == "x")
    }

    @Test func everyTypeTakesItsValuesAndRefusesOthers() throws {
        let base = try created()
        let good: [(String, JSONValue)] = [
            ("notes", "two\nlines"), ("pointsPrice", 30), ("pointsPrice", 30.0), ("price", "12.50"), ("price", "-3"),
            ("fresh", true), ("expiry", "2024-02-29"), ("counted", "2024-09-05T09:12:00+08:00"), ("counted", "2024-09-05T09:12Z"),
            ("counted", "2024-09-05T09:12:00.125-05:30"), ("unit", "bag"), ("unit", "箱"), ("phone", "0592-5571-203"),
            ("phone", "+86 (592) 555.0100"), ("donor", "don-0001"), ("数量", 4), ("anything", ["a": [1, 2]]), ("notes", nil),
        ]
        for (field, value) in good {
            var s = base
            try s.put([field: value], by: "desk", at: t(2), in: stock, id: "rice")
        }
        let bad: [(String, JSONValue, CoreError.Code)] = [
            ("itemName", "two\nlines", .wrongType), ("itemName", 5, .wrongType), ("notes", true, .wrongType),
            ("pointsPrice", "30", .wrongType), ("pointsPrice", 2.5, .wrongType), ("pointsPrice", -1, .outOfBounds),
            ("pointsPrice", 1001, .outOfBounds), ("price", 12.5, .wrongType), ("price", "12.", .wrongType), ("price", "1e3", .wrongType),
            ("fresh", "yes", .wrongType), ("expiry", "2023-02-29", .wrongType), ("expiry", "2024-13-01", .wrongType),
            ("expiry", "2024-9-5", .wrongType), ("counted", "2024-09-05T09:12:00", .wrongType),
            ("counted", "2024-09-05T25:00:00Z", .wrongType), ("counted", "2024-09-05 09:12:00+08:00", .wrongType),
            ("itemName", "Rice\u{2028}bag", .wrongType), ("itemName", "Rice\u{0C}", .wrongType), ("itemName", "Rice\u{0}", .wrongType),
            ("itemName", "Rice\u{85}", .wrongType), ("itemName", "Rice\tbag", .wrongType), ("unit", "bags", .valueNotAllowed),
            ("unit", 1, .wrongType),
            ("phone", "call me", .wrongType), ("phone", "12", .wrongType), ("donor", "", .wrongType), ("quantity", -1, .outOfBounds),
            ("quantity", "3", .wrongType), ("itemName", nil, .requiredField),
        ]
        for (field, value, code) in bad {
            let error = refusal([field: value], on: base)
            #expect(error?.code == code, "\(field) = \(value.canonicalText)")
            #expect(error?.message.contains("\"\(field)\"") == true, "the refusal names the field: \(error?.message ?? "")")
        }
        #expect(refusal(["unit": "bags"], on: base)?.message.contains(#"did you mean "bag"?"#) == true)
    }

    @Test func valuesAreStoredAsTheTypeHoldsThem() throws {
        var s = try created()
        try s.put(["price": 200, "pointsPrice": 30.0, "itemName": "Cafe\u{301}", "unit": "bag"], by: "desk", at: t(2), in: stock, id: "rice")
        let view = s.view(in: stock, id: "rice")
        #expect(view.fields["price"] == "200")
        #expect(view.fields["pointsPrice"] == .int(30))
        // NFC: the name is held in one form, whatever keyboard typed it.
        #expect(view.fields["itemName"]?.stringValue.map { Array($0.utf8) } == Array("Caf\u{E9}".utf8))
    }

    @Test func requiredFieldsAreNeededToCreateAndCannotBeUnset() throws {
        let missing = refusal(["quantity": 3])
        #expect(missing?.code == .requiredField)
        #expect(missing?.message == #"stock/rice: field "itemName" is required; give it when creating the record"#)
        var s = RecordState()
        #expect(throws: CoreError.self) { try s.add(5, to: "quantity", by: "desk", at: self.t(0), in: self.stock, id: "rice") }
        #expect(s.isEmpty)
        s = try created()
        try s.put(["notes": "fine"], by: "desk", at: t(2), in: stock, id: "rice")
        // A recreate is a create: the required fields again.
        try s.delete(by: "desk", at: t(3), in: stock, id: "rice")
        #expect(refusal(["quantity": 1], on: s)?.code == .requiredField)
        try s.put(["itemName": "Rice", "quantity": 1], by: "desk", at: t(4), in: stock, id: "rice")
    }

    @Test func aCounterStaysWithinItsBoundsHereAndMayPassThemByMerging() throws {
        var s = try created()
        #expect(throws: CoreError.self) { try s.add(-4, to: "quantity", by: "desk", at: self.t(2), in: self.stock, id: "rice") }
        do {
            try s.add(-4, to: "quantity", by: "desk", at: t(2), in: stock, id: "rice")
        } catch {
            #expect(error.code == .outOfBounds)
            #expect(error.message == #"stock/rice: adding -4 to "quantity" (now 3) would leave -1; it holds at least 0; refused"#)
        }
        try s.add(-2, to: "quantity", by: "desk", at: t(3), in: stock, id: "rice")
        // Two desks each give out the last bag while offline: the merge reads -1 (no write is
        // lost), and a move back towards the bound passes while one further from it does not.
        var a = s, b = s
        try a.add(-1, to: "quantity", by: "desk", at: t(4), in: stock, id: "rice")
        try b.add(-1, to: "quantity", by: "desk-b", at: t(4), in: stock, id: "rice")
        a.merge(b)
        #expect(a.view(in: stock, id: "rice").fields["quantity"] == -1)
        #expect(throws: CoreError.self) { try a.add(-1, to: "quantity", by: "desk", at: self.t(5), in: self.stock, id: "rice") }
        try a.add(1, to: "quantity", by: "desk", at: t(5), in: stock, id: "rice")
        #expect(a.view(in: stock, id: "rice").fields["quantity"] == 0)
        #expect(refusal(["quantity": -1], on: a)?.code == .outOfBounds)
    }

    @Test func aNameTypedInAnotherFormIsTheDeclaredField() throws {
        let text = #"{"collections": {"c": {"fields": {"caf\u00e9": {"type": "string"}, "名前": {"type": "string"}}}}}"#
        let c = try Schema(jsonText: text).collection("c")
        var s = RecordState()
        try s.put(["cafe\u{301}": "x", "名前": "陈"], by: "desk", at: t(0), in: c, id: "r")
        #expect(
            s.fields.keys.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
                == [Array("caf\u{E9}".utf8), Array("名前".utf8)].sorted { $0.lexicographicallyPrecedes($1) })
        // A received version names fields in NFC only.
        #expect(!Names.isValidField("cafe\u{301}"))
        #expect(Names.isValidField("caf\u{E9}"))
        #expect(Names.isValidField("адрес_2"))
        #expect(!Names.isValidField("2nd"))
        #expect(!Names.isValidField("a b"))
        #expect(!Names.isValidField("数-量"))
    }

    @Test func aResolutionsNewValueIsChecked() throws {
        let text = #"{"collections": {"c": {"fields": {"status": {"policy": "manual", "type": "enum", "values": ["open", "closed"]}}}}}"#
        let c = try Schema(jsonText: text).collection("c")
        var a = RecordState()
        try a.put(["status": "open"], by: "desk", at: t(0), in: c, id: "r")
        var b = a
        try a.put(["status": "closed"], by: "desk", at: t(1), in: c, id: "r")
        try b.put(["status": "open"], by: "desk-b", at: t(1), in: c, id: "r", force: true)
        a.merge(b)
        let conflict = try #require(a.view(in: c, id: "r").conflicts.first)
        let before = a
        #expect(throws: CoreError.self) { try a.resolve(conflict.id, .value("shut"), by: "desk", at: self.t(2), in: c, id: "r") }
        #expect(a == before)
        try a.resolve(conflict.id, .value("closed"), by: "desk", at: t(2), in: c, id: "r")
    }

    @Test func schemaFilesAreCheckedAndRoundTrip() throws {
        let schema = try Schema(jsonText: Self.schemaText)
        #expect(try Schema(json: schema.json) == schema)
        // The short form stays the short form: an untyped schema's fingerprint is what it was.
        let untyped = Schema(collections: ["cases": Fixtures.cases])
        #expect(untyped.json.canonicalText.contains(#""status":"manual""#))
        let bad = [
            #"{"collections": {"c": {"fields": {"a": {"type": "colour"}}}}}"#,
            #"{"collections": {"c": {"fields": {"a": {"type": "enum"}}}}}"#,
            #"{"collections": {"c": {"fields": {"a": {"type": "enum", "values": ["x", "x"]}}}}}"#,
            #"{"collections": {"c": {"fields": {"a": {"type": "reference", "collection": "No-Such"}}}}}"#,
            #"{"collections": {"c": {"fields": {"a": {"policy": "counter", "type": "string"}}}}}"#,
            #"{"collections": {"c": {"fields": {"a": {"type": "string", "min": 0}}}}}"#,
            #"{"collections": {"c": {"fields": {"a": {"type": "integer", "min": 5, "max": 1}}}}}"#,
            #"{"collections": {"c": {"fields": {"a": {"type": "string", "requird": true}}}}}"#,
            #"{"collections": {"c": {"fields": {"caf\u00e9": "lww", "cafe\u0301": "lww"}}}}"#,
        ]
        for text in bad {
            #expect(throws: CoreError.self, "\(text)") { try Schema(jsonText: text) }
        }
    }

    @Test func typesArePartOfAgreement() throws {
        func schema(_ fields: String) throws -> Schema {
            try Schema(jsonText: #"{"collections": {"c": {"fields": {"# + fields + "}}}}")
        }
        let here = try schema(#""status": {"type": "enum", "values": ["open"]}, "n": "lww", "count": {"type": "integer"}"#)
        // Additions: an enum value, a type for an untyped field, a new field.
        let wider = try schema(
            #""status": {"type": "enum", "values": ["open", "closed"]}, "n": {"type": "integer"}, "count": {"type": "integer"}, "extra": {"type": "date"}"#
        )
        #expect(here.disagreements(with: wider).isEmpty)
        #expect(wider.disagreements(with: here).isEmpty)
        let extended = here.adding(wider)
        #expect(extended == wider)
        #expect(extended.additions(over: here) == [#"c.extra"#, #"c.n: type integer"#, #"c.status: enum value "closed""#])
        // Incompatible: another type, required on one side, other bounds. Named.
        for other in [
            #""count": {"type": "string"}"#, #""count": {"type": "integer", "required": true}"#,
            #""count": {"type": "integer", "min": 0}"#,
        ] {
            let d = here.disagreements(with: try schema(other))
            #expect(d.map(\.field) == ["count"], "\(other)")
            #expect(d.first?.description.hasPrefix("c.count is lww integer here but") == true)
        }
    }

    @Test func closestNamesAreFoundByEditsOnScalars() {
        #expect(EditDistance.distance("quantiy", "quantity", limit: 2) == 1)
        #expect(EditDistance.distance("kitten", "sitting", limit: 2) == nil)
        #expect(EditDistance.distance("", "ab", limit: 2) == 2)
        #expect(EditDistance.distance("陈美林", "陈美琳", limit: 2) == 1)
        #expect(EditDistance.closest(to: "unot", among: ["until", "unit"]) == "unit")
        #expect(EditDistance.closest(to: "zzzz", among: ["unit"]) == nil)
    }
}
