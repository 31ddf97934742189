/// One change as the protocol carries it: a record's full state.
///
/// `{"collection": "charity_stock", "id": "stk-0001", "seq": 42, "state": {…record state…}}`;
/// `seq` (the sender's change-feed sequence) is informative and optional.
public struct WireChange: Sendable, Equatable {
    public var collection: String
    public var id: String
    public var seq: Int64?
    /// The record state's JSON text exactly as the message carries it (checked to be a JSON
    /// object), validated against the receiver's schema when applied: see ``decodeState(collection:)``.
    public var stateBytes: ArraySlice<UInt8> {
        didSet { decoded = nil }
    }
    /// The state, when it was decoded as the message was read (see `ChangeBatchBody`), not yet
    /// checked against a schema, and whether `stateBytes` are exactly its canonical encoding.
    private var decoded: (state: RecordState, exact: Bool)?

    public init(collection: String, id: String, seq: Int64? = nil, stateBytes: ArraySlice<UInt8>) {
        self.collection = collection
        self.id = id
        self.seq = seq
        self.stateBytes = stateBytes
    }

    /// Equal when they carry the same change, however far it was decoded.
    public static func == (a: WireChange, b: WireChange) -> Bool {
        a.collection.hasSameBytes(as: b.collection) && a.id.hasSameBytes(as: b.id) && a.seq == b.seq && a.stateBytes == b.stateBytes
    }

    /// The record state, decoded and validated as an incoming version of a record in `collection`.
    ///
    /// Straight from the bytes when they are in canonical form (what senders send); otherwise by
    /// the general JSON path, with the same result and the same errors as decoding the state's
    /// parsed JSON value with ``RecordState/init(json:collection:)``.
    public func decodeState(collection: CollectionSchema) throws(CoreError) -> RecordState {
        if let decoded {
            try decoded.state.check(against: collection)
            return decoded.state
        }
        return try RecordState(jsonBytes: stateBytes, collection: collection)
    }

    /// The state, as ``decodeState(collection:)`` gives it, with its canonical JSON: the message's
    /// own bytes when they are exactly that (what senders send), else encoded here.
    public func decodeStateAndEncoding(collection: CollectionSchema) throws(CoreError) -> (state: RecordState, encoded: [UInt8]) {
        let state = try decodeState(collection: collection)
        return (state, decoded?.exact == true ? Array(stateBytes) : state.canonicalBytes)
    }

    /// Appends `{"collection":…,"id":…,"seq":…,"state":STATE}` with the state's canonical text
    /// spliced in as stored (no decode and re-encode on the hot path).
    public static func write(collection: String, id: String, seq: Int64?, stateText: String, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"collection":"#.utf8)
        JSONWriter.writeString(collection, to: &out)
        out.append(contentsOf: #","id":"#.utf8)
        JSONWriter.writeString(id, to: &out)
        if let seq {
            out.append(contentsOf: #","seq":"#.utf8)
            JSONWriter.writeInt(seq, to: &out)
        }
        out.append(contentsOf: #","state":"#.utf8)
        out.append(contentsOf: stateText.utf8)
        out.append(UInt8(ascii: "}"))
    }

    /// Reads one element of a message's `changes`; `what` names it in errors (e.g. "changes[3]").
    init(_ element: ChangeBatchBody.Element, what: String) throws(WireError) {
        guard case .change(let o, let stateBytes, let decoded) = element else { throw WireError("\(what) must be an object") }
        // `state` is not among the members (it is `stateBytes`), and is no unknown key anyway.
        func isKnown(_ key: String) -> Bool { key == "collection" || key == "id" || key == "seq" }
        if o.keys.contains(where: { !isKnown($0) }), let extra = o.keys.sorted().first(where: { !isKnown($0) }) {
            throw WireError("\(what) has an unknown key \"\(extra)\"")  // the first in key order
        }
        guard let collection = o["collection"]?.stringValue else { throw WireError("\(what).collection must be a string") }
        guard let id = o["id"]?.stringValue else { throw WireError("\(what).id must be a string") }
        guard Names.isValidRecordID(id) else {
            let shown = id.count > 64 ? String(id.prefix(64)) + "…" : id
            throw WireError("\(what).id \"\(shown)\" must be 1-256 bytes without control characters")
        }
        var seq: Int64?
        if let s = o["seq"], !s.isNull {
            guard let v = s.intValue, v >= 0 else { throw WireError("\(what).seq must be a non-negative integer") }
            seq = v
        }
        // The bytes are one valid JSON value (the body was checked whole): an object if and only
        // if it starts with a brace.
        guard let stateBytes, stateBytes.first == UInt8(ascii: "{") else {
            throw WireError("\(what).state must be a record state object")
        }
        self.init(collection: collection, id: id, seq: seq, stateBytes: stateBytes)
        self.decoded = decoded
    }
}

/// A protocol message that does not have the required shape, with what was wrong.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What kind of problem a message has: callers switch on it, never on the text.
    public enum Code: String, Sendable {
        /// Not a valid message: bad JSON, a missing or wrong key, a bad value.
        case malformed
        /// More than the message may carry (a push past its number of changes).
        case tooMany
    }

    public var code: Code
    public var message: String
    public init(_ message: String, code: Code = .malformed) {
        self.message = message
        self.code = code
    }
    public var description: String { message }
}
