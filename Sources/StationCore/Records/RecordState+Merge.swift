// The merge rule of StationSync. This file is the only place it lives.
//
// A record state is a causal CRDT: a vector clock (what has been seen) plus registers of dotted
// values. Merging two states is their join:
//
//   * clocks: pointwise maximum;
//   * every register (the existence register and each field): a value survives if both sides hold
//     it, or if the other side has not seen the write that made it. A value that one side holds and
//     the other side has seen but no longer holds was superseded by a write the other side made
//     or received, so it goes.
//
// Consequences, which the tests check one by one:
//   * an incoming state dominated by the local one changes nothing; a dominating one is taken whole
//     (both are special cases of the join, taken as fast paths);
//   * concurrent writes to different fields both survive, with no conflict;
//   * concurrent writes to the same field both survive as siblings: the field's policy decides
//     what reads show (RecordState+View.swift), but nothing is discarded;
//   * a counter's per-node running totals are kept per node, so totals add up;
//   * a write that has seen siblings replaces them all (no false siblings, unlike plain vector
//     clocks in Riak);
//   * merging creates no dot: only local writes do (RecordState+LocalWrite.swift);
//   * the history of resolved conflicts is a grow-only set merged by union; every entry was made
//     by a write, so a state that has seen the write has the entry (the fast paths stay exact);
//   * the join is commutative, associative and idempotent, and does not depend on the schema,
//     so replicas converge in any order of syncs;
//   * all of this rests on a dot naming one write: two states that hold the same dot with
//     different content (a restored backup, a copied database or a reinstalled station that
//     wrote again under counters it had used) are not merged at all: the merge answers
//     `collision` and changes nothing, and the caller refuses the state (`dot_collision`).

extension RecordState {
    /// The result of merging two states: the state to keep and how it related to the local one.
    public enum MergeOutcome: Sendable, Equatable {
        /// The incoming state was already known (equal or dominated): nothing changes.
        case unchanged
        /// The incoming state dominated the local one and was taken whole.
        case fastForward
        /// The states were concurrent and were joined field by field.
        case merged
        /// Both states hold the write `dot` with different content: two different writes under
        /// one name. Nothing changes; the incoming state must be refused.
        case collision(Dot)
    }

    /// Merges `incoming` into `self` and says what happened.
    @discardableResult
    public mutating func merge(_ incoming: RecordState) -> MergeOutcome {
        if let dot = collidingDot(with: incoming) { return .collision(dot) }
        switch clock.compare(incoming.clock) {
        case .equal, .after:
            return .unchanged
        case .before:
            self = incoming
            return .fastForward
        case .concurrent:
            self = RecordState.join(self, incoming)
            return .merged
        }
    }

    /// The merge of two states, without mutating either.
    public func merged(with other: RecordState) -> RecordState {
        var copy = self
        copy.merge(other)
        return copy
    }

    /// The join of two concurrent states (also correct for ordered ones, only slower).
    static func join(_ a: RecordState, _ b: RecordState) -> RecordState {
        var fields: [RecordFields.Field] = []
        fields.reserveCapacity(max(a.fields.count, b.fields.count))
        // Both sides list their fields by name: one walk pairs up the registers of every name.
        RecordFields.forEachPair(a.fields, b.fields) { name, x, y in
            let joined = joinRegister(x, seenBy: a.clock, y, seenBy: b.clock)
            if !joined.isEmpty { fields.append(RecordFields.Field(name: name, values: joined)) }
        }
        return RecordState(
            clock: a.clock.merged(with: b.clock),
            existence: joinRegister(a.existence, seenBy: a.clock, b.existence, seenBy: b.clock),
            fields: RecordFields(sorted: fields),
            resolutions: union(a.resolutions, b.resolutions))
    }

    /// The resolution history is a grow-only set bounded to its newest entries: the union, cut
    /// where ``Resolution/compacted(_:)`` cuts it (at most ``RecordState/maxResolutions`` entries,
    /// and an entry only while the newer ones take at most ``Limits/historyBytes``), in canonical
    /// order.
    ///
    /// Cutting a union this way is itself a join (commutative, associative, idempotent): whether
    /// an entry is kept depends only on the entries newer than it, and more of them can only make
    /// it fall off. An entry one side dropped had newer entries there that already cut it, and
    /// they are in the union too (each was kept there, or a newer one that cut it is); so every
    /// replica drops the same entries, whatever order the versions meet in.
    static func union(_ a: [Resolution], _ b: [Resolution], bound: Resolution.Bound = .current) -> [Resolution] {
        guard !b.isEmpty else { return a }
        guard !a.isEmpty else { return b }
        var seen = Set(a.map { ResolutionKey(conflictID: $0.conflictID, by: $0.by) })
        var result = a
        for r in b where seen.insert(ResolutionKey(conflictID: r.conflictID, by: r.by)).inserted { result.append(r) }
        return Resolution.compacted(result, bound: bound)
    }

    struct ResolutionKey: Hashable {
        var conflictID: String
        var by: Dot
    }

    /// The join of one register: keep a value both hold, or one the other side has not seen.
    /// The result is sorted by dot, so equal inputs give identical output in any order.
    static func joinRegister<V>(
        _ x: [DottedValue<V>], seenBy xClock: VectorClock,
        _ y: [DottedValue<V>], seenBy yClock: VectorClock
    ) -> [DottedValue<V>] {
        // Whether a register holds a dot: registers are short (usually one value), so a search
        // beats hashing their dots; only long ones are hashed.
        let hashing = x.count * y.count > 64
        let xDots = hashing ? Set(x.map(\.dot)) : []
        let yDots = hashing ? Set(y.map(\.dot)) : []
        func xHolds(_ dot: Dot) -> Bool { hashing ? xDots.contains(dot) : x.contains { $0.dot == dot } }
        func yHolds(_ dot: Dot) -> Bool { hashing ? yDots.contains(dot) : y.contains { $0.dot == dot } }

        var result: [DottedValue<V>] = []
        result.reserveCapacity(x.count + y.count)
        for e in x where yHolds(e.dot) || !yClock.contains(e.dot) {
            result.append(e)
        }
        for e in y where !xHolds(e.dot) && !xClock.contains(e.dot) {
            result.append(e)
        }
        if result.count > 1 { result.sort { $0.dot < $1.dot } }
        return result
    }
}

extension RecordState {
    /// A write both states claim with different content, or nil: a dot both hold in one register
    /// with a different time, value or author (by canonical bytes), a resolution entry both hold with
    /// different content, or, for equal clocks (the same writes seen), any difference at all.
    ///
    /// Honest replicas never collide: only the node named in a dot makes that dot, once. A
    /// collision means a node wrote again under counters it had already used (a database restored
    /// from a backup, copied to a second machine, or made anew under the same name).
    public func collidingDot(with other: RecordState) -> Dot? {
        if let dot = Self.collidingDot(existence, other.existence) { return dot }
        var found: Dot?
        RecordFields.forEachPair(fields, other.fields) { _, x, y in
            if found == nil, !x.isEmpty, !y.isEmpty { found = Self.collidingDot(x, y) }
        }
        if let found { return found }
        if !resolutions.isEmpty, !other.resolutions.isEmpty {
            for r in resolutions {
                if let s = other.resolutions.first(where: { $0.conflictID == r.conflictID && $0.by == r.by }), s != r { return r.by }
            }
        }
        if clock == other.clock, self != other {
            // The same writes seen, different content: some dot is held on one side only.
            return (existence + other.existence).map(\.dot).max() ?? clock.sortedEntries.first.map { Dot($0.node, $0.counter) }
        }
        return nil
    }

    /// A dot both registers hold with a different time, value or author.
    static func collidingDot<V>(_ x: [DottedValue<V>], _ y: [DottedValue<V>]) -> Dot? {
        if x.count * y.count > 64 {
            let byDot = Dictionary(y.map { ($0.dot, $0) }, uniquingKeysWith: { a, _ in a })
            return x.first { e in byDot[e.dot].map { $0.time != e.time || $0.value != e.value || !$0.sameAuthor(as: e) } ?? false }?.dot
        }
        for e in x {
            if let f = y.first(where: { $0.dot == e.dot }), f.time != e.time || f.value != e.value || !f.sameAuthor(as: e) { return e.dot }
        }
        return nil
    }
}
