// Counter fields: increments that add up, stocktakes that set the count (Protocol/record-state.md,
// "Counters").
//
// A counter field's register holds two kinds of values, both ordinary dotted values that the
// merge joins like any other register (the merge knows nothing of them):
//
//   * a **total**, an integer: node N's running total of the amounts N added. Each node has at
//     most one (its latest: N's next increment has seen the last one and replaces it);
//   * a **stocktake**, `{"count": C, "seen": {NODE: TOTAL, …}}`: a person counted C, having seen
//     each node's total as given. A stocktake replaces the stocktakes its node had seen; totals
//     are never replaced by one (each node's increments stay its own).
//
// What reads show: with no stocktake, the sum of the totals. With stocktakes, each one reads
// `C + Σ (total_N − seen_N)` over the totals held: the count plus every increment it had not seen
// (made later, or concurrently). Stocktakes made without seeing each other that read the same
// number are that number (two desks that both counted 100 read 97 after a sale of 3, not 197);
// ones that read differently are a conflict a person resolves (with a new stocktake), and reads
// show the latest one meanwhile (HLC time, then node). The difference between two stocktakes'
// readings does not change as increments arrive, so agreeing stays agreeing.
//
// Every sum is exact. A total, a stocktake's count and what it saw hold at most
// ±``RecordState/maxCounterMagnitude`` (2^53−1, the integers every JSON reader reads exactly): a
// state holding more is refused where it arrives, and a local write that would make one is
// refused. The sum of totals then always fits in 64 bits (a register holds at most 1024). A
// stocktake's reading could still pass 64 bits in theory (a thousand writers each far from what
// a stocktake claims to have seen): such a state is kept like any other, reads the nearest
// 64-bit number and shows a conflict that a stocktake resolves. No merge is ever refused for
// what a counter reads, so no station's large total can stop another's sync.

/// A stocktake held in a counter field's register: the count a person took and each node's total
/// as the writer saw it then.
public struct Stocktake: Hashable, Sendable {
    /// The count taken.
    public var count: Int64
    /// Each node's running total of increments, as the writer saw it.
    public var seen: [NodeID: Int64]

    public init(count: Int64, seen: [NodeID: Int64]) {
        self.count = count
        self.seen = seen
    }

    /// The stocktake a register value holds, or nil for a total (or anything else).
    public init?(_ value: JSONValue) {
        guard case .object(let o) = value, o.count == 2, let count = o["count"]?.intValue, let seenJSON = o["seen"]?.objectValue
        else { return nil }
        var seen: [NodeID: Int64] = [:]
        seen.reserveCapacity(seenJSON.count)
        for (name, total) in seenJSON {
            guard NodeID.isValid(name), let t = total.intValue else { return nil }
            seen[NodeID(unchecked: name)] = t
        }
        self.init(count: count, seen: seen)
    }

    /// The register value: `{"count": C, "seen": {NODE: TOTAL}}`.
    public var json: JSONValue {
        .object(["count": .int(count), "seen": .object(Dictionary(uniqueKeysWithValues: seen.map { ($0.key.rawValue, .int($0.value)) }))])
    }
}

extension RecordState {
    /// What a counter field reads as.
    public struct CounterReading: Sendable, Equatable {
        /// What reads show: the sum (no stocktake), the stocktakes' common reading, or the latest
        /// stocktake's while they disagree.
        public var value: Int64
        /// False when some reading does not fit in 64 bits: the readings are then clamped to the
        /// nearest 64-bit number and the field shows a conflict (``RecordState/counterConflict``)
        /// until a stocktake sets the count.
        public var fits: Bool
        /// The stocktakes held (usually none or one), winner first, each with what it reads as.
        public var stocktakes: [Read]

        public struct Read: Sendable, Equatable {
            public var entry: DottedValue<JSONValue>
            public var reading: Int64
        }

        /// Whether stocktakes that read differently are held, or some reading does not fit in 64
        /// bits (a conflict).
        public var disagrees: Bool {
            guard fits else { return true }
            guard let first = stocktakes.first else { return false }
            return stocktakes.dropFirst().contains { $0.reading != first.reading }
        }
    }

    /// How the counter field `field` reads (see the top of this file).
    public func counterReading(_ field: String) -> CounterReading {
        guard let register = fields[field] else { return CounterReading(value: 0, fits: true, stocktakes: []) }
        var totals: [(node: NodeID, total: Int64)] = []
        var stocktakes: [(DottedValue<JSONValue>, Stocktake)] = []
        var sum: Int128 = 0
        for entry in register {
            if let total = entry.value.intValue {
                totals.append((entry.dot.node, total))
                sum += Int128(total)
            } else if let s = Stocktake(entry.value) {
                stocktakes.append((entry, s))
            }
        }
        var fits = true
        func clamped(_ x: Int128) -> Int64 {
            if x < Int128(Int64.min) { fits = false; return .min }
            if x > Int128(Int64.max) { fits = false; return .max }
            return Int64(x)
        }
        guard !stocktakes.isEmpty else {
            let value = clamped(sum)
            return CounterReading(value: value, fits: fits, stocktakes: [])
        }
        var read: [CounterReading.Read] = stocktakes.map { entry, s in
            var r = Int128(s.count)
            for (node, total) in totals { r += Int128(total) - Int128(s.seen[node] ?? 0) }
            return CounterReading.Read(entry: entry, reading: clamped(r))
        }
        if read.count > 1 { read.sort { DottedValue.winsOver($0.entry, $1.entry) } }
        return CounterReading(value: read[0].reading, fits: fits, stocktakes: read)
    }

    /// What reads show of a counter field (see ``counterReading(_:)``).
    public func counterTotal(_ field: String) -> Int64 { counterReading(field).value }

    /// The conflict of a counter field read as `reading`: stocktakes made without seeing each
    /// other that read differently (its values what each reads as, the one reads show first), or
    /// a reading past 64 bits (its values every total and stocktake held, the largest first).
    func counterConflict(_ reading: CounterReading, onField name: String, in collection: CollectionSchema, id: String) -> Conflict? {
        guard reading.disagrees else { return nil }
        guard reading.fits else {
            let entries = fields[name] ?? []
            // Each total as it is, each stocktake as its count: the numbers a person weighs.
            let numbers = entries.map { (entry: $0, number: $0.value.intValue ?? Stocktake($0.value)?.count ?? 0) }
                .sorted { $0.number.magnitude != $1.number.magnitude ? $0.number.magnitude > $1.number.magnitude : $0.entry.dot < $1.entry.dot }
            let values = numbers.map { DottedValue(dot: $0.entry.dot, time: $0.entry.time, value: JSONValue.int($0.number), author: $0.entry.author) }
            return Conflict(
                id: Conflict.makeID(collection: collection.name, recordID: id, field: name, dots: entries.map(\.dot)),
                collection: collection.name, recordID: id, field: name, policy: .counter,
                values: values, automatic: false, rule: ConflictReport.counterOverflowRule)
        }
        return Conflict(
            id: Conflict.makeID(collection: collection.name, recordID: id, field: name, dots: reading.stocktakes.map(\.entry.dot)),
            collection: collection.name, recordID: id, field: name, policy: .counter,
            values: reading.stocktakes.map { DottedValue(dot: $0.entry.dot, time: $0.entry.time, value: .int($0.reading), author: $0.entry.author) },
            automatic: false,
            rule: ConflictReport.rule(policy: .counter))
    }

    /// The largest magnitude a counter's total, a stocktake's count or what it saw may hold:
    /// 2^53−1 (9,007,199,254,740,991), the integers every JSON reader (JavaScript's included)
    /// reads exactly.
    public static let maxCounterMagnitude: Int64 = (1 << 53) - 1

    /// Whether `number` is one a counter's total or count may hold (within ±``maxCounterMagnitude``).
    @inline(__always)
    static func holdsAsCounter(_ number: Int64) -> Bool { number.magnitude <= UInt64(maxCounterMagnitude) }

    /// This node's running total in a counter field (0 before its first increment).
    func ownCounterTotal(_ field: String, node: NodeID) -> Int64 {
        fields[field]?.first { $0.dot.node == node && $0.value.intValue != nil }?.value.intValue ?? 0
    }

    /// Sets this node's running total in a counter field (its one total entry, replaced).
    mutating func setOwnCounterTotal(_ field: String, node: NodeID, dot: Dot, time: HLCTimestamp, total: Int64, author: String? = nil) {
        var entries = fields.removeValue(forKey: field) ?? []
        entries.removeAll { $0.dot.node == node && $0.value.intValue != nil }
        insertSorted(DottedValue(dot: dot, time: time, value: .int(total), author: author), into: &entries)
        fields[field] = entries
    }

    /// Writes a stocktake: replaces every stocktake held (this write has seen them) and records
    /// every total held as seen; the totals stay.
    mutating func writeStocktake(_ field: String, count: Int64, dot: Dot, time: HLCTimestamp, author: String? = nil) {
        var entries = fields.removeValue(forKey: field) ?? []
        entries.removeAll { $0.value.intValue == nil }
        var seen: [NodeID: Int64] = [:]
        for e in entries { seen[e.dot.node] = e.value.intValue! }
        insertSorted(DottedValue(dot: dot, time: time, value: Stocktake(count: count, seen: seen).json, author: author), into: &entries)
        fields[field] = entries
    }

    private func insertSorted(_ value: DottedValue<JSONValue>, into entries: inout [DottedValue<JSONValue>]) {
        entries.insert(value, at: entries.firstIndex { value.dot < $0.dot } ?? entries.endIndex)
    }

    /// Refuses a join whose counter register holds a stocktake that saw a total the register no
    /// longer holds (`inconsistent_join`). Honest versions never join so (a total is never
    /// removed): one of the two dropped another node's total under a clock that covers it (a
    /// forgery a station took from a LAN peer with no copy to check it against) and the other
    /// holds a stocktake that saw it. Such a join is refused for that record, as a state no node
    /// could read would be, and the version held stays.
    public func checkJoinedCounters(in collection: CollectionSchema, id: String) throws(CoreError) {
        for name in collection.counterFields {
            // Only a register holding a stocktake can fail: most hold totals alone.
            guard let register = fields[name], register.contains(where: { $0.value.intValue == nil }) else { continue }
            do {
                try Self.checkCounterRegister(register, field: name)
            } catch {
                throw CoreError(
                    .inconsistentJoin,
                    "\(collection.name)/\(id): merging the version received with the one here would make a state no node accepts "
                        + "(counter field \(name) would hold a stocktake that saw a total it no longer holds: one of the two versions "
                        + "dropped another node's total); refused for this record, this node's version is kept")
            }
        }
    }

    /// Checks a counter field's register received from elsewhere: integers (one total per node)
    /// and stocktakes whose `seen` names only nodes whose totals the register holds (a stocktake
    /// can only have seen increments that exist; it may not pre-empt a node's future ones).
    static func checkCounterRegister(_ register: [DottedValue<JSONValue>], field name: String) throws(CoreError) {
        func bad(_ message: String) -> CoreError { CoreError(.invalidVersion, "record state: counter field \(name) " + message) }
        var totalsOf = Set<NodeID>()
        var stocktakesOf = Set<NodeID>()
        var stocktakes: [Stocktake] = []
        for entry in register {
            if let total = entry.value.intValue {
                guard totalsOf.insert(entry.dot.node).inserted else { throw bad("holds two totals for one node") }
                try checkCounterMagnitude(total, field: name, what: "a total of \(entry.dot.node)")
            } else if let s = Stocktake(entry.value) {
                // A node's stocktake replaces the one it made before: it holds at most one.
                guard stocktakesOf.insert(entry.dot.node).inserted else { throw bad("holds two stocktakes of one node") }
                guard s.seen.count <= maxClockEntries else { throw bad("holds a stocktake that saw more than \(maxClockEntries) nodes") }
                try checkCounterMagnitude(s.count, field: name, what: "a stocktake by \(entry.dot.node) counting")
                for (node, total) in s.seen {
                    try checkCounterMagnitude(total, field: name, what: "a stocktake by \(entry.dot.node) that saw a total of \(node) of")
                }
                stocktakes.append(s)
            } else {
                throw bad(
                    "holds \(entry.value.typeName) \(entry.value.canonicalText.prefix(80)), not an integer (a total) or {\"count\": INTEGER, \"seen\": {NODE: INTEGER}} (a stocktake)"
                )
            }
        }
        for s in stocktakes {
            if let unknown = s.seen.keys.first(where: { !totalsOf.contains($0) }) {
                throw bad("holds a stocktake that saw a total of \(unknown) which the register does not hold")
            }
        }
    }

    /// Refuses a counter number past ±``maxCounterMagnitude`` (`counter_overflow`). `what` is
    /// worded only for a refusal: this runs on every state received.
    static func checkCounterMagnitude(_ number: Int64, field name: String, what: @autoclosure () -> String) throws(CoreError) {
        guard !holdsAsCounter(number) else { return }
        throw CoreError(
            .counterOverflow,
            "record state: counter field \(name) holds \(what()) \(number), past ±\(maxCounterMagnitude) (2^53−1, the most a counter holds)")
    }
}
