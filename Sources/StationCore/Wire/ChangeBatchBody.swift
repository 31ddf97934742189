// Reading a body that carries a batch of changes (a push request, a pull response) without
// building a JSON tree for the record states.
//
// The states are most of such a body, and a receiver turns each into a `RecordState` anyway:
// building a `JSONValue` tree for them first cost more than the merge itself. So the body is read
// with the general parser's own object and array readers (the same syntax checks, nesting limit
// and error messages as `JSONParser.parse`), except that each change's `state` is only skipped
// over (still fully checked, by `JSONParser.skipValue`) and kept as its bytes. A state in
// canonical form, which senders always use, is decoded right there by the canonical reader instead
// (which accepts only what the skip would); any other is decoded later from its bytes by the
// general path, with the same errors as decoding a parsed tree.

/// A change-batch body read with every change's state left as bytes: the body's top-level
/// members, and the changes with their other members parsed.
struct ChangeBatchBody {
    /// One element of the body's `changes` array.
    enum Element {
        /// An object: its members except `state`, the bytes of `state` if present, and the state
        /// decoded if it was in canonical form (not yet checked against a schema), with whether
        /// the bytes are exactly its canonical encoding.
        case change(members: [String: JSONValue], state: ArraySlice<UInt8>?, decoded: (state: RecordState, exact: Bool)?)
        /// Anything else, parsed (only to be refused by its reader).
        case other(JSONValue)
    }

    /// The top-level members, without `changes` when that is an array (it is in ``changes``).
    var members: [String: JSONValue]
    /// The `changes` array, nil when the body has no `changes` or it is not an array (then it is
    /// in ``members``).
    var changes: [Element]?

    /// Reads `bytes`: nil when they are a JSON value other than an object, a `JSONParseError`
    /// (the one `JSONParser.parse` would give) when they are not JSON.
    static func read(_ bytes: [UInt8]) throws(JSONParseError) -> ChangeBatchBody? {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in
            try JSONParser.read(buffer: buffer) { parser throws(JSONParseError) -> ChangeBatchBody? in
                guard parser.nextByte == UInt8(ascii: "{") else {
                    _ = try parser.parseValue()
                    return nil
                }
                var body = ChangeBatchBody(members: [:], changes: nil)
                try parser.readObject { key, parser throws(JSONParseError) in
                    if key == "changes", parser.nextByte == UInt8(ascii: "[") {
                        let isNew = body.changes == nil && body.members[key] == nil
                        body.changes = try readChanges(&parser, body: bytes)
                        return isNew
                    }
                    let isNew = body.changes == nil || key != "changes"
                    return body.members.updateValue(try parser.parseValue(), forKey: key) == nil && isNew
                }
                return body
            }
        }
    }

    /// The `changes` array at the parser's position.
    private static func readChanges(_ parser: inout JSONParser, body bytes: [UInt8]) throws(JSONParseError) -> [Element] {
        var elements: [Element] = []
        try parser.readArray { parser throws(JSONParseError) in
            guard parser.nextByte == UInt8(ascii: "{") else {
                elements.append(.other(try parser.parseValue()))
                return
            }
            var members: [String: JSONValue] = [:]
            var state: ArraySlice<UInt8>?
            var decoded: (state: RecordState, exact: Bool)?
            try parser.readObject { key, parser throws(JSONParseError) in
                guard key == "state" else { return members.updateValue(try parser.parseValue(), forKey: key) == nil }
                let start = parser.offset
                // A canonical state (what senders send) is decoded where it lies, in one pass;
                // anything else is skipped, with every check, and decoded later from its bytes.
                decoded = parser.readValue { buffer, index, depth in RecordState.decodeCanonical(in: buffer, at: &index, depth: depth) }
                if decoded == nil { try parser.skipValue() }
                let isNew = state == nil
                state = bytes[start..<parser.offset]
                return isNew
            }
            elements.append(.change(members: members, state: state, decoded: decoded))
        }
        return elements
    }
}
