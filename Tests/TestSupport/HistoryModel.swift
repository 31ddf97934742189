import StationCore

/// The random tests' own oracle (issue 11): a model of what was *asked* of a set of replicas,
/// kept apart from the system under test and computed from the requests alone.
///
/// The model knows, per replica and record, which writes reached it (a write is known where it
/// was made and wherever a state holding it was merged). Each write remembers what its replica
/// knew when it was made (`saw`). From that alone it predicts every register of the record as
/// the rules of Protocol/record-state.md define them:
///
/// - `exists`: the writes no other known write has seen (the frontier), each with its alive value;
/// - an `lww`/`manual` field: the known writes that gave it a value (a put, a resolution) and that
///   no known write touching the field (a put of it, a resolution of it, a recreate clearing it)
///   has seen, each with the value asked for;
/// - a `counter` field: per writer that added to it, its latest add, holding the sum of the
///   amounts that writer asked to add; and the stocktakes (a put of it, a recreate's 0, a
///   resolution of it) no known stocktake has seen, each with the count asked for and, per
///   writer, the sum of that writer's adds it had seen. It reads as the sum of every known add
///   without a stocktake, else as each stocktake's count plus the adds it had not seen; stocktakes
///   that read differently are a conflict.
///
/// ``check(_:key:collection:replica:)`` compares a replica's state with that, dot by dot and value
/// by value, and its view with what reads must show (deleted or not, which conflicts, counter
/// totals, equal values no conflict). Only the dots and the alive/deleted decision for a
/// single writer's write come from the system: the model maps each dot the system returned to
/// the write it asked for.
public struct HistoryModel {
    public typealias WriteID = Int

    /// A local write as asked.
    public enum Request: Sendable {
        /// Values to set; a counter's value is a stocktake target.
        case put([String: JSONValue])
        case add(field: String, amount: Int64)
        case delete
        /// A person resolves the conflict on `field` by writing `value`.
        case resolveField(field: String, value: JSONValue)
        /// A person resolves a delete-versus-update conflict: deleted or kept.
        case resolveExistence(deleted: Bool)
    }

    /// What the model expects the system to do with a request.
    public enum Outcome: Equatable, Sendable, CustomStringConvertible {
        /// One write (a new dot).
        case write
        /// Nothing to write: the record already shows it (a put), or is deleted already (a delete).
        case unchanged
        /// Refused, nothing changed (an add to a deleted record, a delete of a missing one).
        case refused

        public var description: String {
            switch self {
            case .write: "a write"
            case .unchanged: "unchanged"
            case .refused: "refused"
            }
        }
    }

    public struct Write: Sendable {
        public let id: WriteID
        public let key: RecordKey
        public let writer: NodeID
        public let dot: Dot
        /// The writes to `key` its replica knew when it was made.
        public let saw: Set<WriteID>
        public let alive: Bool
        /// `lww`/`manual` fields it wrote: the value (`null` for a field a recreate cleared).
        public let fields: [String: JSONValue?]
        /// Counter fields it added to: the amount.
        public let adds: [String: Int64]
        /// Counter fields it set (a stocktake): the count.
        public let stocktakes: [String: Int64]
        public let isResolution: Bool
        public let request: Request
    }

    public private(set) var writes: [Write] = []
    var known: [Int: [RecordKey: Set<WriteID>]] = [:]
    /// Dots are per record: `(writer, n)` is the writer's n-th write to that record.
    var byDot: [RecordKey: [Dot: WriteID]] = [:]

    public init() {}

    /// The writes to `key` that `replica` knows.
    public func knowledge(_ replica: Int, _ key: RecordKey) -> Set<WriteID> { known[replica]?[key] ?? [] }

    /// The records `replica` knows of.
    public func keys(_ replica: Int) -> [RecordKey] { (known[replica] ?? [:]).filter { !$0.value.isEmpty }.map(\.key) }

    /// What `replica` holds of `key`, register by register.
    public struct Registers {
        public var frontier: [Write] = []
        /// lww/manual fields: the current writes that gave a value.
        public var fields: [String: [Write]] = [:]
        /// Counter fields: per writer, the sum of its known adds and its latest add.
        public var totals: [String: [NodeID: (sum: Int64, latest: Write)]] = [:]
        /// Counter fields: the current stocktakes, each with what it read per writer.
        public var stocktakes: [String: [(write: Write, seen: [NodeID: Int64])]] = [:]
        /// Every counter field written.
        public var counterFields: Set<String> { Set(totals.keys).union(stocktakes.keys) }
        public var isEmpty: Bool { frontier.isEmpty }

        public func deleted(_ policy: DeleteConflictPolicy) -> Bool {
            guard !frontier.isEmpty else { return false }
            let anyAlive = frontier.contains { $0.alive }, anyDeleted = frontier.contains { !$0.alive }
            return policy == .updateWins ? !anyAlive : anyDeleted
        }
        public var existenceConflict: Bool { frontier.contains { $0.alive } && frontier.contains { !$0.alive } }
        public func value(_ w: Write, _ field: String) -> JSONValue { (w.fields[field] ?? nil) ?? .null }
        /// The distinct values of a field (by canonical bytes).
        public func distinctValues(_ field: String) -> [JSONValue] {
            var seen: [JSONValue] = []
            for w in fields[field] ?? [] where !seen.contains(value(w, field)) { seen.append(value(w, field)) }
            return seen
        }
        /// What each current stocktake reads as (its count plus the adds it had not seen), or the
        /// sum of the adds when there is none.
        public func counterReadings(_ field: String) -> [Int64] {
            let sums = (totals[field] ?? [:]).mapValues(\.sum)
            guard let current = stocktakes[field], !current.isEmpty else { return [sums.values.reduce(0, +)] }
            return current.map { s in s.write.stocktakes[field]! + sums.reduce(0) { $0 + ($1.value - (s.seen[$1.key] ?? 0)) } }
        }
    }

    public func registers(_ replica: Int, _ key: RecordKey) -> Registers {
        let k = knowledge(replica, key)
        var r = Registers()
        guard !k.isEmpty else { return r }
        let ws = k.sorted().map { writes[$0] }
        var seenByAny = Set<WriteID>()
        for w in ws { seenByAny.formUnion(w.saw) }
        r.frontier = ws.filter { !seenByAny.contains($0.id) }
        var names = Set<String>()
        for w in ws { names.formUnion(w.fields.keys) }
        for name in names {
            var superseded = Set<WriteID>()
            for w in ws where w.fields.keys.contains(name) { superseded.formUnion(w.saw) }
            let current = ws.filter { w in !superseded.contains(w.id) && (w.fields[name].map { $0 != nil } ?? false) }
            if !current.isEmpty { r.fields[name] = current }
        }
        var counterNames = Set<String>()
        for w in ws { counterNames.formUnion(w.adds.keys); counterNames.formUnion(w.stocktakes.keys) }
        for name in counterNames {
            for w in ws {
                guard let amount = w.adds[name] else { continue }
                let previous = r.totals[name]?[w.writer]
                r.totals[name, default: [:]][w.writer] = ((previous?.sum ?? 0) + amount, previous.map { $0.latest.id < w.id ? w : $0.latest } ?? w)
            }
            let takes = ws.filter { $0.stocktakes[name] != nil }
            var seenByTakes = Set<WriteID>()
            for t in takes { seenByTakes.formUnion(t.saw) }
            let current = takes.filter { !seenByTakes.contains($0.id) }
            if !current.isEmpty {
                r.stocktakes[name] = current.map { t in
                    var seen: [NodeID: Int64] = [:]
                    for id in t.saw.sorted() {
                        let w = writes[id]
                        if let amount = w.adds[name] { seen[w.writer, default: 0] += amount }
                    }
                    return (t, seen)
                }
            }
        }
        return r
    }

    /// What the system must do with `request` at `replica` (see ``Outcome``).
    public func outcome(of request: Request, at replica: Int, key: RecordKey, collection: CollectionSchema) -> Outcome {
        let r = registers(replica, key)
        switch request {
        case .put(let values):
            // A counter takes an integer (a stocktake target), nothing else.
            if values.contains(where: { collection.policy(of: $0.key) == .counter && $0.value.intValue == nil }) { return .refused }
            guard !r.isEmpty, !r.deleted(collection.deleteConflict), !r.existenceConflict else { return .write }
            for (name, value) in values {
                if collection.policy(of: name) == .counter {
                    guard r.counterReadings(name).allSatisfy({ $0 == value.intValue }) else { return .write }
                    continue
                }
                let distinct = r.distinctValues(name)
                if distinct.isEmpty, value.isNull { continue }
                guard distinct.count == 1, distinct[0] == value else { return .write }
            }
            return .unchanged
        case .add:
            return !r.isEmpty && r.deleted(collection.deleteConflict) ? .refused : .write
        case .delete:
            if r.isEmpty { return .refused }
            return r.frontier.count == 1 && !r.frontier[0].alive ? .unchanged : .write
        case .resolveField, .resolveExistence:
            return .write
        }
    }

    /// Records a write the system made for `request` at `replica` under `dot` (after
    /// ``outcome(of:at:key:collection:)`` said `.write`).
    public mutating func record(
        _ request: Request, at replica: Int, key: RecordKey, collection: CollectionSchema, writer: NodeID, dot: Dot
    ) {
        let r = registers(replica, key)
        var alive = true
        var fields: [String: JSONValue?] = [:]
        var adds: [String: Int64] = [:]
        var stocktakes: [String: Int64] = [:]
        func stocktake(_ name: String, to target: Int64) { stocktakes[name] = target }
        switch request {
        case .put(let values):
            let recreating = !r.isEmpty && r.deleted(collection.deleteConflict)
            for (name, value) in values {
                if collection.policy(of: name) == .counter { stocktake(name, to: value.intValue!) } else { fields[name] = .some(value) }
            }
            if recreating {
                // Fields not given are unset (null written over them), counters not given restart at 0.
                for (name, current) in r.fields where values[name] == nil && collection.policy(of: name) != .counter {
                    if current.count == 1, r.value(current[0], name).isNull { continue }
                    fields[name] = .some(.null)
                }
                for name in r.counterFields where values[name] == nil { stocktake(name, to: 0) }
            }
        case .add(let name, let amount):
            adds[name] = amount
        case .delete:
            alive = false
        case .resolveField(let name, let value):
            if collection.policy(of: name) == .counter { stocktake(name, to: value.intValue!) } else { fields[name] = .some(value) }
            alive = !r.deleted(collection.deleteConflict)
        case .resolveExistence(let deleted):
            alive = !deleted
        }
        let id = writes.count
        let isResolution: Bool
        switch request {
        case .resolveField, .resolveExistence: isResolution = true
        default: isResolution = false
        }
        let saw = knowledge(replica, key)
        writes.append(
            Write(
                id: id, key: key, writer: writer, dot: dot, saw: saw, alive: alive, fields: fields, adds: adds, stocktakes: stocktakes,
                isResolution: isResolution, request: request))
        known[replica, default: [:]][key, default: []].insert(id)
        byDot[key, default: [:]][dot] = id
    }

    /// Whether the system returned `dot` for an earlier write to `key` already.
    public func isIssued(_ dot: Dot, in key: RecordKey) -> Bool { byDot[key]?[dot] != nil }

    /// `replica` holds a state of `key` whose clock is `clock`: it knows the writes whose dots the
    /// clock contains (for tests that sync through real stores, where which records a sync moved
    /// is the system's business). The registers are then predicted from those writes as asked.
    public mutating func learn(_ replica: Int, _ key: RecordKey, clock: VectorClock?) {
        guard let clock else {
            known[replica, default: [:]][key] = nil
            return
        }
        known[replica, default: [:]][key] = Set((byDot[key] ?? [:]).filter { clock.contains($0.key) }.values)
    }

    /// `replica` holds nothing (a new, empty database).
    public mutating func learnNothing(_ replica: Int) { known[replica] = [:] }

    /// Every write the model recorded to `key`.
    public func writes(to key: RecordKey) -> [Write] { (byDot[key] ?? [:]).values.sorted().map { writes[$0] } }

    /// Every record written.
    public var writtenKeys: [RecordKey] { Array(byDot.keys) }

    /// A state of `key` from `from` was merged at `to`.
    public mutating func merged(_ key: RecordKey, from: Int, to: Int) {
        known[to, default: [:]][key, default: []].formUnion(knowledge(from, key))
    }

    /// `replica` now holds exactly what `source` held when `snapshot` was taken (a restore, a copy).
    public func snapshot(_ replica: Int) -> [RecordKey: Set<WriteID>] { known[replica] ?? [:] }
    public mutating func restore(_ replica: Int, to snapshot: [RecordKey: Set<WriteID>]) { known[replica] = snapshot }

    /// How many writes of `writer` to `key` `replica` knows (its clock entry there).
    public func count(of writer: NodeID, _ replica: Int, _ key: RecordKey) -> UInt64 {
        UInt64(knowledge(replica, key).filter { writes[$0].writer == writer }.count)
    }

    /// Compares `state` (what `replica` holds of `key`) with the model: nil when they agree, else
    /// what differs.
    public func check(_ state: RecordState?, key: RecordKey, collection c: CollectionSchema, replica: Int) -> String? {
        let r = registers(replica, key)
        guard let state, !state.isEmpty else { return r.isEmpty ? nil : "\(key): missing, but \(r.frontier.count) writes reached it" }
        if r.isEmpty { return "\(key): holds a state no write the model knows of reached: \(state.canonicalText)" }
        func name(_ w: Write) -> String { "\(w.dot) (\(w.request))" }
        // Clock: each writer's writes, counted.
        var counts: [NodeID: UInt64] = [:]
        for id in knowledge(replica, key) { counts[writes[id].writer, default: 0] += 1 }
        guard state.clock == VectorClock(counts) else { return "\(key): clock \(state.clock), the model counts \(counts)" }
        // exists: the frontier.
        let existence = Dictionary(state.existence.map { ($0.dot, $0.value) }, uniquingKeysWith: { a, _ in a })
        guard Set(existence.keys) == Set(r.frontier.map(\.dot)) else {
            return "\(key): exists holds \(existence.keys.sorted()), the model's frontier is \(r.frontier.map(name))"
        }
        for w in r.frontier where existence[w.dot] != w.alive {
            return "\(key): exists says \(existence[w.dot]!) for \(name(w)), asked \(w.alive)"
        }
        // Fields.
        let names = Set(state.fields.keys).union(r.fields.keys).union(r.counterFields)
        for field in names.sorted() {
            let register = state.fields[field] ?? []
            if c.policy(of: field) == .counter {
                var expected: [Dot: JSONValue] = [:]
                for (_, t) in r.totals[field] ?? [:] { expected[t.latest.dot] = .int(t.sum) }
                for s in r.stocktakes[field] ?? [] {
                    expected[s.write.dot] = Stocktake(count: s.write.stocktakes[field]!, seen: s.seen).json
                }
                guard Set(register.map(\.dot)) == Set(expected.keys) else {
                    return "\(key).\(field): counter entries \(register.map(\.dot)), the model expects \(expected.keys.sorted())"
                }
                for entry in register where entry.value != expected[entry.dot] {
                    return "\(key).\(field): \(entry.dot) holds \(entry.value.canonicalText), the requests make \(expected[entry.dot]!.canonicalText)"
                }
                continue
            }
            let expected = r.fields[field] ?? []
            guard Set(register.map(\.dot)) == Set(expected.map(\.dot)) else {
                return
                    "\(key).\(field): holds \(register.map { "\($0.dot)=\($0.value)" }), the model expects \(expected.map { "\($0.dot)=\(r.value($0, field))" })"
            }
            for entry in register {
                let w = expected.first { $0.dot == entry.dot }!
                if entry.value != r.value(w, field) {
                    return "\(key).\(field): \(entry.dot) holds \(entry.value.canonicalText), the write asked for \(r.value(w, field).canonicalText)"
                }
            }
        }
        // Resolutions asked for and known here are in the history, unless its bound cut them
        // (Resolution.compacted: the history is then at its bound).
        let historyCut = Resolution.oldestKept(in: state.resolutions) != nil
        for id in knowledge(replica, key) where writes[id].isResolution {
            if !historyCut, !state.resolutions.contains(where: { $0.by == writes[id].dot }) {
                return "\(key): the resolution \(name(writes[id])) is not in the record's history"
            }
        }
        // What reads show.
        let view = state.view(in: c, id: key.id)
        guard view.deleted == r.deleted(c.deleteConflict) else { return "\(key): reads show deleted=\(view.deleted), the model \(!view.deleted)" }
        let existenceConflicts = view.conflicts.filter { $0.field == Conflict.existenceField }
        guard existenceConflicts.isEmpty != r.existenceConflict else {
            return "\(key): delete-versus-update conflict shown: \(!existenceConflicts.isEmpty), the model: \(r.existenceConflict)"
        }
        for field in names.sorted() {
            if c.policy(of: field) == .counter {
                guard r.counterFields.contains(field) else {
                    if view.fields[field] != nil {
                        return "\(key).\(field): reads show \(view.fields[field]!.canonicalText), nothing was asked of it"
                    }
                    continue
                }
                let readings = Set(r.counterReadings(field))
                guard let shown = view.fields[field]?.intValue, readings.contains(shown) else {
                    return "\(key).\(field): reads show \(view.fields[field]?.canonicalText ?? "nothing"), the requests make \(readings.sorted())"
                }
                let conflict = view.conflicts.first { $0.field == field }
                if readings.count > 1 {
                    guard let conflict else { return "\(key).\(field): stocktakes read \(readings.sorted()) and no conflict shown" }
                    guard Set(conflict.values.compactMap(\.value.intValue)) == readings, conflict.values.count == r.stocktakes[field]!.count else {
                        return
                            "\(key).\(field): the conflict shows \(conflict.values.map(\.value.canonicalText)), the stocktakes read \(readings.sorted())"
                    }
                    if !view.conflicted { return "\(key).\(field): stocktakes disagree and the record is not conflicted" }
                } else if conflict != nil {
                    return "\(key).\(field): the stocktakes agree (\(shown)) and a conflict is shown"
                }
                continue
            }
            let distinct = r.distinctValues(field)
            let shown = view.fields[field] ?? .null
            if distinct.isEmpty {
                guard view.fields[field] == nil else { return "\(key).\(field): reads show \(shown.canonicalText), no write gave it a value" }
                continue
            }
            guard distinct.contains(shown) else {
                return "\(key).\(field): reads show \(shown.canonicalText), none of the values written: \(distinct.map(\.canonicalText))"
            }
            let conflict = view.conflicts.first { $0.field == field }
            if distinct.count > 1 {
                guard let conflict else { return "\(key).\(field): \(distinct.count) different values and no conflict shown" }
                let values = Set(conflict.values.map(\.value.canonicalText))
                guard values == Set(distinct.map(\.canonicalText)) else {
                    return "\(key).\(field): the conflict shows \(values.sorted()), the values written are \(distinct.map(\.canonicalText))"
                }
                if c.policy(of: field) == .manual, !view.conflicted { return "\(key).\(field): a manual conflict and the record is not conflicted" }
            } else if conflict != nil {
                return "\(key).\(field): one value (\(shown.canonicalText)) and a conflict shown: equal values are no conflict"
            }
        }
        return nil
    }
}

/// A deterministic generator (SplitMix64): every random test is reproducible from its seed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// True with probability `p`.
    public mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
}

/// Record ids drawn from look-alike pairs: the same text to a person (and to Swift's `String ==`),
/// different bytes, so different records (Protocol/record-state.md, "Which bytes make an id").
public enum LookAlikeIDs {
    public static let all = [
        "r1", "caf\u{E9}", "cafe\u{301}",  // NFC and NFD
        "\u{C5}sa", "\u{212B}sa",  // Å and the angstrom sign
        "\u{F900}", "\u{8C48}",  // a CJK compatibility ideograph and its canonical form
    ]
}
