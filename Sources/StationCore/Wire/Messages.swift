/// The answer to `GET /v1/changes`: a batch of changes after the cursor asked for.
public struct PullResponse: Sendable, Equatable {
    /// The answering node.
    public var node: String
    public var changes: [WireChange]
    /// The cursor to ask from next time.
    public var next: FeedCursor
    /// Whether more changes follow.
    public var more: Bool

    public init(node: String, changes: [WireChange], next: FeedCursor, more: Bool) {
        self.node = node
        self.changes = changes
        self.next = next
        self.more = more
    }

    /// Reads a pull response body. The changes' states are kept as bytes (see ``ChangeBatchBody``).
    public init(bytes: [UInt8]) throws(WireError) {
        let body = try Self.readBatch(bytes, what: "pull response")
        guard let o = body?.members, let node = o["node"]?.stringValue, let nextText = o["next"]?.stringValue,
            let more = o["more"]?.boolValue, let list = body?.changes
        else { throw WireError("pull response must have node, changes, next and more") }
        let next: FeedCursor
        do { next = try FeedCursor(checking: nextText) } catch { throw WireError("pull response: next: \(error)") }
        // The peer's name becomes a checkpoint key and the recorded source of what it sent.
        guard NodeID.isValidNode(node) else {
            throw WireError("pull response: node \"\(node.prefix(64))\" must be 1-64 characters of a-z, 0-9 and '-'")
        }
        var changes: [WireChange] = []
        changes.reserveCapacity(list.count)
        for (i, c) in list.enumerated() { changes.append(try WireChange(c, what: "changes[\(i)]")) }
        self.init(node: node, changes: changes, next: next, more: more)
    }

    static func parse(_ bytes: [UInt8], what: String) throws(WireError) -> JSONValue {
        do {
            return try JSONParser.parse(bytes: bytes)
        } catch {
            throw WireError("\(what): \(error)")
        }
    }

    /// Reads a body carrying changes, with the same errors as ``parse(_:what:)``; nil when it is
    /// JSON but not an object.
    static func readBatch(_ bytes: [UInt8], what: String) throws(WireError) -> ChangeBatchBody? {
        do {
            return try ChangeBatchBody.read(bytes)
        } catch {
            throw WireError("\(what): \(error)")
        }
    }
}

/// The body of `POST /v1/changes`: changes the sender pushes, in the sender's name.
public struct PushRequest: Sendable, Equatable {
    /// The pushing node.
    public var node: String
    /// The name the pushing database writes under (`node` or `node.INCARNATION`); the receiver
    /// records it as the source of what it takes whole. Absent in the body: `node`.
    public var writer: String
    /// The writer names this database wrote under before (it was restored from a backup or copied
    /// and took a new incarnation), oldest first: a receiver that knows one of them as this node's
    /// database follows the new name. Absent in the body: none.
    public var lineage: [String]
    /// Whether the sender asks to be the one database writing as `node` from now on, though
    /// another one does (`station sync --take-over`: a reinstalled machine).
    public var takeOver: Bool
    public var changes: [WireChange]

    /// Most names in `lineage`.
    public static let maxLineage = 32

    public init(node: String, writer: String? = nil, lineage: [String] = [], takeOver: Bool = false, changes: [WireChange]) {
        self.node = node
        self.writer = writer ?? node
        self.lineage = lineage
        self.takeOver = takeOver
        self.changes = changes
    }

    /// Encodes with each state's stored canonical text spliced in.
    public static func encode(
        node: String, writer: String? = nil, lineage: [String] = [], takeOver: Bool = false,
        changes: [(collection: String, id: String, seq: Int64, stateText: String)]
    ) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(64 + changes.reduce(0) { $0 + $1.stateText.utf8.count + 64 })
        out.append(contentsOf: #"{"node":"#.utf8)
        JSONWriter.writeString(node, to: &out)
        if let writer, !writer.hasSameBytes(as: node) {
            out.append(contentsOf: #","writer":"#.utf8)
            JSONWriter.writeString(writer, to: &out)
        }
        if !lineage.isEmpty {
            out.append(contentsOf: #","lineage":["#.utf8)
            for (n, name) in lineage.suffix(maxLineage).enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                JSONWriter.writeString(name, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        if takeOver { out.append(contentsOf: #","takeOver":true"#.utf8) }
        out.append(contentsOf: #","changes":["#.utf8)
        for (n, c) in changes.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            WireChange.write(collection: c.collection, id: c.id, seq: c.seq, stateText: c.stateText, to: &out)
        }
        out.append(contentsOf: "]}".utf8)
        return out
    }

    /// Reads and checks a push body: an object with `node` and at most `maxChanges` changes. The
    /// changes' states are kept as bytes (see ``ChangeBatchBody``).
    public init(bytes: [UInt8], maxChanges: Int) throws(WireError) {
        guard let body = try PullResponse.readBatch(bytes, what: "request body") else {
            throw WireError("request body must be a JSON object with node and changes")
        }
        let o = body.members  // `changes`, when an array, is in `body.changes`: a known key anyway
        if let extra = JSONWriter.sortedKeys(o.keys).first(where: { !["node", "writer", "lineage", "takeOver", "changes"].contains($0) }) {
            throw WireError("request body has an unknown key \"\(extra)\"")
        }
        guard let node = o["node"]?.stringValue else { throw WireError("request body needs \"node\": the pushing node's name") }
        guard NodeID.isValidNode(node) else { throw WireError("node \"\(node.prefix(80))\" must be 1-64 characters of a-z, 0-9 and '-'") }
        var writer = node
        if let given = o["writer"] {
            guard let w = given.stringValue, NodeID.isValid(w), NodeID(unchecked: w).isIncarnation(of: node) else {
                throw WireError("\"writer\" must be the pushing node's name, or NODE.INCARNATION of node \(node)")
            }
            writer = w
        }
        var lineage: [String] = []
        if let given = o["lineage"] {
            guard let names = given.arrayValue, names.count <= Self.maxLineage else {
                throw WireError("\"lineage\" must be an array of at most \(Self.maxLineage) writer names")
            }
            for name in names {
                guard let w = name.stringValue, NodeID.isValid(w), NodeID(unchecked: w).isIncarnation(of: node) else {
                    throw WireError(
                        "\"lineage\" holds \(name.canonicalText.prefix(80)), not a writer name of node \(node) (NODE or NODE.INCARNATION)")
                }
                lineage.append(w)
            }
        }
        var takeOver = false
        if let given = o["takeOver"] {
            guard let flag = given.boolValue else { throw WireError("\"takeOver\" must be true or false") }
            takeOver = flag
        }
        guard let list = body.changes else { throw WireError("request body needs \"changes\": an array") }
        guard list.count <= maxChanges else {
            throw WireError("a push carries at most \(maxChanges) changes, this one \(list.count)", code: .tooMany)
        }
        var changes: [WireChange] = []
        changes.reserveCapacity(list.count)
        for (i, c) in list.enumerated() { changes.append(try WireChange(c, what: "changes[\(i)]")) }
        self.init(node: node, writer: writer, lineage: lineage, takeOver: takeOver, changes: changes)
    }
}

/// What a receiver did with each pushed change, and where its own feed stands.
public struct PushResponse: Sendable, Equatable {
    public struct Result: Sendable, Equatable {
        public var collection: String
        public var id: String
        /// What the receiver did with it (see ``MergeResult``; Protocol/http.md).
        public var result: MergeResult
        public init(collection: String, id: String, result: MergeResult) {
            self.collection = collection
            self.id = id
            self.result = result
        }
    }

    public var node: String
    public var results: [Result]
    /// The receiver's cursor after applying the push.
    public var cursor: FeedCursor

    public init(node: String, results: [Result], cursor: FeedCursor) {
        self.node = node
        self.results = results
        self.cursor = cursor
    }

    public var json: JSONValue {
        .object([
            "node": .string(node), "cursor": .string(cursor.text),
            "results": .array(
                results.map { .object(["collection": .string($0.collection), "id": .string($0.id), "result": .string($0.result.rawValue)]) }),
        ])
    }

    public init(bytes: [UInt8]) throws(WireError) {
        let json = try PullResponse.parse(bytes, what: "push response")
        guard let o = json.objectValue, let node = o["node"]?.stringValue, let cursorText = o["cursor"]?.stringValue,
            let list = o["results"]?.arrayValue
        else { throw WireError("push response must have node, results and cursor") }
        let cursor: FeedCursor
        do { cursor = try FeedCursor(checking: cursorText) } catch { throw WireError("push response: cursor: \(error)") }
        var results: [Result] = []
        for (i, item) in list.enumerated() {
            guard let r = item.objectValue, let c = r["collection"]?.stringValue, let id = r["id"]?.stringValue,
                let name = r["result"]?.stringValue
            else { throw WireError("push response results must have collection, id and result") }
            // A result this build does not know could be one that left the record out: taken
            // as anything, the push would move past a change the receiver does not hold.
            guard let result = MergeResult(rawValue: name) else {
                throw WireError(
                    "push response: results[\(i)] (\(c)/\(id)): unknown result \"\(name.prefix(32))\"; nothing of this push is counted as taken")
            }
            results.append(Result(collection: c, id: id, result: result))
        }
        self.init(node: node, results: results, cursor: cursor)
    }
}

/// The answer to `GET /v1/health`: who answers, which database, which schema.
public struct PeerInfo: Sendable, Equatable {
    /// The protocol this build speaks. 2: counters hold stocktakes (RecordState+Counter.swift),
    /// which a node of protocol 1 would read as a sum. 3: a value may name its author (a fifth
    /// element, RecordState+Codec.swift), which a node of protocol 2 refuses as invalid.
    public static let currentProtocol = 3

    /// Why a node of each earlier protocol cannot sync with this one, for the refusal's message.
    public static func whatChanged(since version: Int) -> String {
        version < 2
            ? "protocol 2 counters hold stocktakes, which protocol 1 would add up; protocol 3 values name their authors"
            : "protocol 3 values name the person who wrote them, which protocol 2 refuses"
    }

    public var node: String
    /// A random id made when the database was created: a changed id means the peer's database was
    /// replaced, so cursors into it are void.
    public var database: String
    public var protocolVersion: Int
    /// ``Schema/fingerprint`` of the peer's schema.
    public var schemaFingerprint: String

    public init(node: String, database: String, protocolVersion: Int = PeerInfo.currentProtocol, schemaFingerprint: String) {
        self.node = node
        self.database = database
        self.protocolVersion = protocolVersion
        self.schemaFingerprint = schemaFingerprint
    }

    public var json: JSONValue {
        .object([
            "status": "ok", "node": .string(node), "database": .string(database), "protocol": .int(Int64(protocolVersion)),
            "schema": .string(schemaFingerprint),
        ])
    }

    public init(bytes: [UInt8]) throws(WireError) {
        let json = try PullResponse.parse(bytes, what: "health response")
        guard let o = json.objectValue, let node = o["node"]?.stringValue, let database = o["database"]?.stringValue,
            let version = o["protocol"]?.intValue, let schema = o["schema"]?.stringValue
        else { throw WireError("health response must have node, database, protocol and schema") }
        guard NodeID.isValidNode(node) else {
            throw WireError("health response: node \"\(node.prefix(64))\" must be 1-64 characters of a-z, 0-9 and '-'")
        }
        self.init(node: node, database: database, protocolVersion: Int(version), schemaFingerprint: schema)
    }
}

/// The JSON body of every error answer: `{"error": CODE, "message": TEXT}`, and for an answer
/// about particular records (a push refused by origin binding) `"records": [{"collection", "id"}]`
/// naming each of them.
public struct ErrorBody: Sendable, Equatable {
    public var error: String
    public var message: String
    /// The records the answer is about, in the order of the request (empty: none in particular).
    public var records: [RecordKey]
    public init(error: String, message: String, records: [RecordKey] = []) {
        self.error = error
        self.message = message
        self.records = records
    }
    public var json: JSONValue {
        var o: [String: JSONValue] = ["error": .string(error), "message": .string(message)]
        if !records.isEmpty {
            o["records"] = .array(records.map { .object(["collection": .string($0.collection), "id": .string($0.id)]) })
        }
        return .object(o)
    }

    /// Reads an error body; nil when the bytes are not one. Entries of `records` that are not a
    /// collection and an id are skipped.
    public init?(bytes: [UInt8]) {
        guard let o = (try? JSONParser.parse(bytes: bytes))?.objectValue, let e = o["error"]?.stringValue,
            let m = o["message"]?.stringValue
        else { return nil }
        let records = (o["records"]?.arrayValue ?? []).compactMap { entry -> RecordKey? in
            guard let r = entry.objectValue, let c = r["collection"]?.stringValue, let id = r["id"]?.stringValue else { return nil }
            return RecordKey(c, id)
        }
        self.init(error: e, message: m, records: records)
    }
}
