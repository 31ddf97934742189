import Testing
@testable import StationCore

@Suite struct CodecTests {
    @Test func canonicalFormRoundTrips() async throws {
        var s = RecordState()
        try s.put(["notes": "a\"b", "visits": 3], by: "hotline", at: Fixtures.t(1), in: Fixtures.cases, id: "r")
        try s.put(["status": ["x": 1, "a": [true, nil]]], by: "civil-affairs", at: Fixtures.t(2), in: Fixtures.cases, id: "r")
        let text = s.canonicalText
        #expect(text.hasPrefix(#"{"clock":{"civil-affairs":1,"hotline":1},"exists":[["civil-affairs",1,"#))
        let back = try RecordState(jsonText: text, collection: Fixtures.cases)
        #expect(back == s)
        #expect(back.canonicalText == text)
    }

    @Test(arguments: [
        (#"{"clock":{},"exists":[],"fields":{},"x":1}"#, "unknown key"),
        (#"{"clock":{"a":0},"exists":[],"fields":{}}"#, "from 1 to"),
        (#"{"clock":{"a":-3},"exists":[],"fields":{}}"#, "from 1 to"),
        (#"{"clock":{"a":999999999999999999},"exists":[["a",999999999999999999,1,true]],"fields":{}}"#, "from 1 to"),
        (#"{"clock":{"A":1},"exists":[],"fields":{}}"#, "clock node"),
        (#"{"clock":{"a":1},"exists":[["a",2,1,true]],"fields":{}}"#, "not covered by clock"),
        (#"{"clock":{"a":2},"exists":[["a",1,1,true]],"fields":{}}"#, "not the latest write"),
        (#"{"clock":{"a":1},"exists":[],"fields":{}}"#, "empty exactly when"),
        (#"{"clock":{"a":1},"exists":[["a",1,1,true],["a",1,1,true]],"fields":{}}"#, "appears twice"),
        (#"{"clock":{"a":1},"exists":[["a",1,1,"yes"]],"fields":{}}"#, "true or false"),
        (#"{"clock":{"a":1},"exists":[["a",1,1,true]],"fields":{"visits":[["a",1,1,"x"]]}}"#, "not an integer"),
        (#"{"clock":{"a":1},"exists":[["a",1,1,true]],"fields":{"_x":[["a",1,1,"x"]]}}"#, "field name"),
        (#"{"clock":{"a":1},"exists":[["a",1,1,true]],"fields":{"notes":[]}}"#, "non-empty"),
        (#"{"clock":{"a":1},"exists":[["a",1,-1,true]],"fields":{}}"#, "hlc >= 0"),
        (#"[1]"#, "must be an object"),
        (#"{"clock":"#, "invalid JSON"),
    ])
    func refusesInvalidVersions(text: String, reason: String) {
        #expect {
            _ = try RecordState(jsonText: text, collection: Fixtures.cases)
        } throws: { error in
            (error as? CoreError)?.code == .invalidVersion && "\(error)".contains(reason)
        }
    }
}

@Suite struct SchemaTests {
    @Test func parsesTheDocumentedForm() async throws {
        let s = try Schema(
            jsonText:
                #"{"collections": {"inventory": {"fields": {"quantity": "counter"}, "default": "lww", "deleteConflict": "update-wins"}, "cases": {"default": "manual"}}}"#
        )
        let inv = try s.collection("inventory")
        #expect(inv.policy(of: "quantity") == .counter)
        #expect(inv.policy(of: "other") == .lww)
        #expect(try s.collection("cases").policy(of: "x") == .manual)
        #expect(try s.collection("cases").deleteConflict == .updateWins)
        #expect(try Schema(json: s.json) == s)
    }

    @Test(arguments: [
        (#"{"collections": {"Bad": {}}}"#, "collection name"),
        (#"{"collections": {"a": {"default": "counter"}}}"#, "default must be"),
        (#"{"collections": {"a": {"fields": {"q": "sum"}}}}"#, "must be \"lww\""),
        (#"{"collections": {"a": {"deleteConflict": "never"}}}"#, "deleteConflict"),
        (#"{"collections": {"a": {"feilds": {}}}}"#, "unknown key \"feilds\""),
        (#"{"collections": {"a": {"fields": {"id": "lww"}}}}"#, "field name"),
        (#"{"colections": {}}"#, "unknown key"),
    ])
    func refusesBadSchemas(text: String, reason: String) {
        #expect {
            _ = try Schema(jsonText: text)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func unknownCollectionsNameWhatExists() {
        let s = Schema(collections: ["a": CollectionSchema(name: "a")])
        #expect {
            _ = try s.collection("b")
        } throws: { error in
            "\(error)" == #"unknown collection "b" (the schema declares: a)"#
        }
    }
}
