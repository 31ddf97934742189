extension Resolution {
    /// `{"by":[node,counter,hlc],"conflict":ID,"field":F,"how":H,"policy":P,"result":V,"values":[[node,counter,hlc,value],…]}`
    public var json: JSONValue {
        .object(
            [
                "conflict": .string(conflictID), "field": .string(field), "policy": .string(policy.rawValue), "how": .string(how.rawValue),
                "by": .array([.string(by.node.rawValue), .int(Int64(by.counter)), .int(Int64(time.rawValue))]),
                "values": .array(
                    values.map {
                        .array(
                            [.string($0.dot.node.rawValue), .int(Int64($0.dot.counter)), .int(Int64($0.time.rawValue)), $0.value]
                                + ($0.author.map { [.string($0)] } ?? []))
                    }),
                "result": result,
            ].merging(person.map { ["who": JSONValue.string($0)] } ?? [:]) { a, _ in a })
    }

    /// Appends the canonical encoding of ``json`` to `out`, written straight from the entry (the
    /// keys in canonical order: by, conflict, field, how, policy, result, values, who), byte for
    /// byte what `json.write(to:)` writes.
    public func write(to out: inout [UInt8]) {
        JSONWriter.writeLiteral(#"{"by":["#, to: &out)
        JSONWriter.writeString(by.node.rawValue, to: &out)
        out.append(UInt8(ascii: ","))
        JSONWriter.writeInt(Int64(by.counter), to: &out)
        out.append(UInt8(ascii: ","))
        JSONWriter.writeInt(Int64(time.rawValue), to: &out)
        JSONWriter.writeLiteral(#"],"conflict":"#, to: &out)
        JSONWriter.writeString(conflictID, to: &out)
        JSONWriter.writeLiteral(#","field":"#, to: &out)
        JSONWriter.writeString(field, to: &out)
        JSONWriter.writeLiteral(#","how":"#, to: &out)
        JSONWriter.writeString(how.rawValue, to: &out)
        JSONWriter.writeLiteral(#","policy":"#, to: &out)
        JSONWriter.writeString(policy.rawValue, to: &out)
        JSONWriter.writeLiteral(#","result":"#, to: &out)
        result.write(to: &out)
        JSONWriter.writeLiteral(#","values":["#, to: &out)
        for (n, v) in values.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            JSONWriter.writeString(v.dot.node.rawValue, to: &out)
            out.append(UInt8(ascii: ","))
            JSONWriter.writeInt(Int64(v.dot.counter), to: &out)
            out.append(UInt8(ascii: ","))
            JSONWriter.writeInt(Int64(v.time.rawValue), to: &out)
            out.append(UInt8(ascii: ","))
            v.value.write(to: &out)
            RecordState.writeAuthor(v.author, to: &out)
        }
        out.append(UInt8(ascii: "]"))
        if let person {
            JSONWriter.writeLiteral(#","who":"#, to: &out)
            JSONWriter.writeString(person, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// Reads and validates one resolution entry of a record state whose clock is `clock`.
    init(json: JSONValue, clock: VectorClock, what: String) throws(CoreError) {
        func bad(_ message: String) -> CoreError { CoreError(.invalidVersion, "record state: \(what): " + message) }
        guard let o = json.objectValue else { throw bad("must be an object") }
        if let extra = o.keys.sorted().first(where: { !["by", "conflict", "field", "how", "policy", "result", "values", "who"].contains($0) }) {
            throw bad("unknown key \"\(extra)\"")
        }
        guard let id = o["conflict"]?.stringValue, id.utf8.count == 16, id.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
        else { throw bad("\"conflict\" must be a 16-digit hex conflict id") }
        guard let field = o["field"]?.stringValue, field == Conflict.existenceField || Names.isValidField(field) else {
            throw bad("\"field\" must be a field name or \(Conflict.existenceField)")
        }
        guard let policy = o["policy"]?.stringValue.flatMap(ConflictPolicy.init(rawValue:)) else {
            throw bad("\"policy\" must be lww, manual, counter, update-wins or delete-wins")
        }
        guard let howText = o["how"]?.stringValue, let how = How(rawValue: howText) else {
            throw bad("\"how\" must be one of \(How.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let by = o["by"]?.arrayValue, by.count == 3, let node = by[0].stringValue, NodeID.isValid(node),
            let counter = by[1].intValue, counter >= 1, let hlc = by[2].intValue, hlc >= 0
        else { throw bad("\"by\" must be [node, counter >= 1, hlc >= 0]") }
        let dot = Dot(NodeID(unchecked: node), UInt64(counter))
        guard clock.contains(dot) else { throw bad("resolving write \(dot) is not covered by clock \(clock)") }
        guard let list = o["values"]?.arrayValue, list.count >= 2 else { throw bad("\"values\" must list at least two competing values") }
        // Kept in the order written: the automatic winner first, as the conflict showed them.
        let values = try RecordState.decodeRegister(list, clock: clock, what: "\(what).values", sortByDot: false) {
            value throws(CoreError) -> JSONValue in value
        }
        // The resolving write came after every value it ended, its own node's earlier ones
        // included; and a register holds one value per node (a counter's total and stocktake are
        // two kinds): an entry saying otherwise ended no conflict any node had.
        if let late = values.first(where: { $0.dot.node == dot.node && $0.dot.counter >= dot.counter }) {
            throw bad("lists \(late.dot) among the values it ended, a write no earlier than the resolving write \(dot)")
        }
        if policy != .counter {
            var writers = Set<NodeID>()
            if let twice = values.first(where: { !writers.insert($0.dot.node).inserted }) {
                throw bad("lists two values of \(twice.dot.node) among the values it ended; a \(policy.rawValue) field holds one value per node")
            }
        }
        guard let result = o["result"] else { throw bad("\"result\" is missing") }
        var person: String?
        if let who = o["who"] {
            guard let name = who.stringValue, Person.isRecorded(name) else {
                throw bad("\"who\" must be a person's name: \(Person.rule)")
            }
            person = name
        }
        self.init(
            conflictID: id, field: field, policy: policy, how: how, by: dot, time: HLCTimestamp(rawValue: UInt64(hlc)),
            values: values, result: result, person: person)
    }
}
