// The canonical JSON form of a record state: what the store keeps and the wire carries.
//
//   {"clock":{"hotline":2,"civil-affairs":1},
//    "exists":[["hotline",2,113761221427200000,true]],
//    "fields":{"status":[["civil-affairs",1,113761221427200000,"open"],["hotline",2,113761221427265536,"closed"]]}}
//
// A value is `[node, counter, hlc, value]`, or `[node, counter, hlc, value, author]` when the write
// named the person who made it. Keys are sorted and entries are sorted by dot, so equal
// states are byte-identical on every replica.

extension RecordState {
    /// Most nodes a record's clock may name; also the most values one register may hold.
    public static let maxClockEntries = 1024
    /// Most resolution entries a record carries: its history keeps the newest this many
    /// (``Resolution/compacted(_:)``).
    public static let maxResolutions = 4096
    /// Largest clock counter accepted from outside (2^48 writes by one node to one record).
    public static let maxCounter: UInt64 = 1 << 48

    /// The canonical JSON text.
    public var canonicalText: String { String(decoding: canonicalBytes, as: UTF8.self) }

    /// The canonical JSON encoding as UTF-8 bytes.
    public var canonicalBytes: [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(512)
        write(to: &out)
        return out
    }

    /// Appends the canonical JSON encoding to `out`.
    ///
    /// Written straight from the state, which keeps everything in canonical order: the clock's
    /// entries by node, the fields by name and every register by dot.
    public func write(to out: inout [UInt8]) {
        var prefixes = EntryPrefixes()
        JSONWriter.writeLiteral(#"{"clock":{"#, to: &out)
        for (n, entry) in clock.sortedEntries.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeString(entry.node.rawValue, to: &out)
            out.append(UInt8(ascii: ":"))
            JSONWriter.writeDecimal(entry.counter, to: &out)
        }
        JSONWriter.writeLiteral(#"},"exists":["#, to: &out)
        for (n, e) in existence.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            prefixes.write(e.dot, e.time, to: &out)
            JSONWriter.writeLiteral(e.value ? "true" : "false", to: &out)
            Self.writeAuthor(e.author, to: &out)
        }
        JSONWriter.writeLiteral(#"],"fields":{"#, to: &out)
        for (n, (name, register)) in fields.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeString(name, to: &out)
            JSONWriter.writeLiteral(":[", to: &out)
            for (m, e) in register.enumerated() {
                if m > 0 { out.append(UInt8(ascii: ",")) }
                prefixes.write(e.dot, e.time, to: &out)
                e.value.write(to: &out)
                Self.writeAuthor(e.author, to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
        if !resolutions.isEmpty {
            JSONWriter.writeLiteral(#","resolved":"#, to: &out)
            out.append(UInt8(ascii: "["))
            for (n, r) in resolutions.enumerated() {
                if n > 0 { out.append(UInt8(ascii: ",")) }
                r.write(to: &out)
            }
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Ends a value: `,"AUTHOR"]` when the write named its author, else `]`.
    static func writeAuthor(_ author: String?, to out: inout [UInt8]) {
        if let author {
            out.append(UInt8(ascii: ","))
            JSONWriter.writeString(author, to: &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    /// Writes `[node,counter,hlc,`, the start of every value in a register. All the values one
    /// write made share it (every value of a new record does), so the last one is kept and copied
    /// while the next value starts the same.
    private struct EntryPrefixes {
        private var dot: Dot?
        private var time = HLCTimestamp.zero
        private var bytes: [UInt8] = []

        mutating func write(_ dot: Dot, _ time: HLCTimestamp, to out: inout [UInt8]) {
            if dot != self.dot || time != self.time {
                (self.dot, self.time) = (dot, time)
                bytes.removeAll(keepingCapacity: true)
                bytes.append(UInt8(ascii: "["))
                JSONWriter.writeString(dot.node.rawValue, to: &bytes)
                bytes.append(UInt8(ascii: ","))
                JSONWriter.writeDecimal(dot.counter, to: &bytes)
                bytes.append(UInt8(ascii: ","))
                JSONWriter.writeDecimal(time.rawValue, to: &bytes)
                bytes.append(UInt8(ascii: ","))
            }
            out.append(contentsOf: bytes)
        }
    }

    /// The state as a JSON value (the same shape as ``canonicalText``).
    public var json: JSONValue {
        (try? JSONParser.parse(bytes: canonicalBytes)) ?? .null
    }

    /// Decodes canonical JSON text, validating it as an incoming version.
    public init(jsonText: String, collection: CollectionSchema? = nil) throws(CoreError) {
        var text = jsonText
        if let state = text.withUTF8({ Self.decodeCanonical($0) }) {
            self = state
            if let collection { try check(against: collection) }
            return
        }
        try self.init(parsing: Array(jsonText.utf8), collection: collection)
    }

    /// Decodes JSON given as UTF-8 bytes, validating it as an incoming version.
    ///
    /// Canonical input (what replicas store and send) is read directly by ``decodeCanonical(_:)``;
    /// anything else goes through the general JSON parser and ``init(json:collection:)``, which
    /// also words every error.
    public init(jsonBytes: some Collection<UInt8>, collection: CollectionSchema? = nil) throws(CoreError) {
        if let state = jsonBytes.withContiguousStorageIfAvailable({ Self.decodeCanonical($0) }) ?? nil {
            self = state
            if let collection { try check(against: collection) }
            return
        }
        try self.init(parsing: Array(jsonBytes), collection: collection)
    }

    /// The general path: parses any JSON, then decodes and validates it.
    private init(parsing bytes: [UInt8], collection: CollectionSchema?) throws(CoreError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes: bytes)
        } catch {
            throw CoreError(.invalidVersion, "record state: \(error)")
        }
        try self.init(json: value, collection: collection)
    }

    /// Decodes and validates a state received from elsewhere. Refused: bad node names, counters
    /// of 0, negative or over ``maxCounter``, values whose dot the clock has not seen, duplicate
    /// dots, an existence register that is not exactly the clock's frontier, invalid field names,
    /// and (given the collection) non-integer or duplicate per-node entries in counter fields.
    /// Entry order is normalised, so accepted states re-encode canonically.
    public init(json: JSONValue, collection: CollectionSchema? = nil) throws(CoreError) {
        func bad(_ message: String) -> CoreError { CoreError(.invalidVersion, "record state: " + message) }
        guard let root = json.objectValue else { throw bad("must be an object") }
        func isStateKey(_ key: String) -> Bool {
            switch key {
            case "clock", "exists", "fields", "resolved": return true
            default: return false
            }
        }
        if root.keys.contains(where: { !isStateKey($0) }), let extra = root.keys.sorted().first(where: { !isStateKey($0) }) {
            throw bad("unknown key \"\(extra)\"")
        }
        guard let clockJSON = root["clock"]?.objectValue else { throw bad("\"clock\" must be an object of node → counter") }
        guard clockJSON.count <= Self.maxClockEntries else { throw bad("clock names more than \(Self.maxClockEntries) nodes") }
        // Read in canonical (name) order: the clock is built sorted, and with several problems the
        // same one is reported every time.
        var entries: [VectorClock.Entry] = []
        entries.reserveCapacity(clockJSON.count)
        for (name, counterJSON) in clockJSON.sorted(by: { RecordFields.order($0.key, $1.key) < 0 }) {
            guard NodeID.isValid(name) else {
                throw bad("clock node \"\(name)\" must be 1-64 characters of a-z, 0-9 and '-', with an optional .INCARNATION")
            }
            guard let c = counterJSON.intValue, c >= 1, UInt64(c) <= Self.maxCounter else {
                throw bad("clock counter for \(name) must be an integer from 1 to \(Self.maxCounter), not \(counterJSON.canonicalText)")
            }
            entries.append(VectorClock.Entry(node: NodeID(unchecked: name), counter: UInt64(c)))
        }
        let clock = VectorClock(sortedEntries: entries)

        guard let existsJSON = root["exists"]?.arrayValue else { throw bad("\"exists\" must be an array") }
        let existence = try Self.decodeRegister(existsJSON, clock: clock, what: "exists") { value throws(CoreError) -> Bool in
            guard let b = value.boolValue else { throw bad("\"exists\" values must be true or false") }
            return b
        }
        // Every write sets the existence register, so it holds exactly the frontier of the clock.
        if clock.isEmpty != existence.isEmpty {
            throw bad("\"exists\" must be empty exactly when the clock is")
        }
        for e in existence where clock[e.dot.node] != e.dot.counter {
            throw bad("\"exists\" value \(e.dot) is not the latest write of \(e.dot.node) in clock \(clock)")
        }

        guard let fieldsJSON = root["fields"]?.objectValue else { throw bad("\"fields\" must be an object") }
        var fields: [RecordFields.Field] = []
        fields.reserveCapacity(fieldsJSON.count)
        for (name, registerJSON) in fieldsJSON.sorted(by: { RecordFields.order($0.key, $1.key) < 0 }) {  // as the clock
            guard Names.isValidField(name) else { throw bad("field name \"\(name)\" must match [A-Za-z][A-Za-z0-9_]{0,63}") }
            guard let list = registerJSON.arrayValue, !list.isEmpty else { throw bad("field \(name) must be a non-empty array") }
            fields.append(
                RecordFields.Field(
                    name: name, values: try Self.decodeRegister(list, clock: clock, what: name) { value throws(CoreError) -> JSONValue in value }))
        }
        var resolutions: [Resolution] = []
        if let list = root["resolved"] { resolutions = try Self.decodeResolutions(list, clock: clock) }
        self.init(clock: clock, existence: existence, fields: RecordFields(sorted: fields), resolutions: resolutions)
        if let dot = dotWithTwoAuthors() {
            throw bad("the values of write \(dot) name different authors (a write is made by one person, named on each of its values)")
        }
        if let collection { try check(against: collection) }
    }

    /// A write whose values name different authors (or one names one and another none), or nil.
    /// Every value of one write names the same person, so a state saying otherwise was made by
    /// hand: refused on arrival (``init(json:collection:)``, and the canonical reader gives it up).
    func dotWithTwoAuthors() -> Dot? {
        var first: [Dot: String?] = [:]
        var found: Dot?
        func visit<V>(_ register: [DottedValue<V>]) {
            for e in register where found == nil {
                if let known = first[e.dot] {
                    let same: Bool
                    switch (known, e.author) {
                    case (nil, nil): same = true
                    case (let a?, let b?): same = a.hasSameBytes(as: b)
                    default: same = false
                    }
                    if !same { found = e.dot }
                } else {
                    first[e.dot] = .some(e.author)
                }
            }
        }
        // The usual state names no author, or one: nothing can disagree.
        guard existence.contains(where: { $0.author != nil }) || fields.contains(where: { $0.values.contains { $0.author != nil } })
        else { return nil }
        visit(existence)
        for (_, register) in fields where found == nil { visit(register) }
        return found
    }

    /// Decodes and validates the `resolved` list of a state with `clock`, in canonical order.
    static func decodeResolutions(_ list: JSONValue, clock: VectorClock) throws(CoreError) -> [Resolution] {
        func bad(_ message: String) -> CoreError { CoreError(.invalidVersion, "record state: " + message) }
        guard let items = list.arrayValue else { throw bad("\"resolved\" must be an array") }
        guard items.count <= Self.maxResolutions else { throw bad("more than \(Self.maxResolutions) resolutions") }
        var resolutions: [Resolution] = []
        var seen = Set<RecordState.ResolutionKey>()
        for (i, item) in items.enumerated() {
            let r = try Resolution(json: item, clock: clock, what: "resolved[\(i)]")
            guard seen.insert(ResolutionKey(conflictID: r.conflictID, by: r.by)).inserted else {
                throw bad("resolved[\(i)] repeats conflict \(r.conflictID) resolved by \(r.by)")
            }
            resolutions.append(r)
        }
        // Cut where the bound cuts (in canonical order): a state from before the byte bound, or
        // one made by hand, reads as every replica keeps it.
        return Resolution.compacted(resolutions)
    }

    /// Checks what the collection's policies require of a state: a counter field holds totals
    /// (integers, one per node) and stocktakes that saw only totals it holds, each number within
    /// ±``maxCounterMagnitude`` (RecordState+Counter.swift).
    public func check(against collection: CollectionSchema) throws(CoreError) {
        // A write replaces every value it has seen, its node's own earlier ones included: no
        // state made by writes and joins holds two values of one node in a register (a counter's
        // total and stocktake are two kinds, checked below). One that does was made by hand, and
        // a thousand of them would make every concurrent write's join too large to keep.
        // (Guarded here, not only inside: a generic call costs a metadata lookup on every state.)
        if existence.count > 1 { try Self.checkOneValuePerNode(existence, what: "its existence") }
        // Values within the nesting limit (Limits.valueDepth), so this state fits every message.
        for (name, register) in fields {
            for entry in register where !entry.value.nestsWithinLimit {
                throw Self.tooDeep(entry.value, field: name)
            }
        }
        for entry in resolutions {
            if !entry.result.nestsWithinLimit { throw Self.tooDeep(entry.result, field: entry.field) }
            for v in entry.values where !v.value.nestsWithinLimit { throw Self.tooDeep(v.value, field: entry.field) }
        }
        for (name, register) in fields where register.count > 1 && collection.policy(of: name) != .counter {
            try Self.checkOneValuePerNode(register, what: "field \(name)")
        }
        for name in collection.counterFields {
            guard let register = fields[name] else { continue }
            if register.count == 1, let total = register[0].value.intValue {  // the usual counter: one total
                try Self.checkCounterMagnitude(total, field: name, what: "a total of \(register[0].dot.node)")
                continue
            }
            if register.count == 1, case .object(let o) = register[0].value, o.count == 2, let count = o["count"]?.intValue,
                o["seen"]?.objectValue?.isEmpty == true
            {
                // The other usual one: a count taken with no increments seen (an import, a first put).
                try Self.checkCounterMagnitude(count, field: name, what: "a stocktake by \(register[0].dot.node) counting")
                continue
            }
            try Self.checkCounterRegister(register, field: name)
        }
    }

    static func checkOneValuePerNode<V>(_ register: [DottedValue<V>], what: @autoclosure () -> String) throws(CoreError) {
        guard register.count > 1 else { return }
        var nodes = Set<NodeID>()
        for entry in register where !nodes.insert(entry.dot.node).inserted {
            throw CoreError(
                .invalidVersion, "record state: \(what()) holds two values of \(entry.dot.node) (a write replaces its node's earlier value)")
        }
    }

    static func decodeRegister<V>(
        _ list: [JSONValue], clock: VectorClock, what: String, sortByDot: Bool = true,
        value decode: (JSONValue) throws(CoreError) -> V
    ) throws(CoreError) -> [DottedValue<V>] {
        func bad(_ message: String) -> CoreError { CoreError(.invalidVersion, "record state: " + message) }
        guard list.count <= maxClockEntries else { throw bad("\(what) holds more than \(maxClockEntries) values") }
        var result: [DottedValue<V>] = []
        result.reserveCapacity(list.count)
        // Duplicate dots: a short register (the usual one value) is searched, a long one hashed.
        let hashing = list.count > 8
        var seen = Set<Dot>()
        for item in list {
            guard let parts = item.arrayValue, parts.count == 4 || parts.count == 5,
                let node = parts[0].stringValue, NodeID.isValid(node),
                let counter = parts[1].intValue, counter >= 1,
                let time = parts[2].intValue, time >= 0
            else {
                throw bad(
                    "\(what): each value must be [node, counter >= 1, hlc >= 0, value] or [node, counter, hlc, value, author], not \(item.canonicalText)"
                )
            }
            var author: String?
            if parts.count == 5 {
                guard let name = parts[4].stringValue, Person.isRecorded(name) else {
                    throw bad("\(what): the author of \(node):\(counter) must be a person's name: \(Person.rule), not \(parts[4].canonicalText)")
                }
                author = name
            }
            let dot = Dot(NodeID(unchecked: node), UInt64(counter))
            guard clock.contains(dot) else { throw bad("\(what): value \(dot) is not covered by clock \(clock)") }
            guard hashing ? seen.insert(dot).inserted : !result.contains(where: { $0.dot == dot }) else {
                throw bad("\(what): value \(dot) appears twice")
            }
            result.append(DottedValue(dot: dot, time: HLCTimestamp(rawValue: UInt64(time)), value: try decode(parts[3]), author: author))
        }
        if sortByDot { result.sort { $0.dot < $1.dot } }
        return result
    }
}
