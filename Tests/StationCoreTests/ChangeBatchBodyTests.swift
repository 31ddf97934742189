import Testing
@testable import StationCore

/// Change batches are read with each state left as bytes (skipped by `JSONParser.skipValue`):
/// the result and every error must be those of parsing the whole body as a tree.
@Suite struct ChangeBatchBodyTests {
    static let state = #"{"clock":{"a":1},"exists":[["a",1,5,true]],"fields":{"quantity":[["a",1,5,3]]}}"#

    func body(_ state: String) -> [UInt8] {
        Array(#"{"node":"a","changes":[{"collection":"stock","id":"s1","state":\#(state)}]}"#.utf8)
    }

    @Test func keepsStateBytesAndDecodesThemAsTheTreeWould() async throws {
        let spaced = #"{ "fields": {"quantity": [["a", 1, 5, 3]]}, "exists": [["a", 1, 5, true]], "clock": {"a": 1} }"#
        for text in [Self.state, spaced] {
            let request = try PushRequest(bytes: body(text), maxChanges: 10)
            #expect(Array(request.changes[0].stateBytes) == Array(text.utf8))
            let decoded = try request.changes[0].decodeState(collection: Fixtures.stock)
            #expect(decoded == (try RecordState(json: JSONParser.parse(text), collection: Fixtures.stock)))
            #expect(decoded.canonicalText == Self.state)
        }
    }

    @Test(arguments: [
        #"{"clock":{"a":1},"clock":{"a":1}}"#,  // duplicate key inside the state
        #"{"fields":{"x":[["a",1,5,"\ud800"]]}}"#,  // unpaired surrogate in a skipped string
        #"{"fields":{"x":[["a",1,5,99999999999999999999]]}}"#,  // integer out of range
        #"{"fields":{"x":[["a",1,5,1e999]]}}"#,  // double out of range
        "{\"fields\":{\"x\":[[\"a\",1,5,\"tab\there\"]]}}",  // a raw tab: a control character
        #"{"fields":{"x":[["a",1,5,tru]]}}"#,  // bad literal
        #"{"fields":{"x":[["a",1,5,3],]}}"#,  // trailing comma
        #"{"fields":"#,  // truncated
        String(repeating: "[", count: 62) + String(repeating: "]", count: 62),  // too deep in the body
        // Canonical, so read in place: a value nested 4 + 59 levels deep is fine in a state on
        // its own but too deep at depth 3 of the body.
        #"{"clock":{"a":1},"exists":[["a",1,5,true]],"fields":{"x":[["a",1,5,"# + String(repeating: "[", count: 59)
            + String(repeating: "]", count: 59) + "]]}}",
    ])
    func refusesBadStatesWithTheParsersError(state: String) {
        func parseError(_ bytes: [UInt8]) -> String {
            do { _ = try JSONParser.parse(bytes: bytes) } catch { return "\(error)" }
            return ""
        }
        let push = body(state)
        #expect(!parseError(push).isEmpty)
        #expect(throws: WireError("request body: " + parseError(push))) { try PushRequest(bytes: push, maxChanges: 10) }
        let pull = Array(#"{"more":false,"next":"x","#.utf8) + push.dropFirst()
        #expect(throws: WireError("pull response: " + parseError(pull))) { try PullResponse(bytes: pull) }
    }

    @Test func refusesDuplicateChangesAndStateKeys() {
        #expect(throws: WireError.self) {
            try PushRequest(bytes: Array(#"{"node":"a","changes":[],"changes":[]}"#.utf8), maxChanges: 10)
        }
        #expect(throws: WireError.self) {
            try PushRequest(bytes: body(Self.state + #","state":{}"#), maxChanges: 10)
        }
        #expect(throws: WireError("changes[0].state must be a record state object")) {
            try PushRequest(bytes: body("[1]"), maxChanges: 10)
        }
    }
}

extension ChangeBatchBodyTests {
    /// The state that is too deep inside a body is a valid state on its own (so the test above
    /// shows the in-place reader counting the body's nesting).
    @Test func theDeepCanonicalStateIsValidOnItsOwn() async throws {
        let value = String(repeating: "[", count: 59) + String(repeating: "]", count: 59)
        let text = #"{"clock":{"a":1},"exists":[["a",1,5,true]],"fields":{"x":[["a",1,5,"# + value + "]]}}"
        #expect(try RecordState(jsonBytes: Array(text.utf8)).canonicalText == text)
    }
}

extension ChangeBatchBodyTests {
    /// A receiver stores a state's canonical JSON: the message's own bytes when they are exactly
    /// that, which needs every field value in its canonical encoding too.
    @Test(arguments: [
        (#"3"#, true), (#""rice""#, true), (#"{"a":1,"b":[true,null]}"#, true), (#"-2.5"#, true),
        (#"1.50"#, false), (#""\u0041""#, false), (#"{"b":1,"a":2}"#, false), (#"[1, 2]"#, false), (#"1E2"#, false),
    ])
    func storedBytesAreTheCanonicalEncoding(value: String, canonical: Bool) throws {
        let text = #"{"clock":{"a":1},"exists":[["a",1,5,true]],"fields":{"note":[["a",1,5,"# + value + "]]}}"
        let change = try PushRequest(bytes: body(text), maxChanges: 10).changes[0]
        let (state, encoded) = try change.decodeStateAndEncoding(collection: Fixtures.stock)
        #expect(encoded == state.canonicalBytes)
        #expect((encoded == Array(text.utf8)) == canonical)
    }
}
