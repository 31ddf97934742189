import Foundation
import Testing

@testable import StationCore

/// The reader of canonical states (RecordState+CanonicalReader.swift) is a shortcut: it must accept
/// exactly what the general decoder accepts, give the same state, and leave every refusal (with its
/// message) to the general decoder.
@Suite struct CanonicalReaderTests {
    /// A state with two nodes, siblings, a counter, nested values and a resolution history.
    static func sample() throws -> RecordState {
        let c = Fixtures.cases
        var a = RecordState()
        try a.put(["status": "open", "notes": ["a": [1, 2.5, nil], "b": "ü \"q\""], "visits": 3], by: "hotline", at: Fixtures.t(1), in: c, id: "r")
        var b = a
        try a.put(["status": "closed"], by: "hotline", at: Fixtures.t(2), in: c, id: "r")
        try b.put(["status": "referred"], by: "civil-affairs-station-two", at: Fixtures.t(3), in: c, id: "r")
        try b.add(2, to: "visits", by: "civil-affairs-station-two", at: Fixtures.t(4), in: c, id: "r")
        var merged = a.merged(with: b)
        let conflict = try #require(merged.conflict(onField: "status", in: c, id: "r"))
        var resolved = merged
        try resolved.resolve(conflict.id, .choose(1), by: "hotline", at: Fixtures.t(5), in: c, id: "r")
        merged.merge(resolved)
        return merged
    }

    /// What the general decoder makes of `text`: the state or its error message.
    static func general(_ text: String) -> Result<RecordState, CoreError> {
        do {
            return .success(try RecordState(json: try JSONParser.parse(text), collection: Fixtures.cases))
        } catch let error as CoreError {
            return .failure(error)
        } catch {
            return .failure(CoreError(.invalidVersion, "record state: \(error)"))
        }
    }

    /// What decoding the text (the canonical reader first) gives.
    static func decoded(_ text: String) -> Result<RecordState, CoreError> {
        Result { () throws(CoreError) in try RecordState(jsonText: text, collection: Fixtures.cases) }
    }

    @Test func validStatesDecodeTheSameBothWays() async throws {
        let state = try Self.sample()
        #expect(!state.resolutions.isEmpty && state.fields["status"]!.count == 1 && state.clock.entries.count == 2)
        let text = state.canonicalText
        let fast = try #require(Array(text.utf8).withUnsafeBufferPointer { RecordState.decodeCanonical($0) })
        #expect(fast == state)
        #expect(fast.canonicalText == text)
        #expect(Self.decoded(text) == Self.general(text))
        #expect(try RecordState(jsonText: RecordState().canonicalText) == RecordState())
    }

    @Test func everyVariantDecodesOrFailsAsTheGeneralDecoderSays() async throws {
        let text = try Self.sample().canonicalText
        func replacing(_ a: String, _ b: String) -> String { text.replacingOccurrences(of: a, with: b) }
        let variants: [String] = [
            " " + text, text + "\n", replacing(",", ", "), replacing("\"hotline\"", "\"hot\\u006cine\""),
            replacing("\"hotline\"", "\"Hotline\""), replacing("\"status\"", "\"id\""), replacing("\"status\"", "\"9status\""),
            replacing("true]", "1]"), replacing("{\"clock\":{", "{\"clock\":{\"a\":1,"), replacing("\"clock\":{", "\"clock\":{\"zz\":0,"),
            replacing("\"fields\":{", "\"fields\":{\"empty\":[],"), replacing("\"fields\":{", "\"fields\":{\"zz\":[],"),
            replacing(",\"resolved\":", ",\"other\":"), replacing(",\"resolved\":", ",\"resolved\":null,\"x\":"),
            replacing("]],\"fields\"", "],[\"hotline\",1,5,true]],\"fields\""), text.replacingOccurrences(of: "\"visits\":", with: "\"visits\":  "),
            replacing(",3]", ",3.0]"), replacing(",3]", ",-3]"), replacing(",3]", ",\"3\"]"), replacing(",1,", ",01,"), replacing(",1,", ",1.0,"),
            replacing(",1,", ",-1,"), replacing(",1,", ",0,"), replacing(",1,", ",99999999999999999999,"),
            String(text.dropLast()), text + "}", "", "[]", "{}", "null",
            "{\"clock\":{},\"exists\":[],\"fields\":{}}", "{\"clock\":{\"a\":1},\"exists\":[],\"fields\":{}}",
            "{\"clock\":{\"a\":1},\"exists\":[[\"a\",1,0,true]],\"fields\":{\"f\":[[\"a\",1,0," + String(repeating: "[", count: 61)
                + String(repeating: "]", count: 61) + "]]}}",
            "{\"clock\":{\"a\":1},\"exists\":[[\"a\",1,0,true]],\"fields\":{\"f\":[[\"a\",1,0," + String(repeating: "[", count: 60)
                + String(repeating: "]", count: 60) + "]]}}",
            "{\"clock\":{\"a\":1},\"exists\":[[\"a\",1,0,true]],\"fields\":{\"f\":[[\"a\",1,0,1],[\"a\",1,0,2]]}}",
            "{\"clock\":{\"a\":2},\"exists\":[[\"a\",2,0,true]],\"fields\":{\"f\":[[\"a\",2,0,1],[\"a\",1,0,2]]}}",
            "{\"clock\":{\"a\":1,\"a\":1},\"exists\":[[\"a\",1,0,true]],\"fields\":{}}",
            "{\"clock\":{\"b\":1,\"a\":1},\"exists\":[[\"a\",1,0,true],[\"b\",1,0,true]],\"fields\":{}}",
            "{\"clock\":{\"a\":1},\"exists\":[[\"a\",1,9223372036854775808,true]],\"fields\":{}}",
            "{\"clock\":{\"a\":1},\"exists\":[[\"a\",1,9223372036854775807,true]],\"fields\":{}}",
            "{\"clock\":{\"a\":281474976710657},\"exists\":[[\"a\",281474976710657,0,true]],\"fields\":{}}",
            "{\"clock\":{\"a\":1},\"exists\":[[\"a\",1,0,true]],\"fields\":{\"visits\":[[\"a\",1,0,\"x\"]]}}",
        ]
        for variant in variants {
            #expect(Self.decoded(variant) == Self.general(variant), "\(variant)")
        }
    }
}
