/// One change as the protocol carries it: a record's full state.
///
/// `{"collection": "charity_stock", "id": "stk-0001", "seq": 42, "state": {…record state…}}`;
/// `seq` (the sender's change-feed sequence) is informative and optional.
public struct WireChange: Sendable, Equatable {
    public var collection: String
    public var id: String
    public var seq: Int64?
    /// The record state as a JSON value, validated against the receiver's schema when applied.
    public var state: JSONValue

    public init(collection: String, id: String, seq: Int64? = nil, state: JSONValue) {
        self.collection = collection
        self.id = id
        self.seq = seq
        self.state = state
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

    /// Reads one change from its JSON object; `what` names it in errors (e.g. "changes[3]").
    public init(json: JSONValue, what: String) throws(WireError) {
        guard let o = json.objectValue else { throw WireError("\(what) must be an object") }
        if let extra = o.keys.sorted().first(where: { !["collection", "id", "seq", "state"].contains($0) }) {
            throw WireError("\(what) has an unknown key \"\(extra)\"")
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
        guard let state = o["state"], state.objectValue != nil else { throw WireError("\(what).state must be a record state object") }
        self.init(collection: collection, id: id, seq: seq, state: state)
    }
}

/// A protocol message that does not have the required shape, with what was wrong.
public struct WireError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
