// A record's history on one node: one entry per version stored that changed what reads show (a
// local write always makes one, a merge only when reads show something new). An entry is worked
// out from the state replaced and the state stored, a pure function of the two: the writes the new
// state brings (who, which node, when), each field that reads differently (from what to what, a
// counter's movement as +5 / −2), the conflicts that opened and the ones a write ended.
//
// The history is each node's own account of what it stored, not replicated: the states carry what
// every replica must agree on (the authors of the surviving values, the resolutions).

/// One entry of a record's history: what one stored version changed.
public struct HistoryEntry: Sendable, Equatable {
    /// What the version did to the record as reads show it.
    public enum Kind: String, Sendable, CaseIterable {
        /// The record's first version here (a write, or the first one received).
        case created
        /// A local write that changed the record's fields (or wrote what it showed, forced).
        case updated
        /// The record reads as deleted, and did not.
        case deleted
        /// The record reads as alive again after reading as deleted.
        case restored
        /// A local write that resolved a conflict (`resolve`).
        case resolved
        /// A version received from a peer that changed what reads show.
        case merged
        /// The record was forgotten here (`station forget`): nothing of it is kept but this history.
        case forgotten
    }

    /// A write the new version brings that reads can still see: its dot, time and author.
    public struct Write: Sendable, Equatable {
        public var dot: Dot
        public var time: HLCTimestamp
        public var author: String?

        public init(dot: Dot, time: HLCTimestamp, author: String?) {
            self.dot = dot
            self.time = time
            self.author = author
        }
    }

    /// A field that reads differently: what it read before and after (nil: unset), and for a
    /// counter the movement (after − before).
    public struct FieldChange: Sendable, Equatable {
        public var field: String
        public var before: JSONValue?
        public var after: JSONValue?
        /// For a counter: how far it moved.
        public var moved: Int64?
        /// For a counter: whether the write took a count (a stocktake) rather than adding.
        public var counted: Bool

        public init(field: String, before: JSONValue?, after: JSONValue?, moved: Int64? = nil, counted: Bool = false) {
            self.field = field
            self.before = before
            self.after = after
            self.moved = moved
            self.counted = counted
        }
    }

    /// A conflict the version opened: its field (or ``Conflict/existenceField``) and id.
    public struct OpenedConflict: Sendable, Equatable {
        public var field: String
        public var id: String
    }

    public var kind: Kind
    /// The writes this version brings, oldest first (by HLC time, then dot). A local write brings
    /// one; a merge those of every node it brings news of whose values survive.
    public var writes: [Write]
    /// Fields that read differently, in field-name order.
    public var changes: [FieldChange]
    public var opened: [OpenedConflict]
    /// Conflicts the version ended (entries new in the record's resolution history).
    public var resolved: [Resolution]

    public init(kind: Kind, writes: [Write], changes: [FieldChange], opened: [OpenedConflict], resolved: [Resolution]) {
        self.kind = kind
        self.writes = writes
        self.changes = changes
        self.opened = opened
        self.resolved = resolved
    }

    /// The authors named by the writes, each once, in the order of ``writes``.
    public var authors: [String] {
        var seen: [String] = []
        for w in writes {
            if let a = w.author, !seen.contains(where: { $0.hasSameBytes(as: a) }) { seen.append(a) }
        }
        return seen
    }
}

extension HistoryEntry {
    /// The entry for storing `next` where `previous` was (nil: no version stored), under
    /// `collection`; `writer` is this node's writer name: a version that moves its clock entry
    /// is a local write. Nil for a received version that changes nothing reads show (the same
    /// values, no conflict opened or ended: a version concurrent with one here that wrote the same).
    public init?(previous: RecordState?, next: RecordState, in collection: CollectionSchema, id: String, writer: NodeID) {
        let before = previous ?? RecordState()
        let local = next.clock[writer] > before.clock[writer]

        // The writes the version brings: the dots of the values it holds that the previous clock
        // had not seen. A write whose values were all superseded in the same batch left nothing to show.
        var writes: [Write] = []
        func collect<V>(_ register: [DottedValue<V>]) {
            for e in register where !before.clock.contains(e.dot) && !writes.contains(where: { $0.dot == e.dot }) {
                writes.append(Write(dot: e.dot, time: e.time, author: e.author))
            }
        }
        collect(next.existence)
        for (_, register) in next.fields { collect(register) }
        writes.sort { $0.time != $1.time ? $0.time < $1.time : $0.dot < $1.dot }

        // Fields whose registers changed; the others read as they did.
        var changes: [FieldChange] = []
        var opened: [OpenedConflict] = []
        RecordFields.forEachPair(before.fields, next.fields) { name, old, new in
            guard old != new else { return }
            let was = old.isEmpty ? nil : before.shown(name, in: collection)
            let now = new.isEmpty ? nil : next.shown(name, in: collection)
            if collection.policy(of: name) == .counter {
                let a = was?.intValue ?? 0
                let b = now?.intValue ?? 0
                let counted = new.contains { e in !before.clock.contains(e.dot) && e.value.intValue == nil }
                if a != b || (local && counted) {
                    let (moved, overflow) = b.subtractingReportingOverflow(a)
                    changes.append(FieldChange(field: name, before: was, after: now, moved: overflow ? nil : moved, counted: counted))
                }
            } else if !Self.sameShown(was, now) {
                changes.append(FieldChange(field: name, before: was, after: now))
            }
            if let c = next.conflict(onField: name, in: collection, id: id), before.conflict(onField: name, in: collection, id: id)?.id != c.id {
                opened.append(OpenedConflict(field: name, id: c.id))
            }
        }
        if let c = next.existenceConflict(in: collection, id: id), before.existenceConflict(in: collection, id: id)?.id != c.id {
            opened.append(OpenedConflict(field: Conflict.existenceField, id: c.id))
        }

        // Resolution entries new in this version.
        var resolved: [Resolution] = []
        if !next.resolutions.isEmpty {
            let known = Set(before.resolutions.map { RecordState.ResolutionKey(conflictID: $0.conflictID, by: $0.by) })
            resolved = next.resolutions.filter { !known.contains(RecordState.ResolutionKey(conflictID: $0.conflictID, by: $0.by)) }
        }

        let wasDeleted = !before.isEmpty && before.isDeleted(in: collection)
        let isDeleted = next.isDeleted(in: collection)
        let kind: Kind
        if before.isEmpty {
            kind = .created
        } else if wasDeleted != isDeleted {
            kind = isDeleted ? .deleted : .restored
        } else if local {
            kind = resolved.contains { $0.how != .write } ? .resolved : .updated
        } else {
            guard !changes.isEmpty || !opened.isEmpty || !resolved.isEmpty else { return nil }
            kind = .merged
        }
        self.init(kind: kind, writes: writes, changes: changes, opened: opened, resolved: resolved)
    }

    /// Whether two shown values are the same by their canonical bytes (nil: unset).
    static func sameShown(_ a: JSONValue?, _ b: JSONValue?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case (let x?, let y?): return x == y
        default: return false
        }
    }
}

extension HistoryEntry {
    /// The entry as JSON, as the store keeps it and `station history --json` shows it:
    /// `kind`; `writes`, each `node` (the station), `writer` (with its incarnation), `counter`,
    /// `time` (ms since 1970) and `author` (or null); `changes`, each `field`, `before` and
    /// `after` (null: unset) and for a counter `moved` and `counted`; `opened`, each `field` and
    /// `id`; `resolved`, each `field`, `conflict`, `how`, `person` (or null), `result` and the
    /// competing `values` (`value`, `node`, `author`).
    /// Appends the canonical encoding of ``json`` to `out`, written straight from the entry (keys
    /// in canonical order), byte for byte what `json.write(to:)` writes: every stored version
    /// writes one, so it costs what the bytes cost.
    public func write(to out: inout [UInt8]) {
        JSONWriter.writeLiteral(#"{"changes":["#, to: &out)
        for (n, c) in changes.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeLiteral(#"{"after":"#, to: &out)
            (c.after ?? .null).write(to: &out)
            JSONWriter.writeLiteral(#","before":"#, to: &out)
            (c.before ?? .null).write(to: &out)
            if c.counted { JSONWriter.writeLiteral(#","counted":true"#, to: &out) }
            JSONWriter.writeLiteral(#","field":"#, to: &out)
            JSONWriter.writeString(c.field, to: &out)
            if let moved = c.moved {
                JSONWriter.writeLiteral(#","moved":"#, to: &out)
                JSONWriter.writeInt(moved, to: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
        JSONWriter.writeLiteral(#"],"kind":"#, to: &out)
        JSONWriter.writeString(kind.rawValue, to: &out)
        JSONWriter.writeLiteral(#","opened":["#, to: &out)
        for (n, o) in opened.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeLiteral(#"{"field":"#, to: &out)
            JSONWriter.writeString(o.field, to: &out)
            JSONWriter.writeLiteral(#","id":"#, to: &out)
            JSONWriter.writeString(o.id, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        JSONWriter.writeLiteral(#"],"resolved":"#, to: &out)
        // Rare: through the JSON value.
        if resolved.isEmpty { JSONWriter.writeLiteral("[]", to: &out) } else { resolvedJSON.write(to: &out) }
        JSONWriter.writeLiteral(#","writes":["#, to: &out)
        for (n, w) in writes.enumerated() {
            if n > 0 { out.append(UInt8(ascii: ",")) }
            JSONWriter.writeLiteral(#"{"author":"#, to: &out)
            if let author = w.author { JSONWriter.writeString(author, to: &out) } else { JSONWriter.writeLiteral("null", to: &out) }
            JSONWriter.writeLiteral(#","counter":"#, to: &out)
            JSONWriter.writeDecimal(w.dot.counter, to: &out)
            JSONWriter.writeLiteral(#","node":"#, to: &out)
            JSONWriter.writeString(w.dot.node.station, to: &out)
            JSONWriter.writeLiteral(#","time":"#, to: &out)
            JSONWriter.writeDecimal(w.time.wall, to: &out)
            JSONWriter.writeLiteral(#","writer":"#, to: &out)
            JSONWriter.writeString(w.dot.node.rawValue, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        JSONWriter.writeLiteral("]}", to: &out)
    }

    public var json: JSONValue {
        .object([
            "kind": .string(kind.rawValue),
            "writes": .array(
                writes.map { w in
                    .object([
                        "node": .string(w.dot.node.station), "writer": .string(w.dot.node.rawValue), "counter": .int(Int64(w.dot.counter)),
                        "time": .int(Int64(w.time.wall)), "author": w.author.map { .string($0) } ?? .null,
                    ])
                }),
            "changes": .array(
                changes.map { c in
                    var o: [String: JSONValue] = ["field": .string(c.field), "before": c.before ?? .null, "after": c.after ?? .null]
                    if let moved = c.moved { o["moved"] = .int(moved) }
                    if c.counted { o["counted"] = true }
                    return .object(o)
                }),
            "opened": .array(opened.map { .object(["field": .string($0.field), "id": .string($0.id)]) }),
            "resolved": resolvedJSON,
        ])
    }

    /// The `resolved` list as JSON.
    var resolvedJSON: JSONValue {
        .array(
            resolved.map { r in
                .object([
                    "field": .string(r.field), "conflict": .string(r.conflictID), "how": .string(r.how.rawValue),
                    "person": r.person.map { .string($0) } ?? .null, "result": r.result,
                    "values": .array(
                        r.values.map { v in
                            .object(["value": v.value, "node": .string(v.dot.node.station), "author": v.author.map { .string($0) } ?? .null])
                        }),
                ])
            })
    }
}
