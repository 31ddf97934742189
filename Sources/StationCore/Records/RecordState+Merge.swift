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
//     so replicas converge in any order of syncs.

extension RecordState {
    /// The result of merging two states: the state to keep and how it related to the local one.
    public enum MergeOutcome: Sendable, Equatable {
        /// The incoming state was already known (equal or dominated): nothing changes.
        case unchanged
        /// The incoming state dominated the local one and was taken whole.
        case fastForward
        /// The states were concurrent and were joined field by field.
        case merged
    }

    /// Merges `incoming` into `self` and says what happened.
    @discardableResult
    public mutating func merge(_ incoming: RecordState) -> MergeOutcome {
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
        var fields: [String: [DottedValue<JSONValue>]] = [:]
        for name in Set(a.fields.keys).union(b.fields.keys) {
            let joined = joinRegister(a.fields[name] ?? [], seenBy: a.clock, b.fields[name] ?? [], seenBy: b.clock)
            if !joined.isEmpty { fields[name] = joined }
        }
        return RecordState(
            clock: a.clock.merged(with: b.clock),
            existence: joinRegister(a.existence, seenBy: a.clock, b.existence, seenBy: b.clock),
            fields: fields,
            resolutions: union(a.resolutions, b.resolutions))
    }

    /// The resolution history is a grow-only set: the union, in canonical order.
    static func union(_ a: [Resolution], _ b: [Resolution]) -> [Resolution] {
        guard !b.isEmpty else { return a }
        guard !a.isEmpty else { return b }
        var seen = Set(a.map { ResolutionKey(conflictID: $0.conflictID, by: $0.by) })
        var result = a
        for r in b where seen.insert(ResolutionKey(conflictID: r.conflictID, by: r.by)).inserted { result.append(r) }
        result.sort(by: Resolution.precedes)
        return result
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
        let yDots = Set(y.map(\.dot))
        let xDots = Set(x.map(\.dot))
        var result: [DottedValue<V>] = []
        result.reserveCapacity(x.count + y.count)
        for e in x where yDots.contains(e.dot) || !yClock.contains(e.dot) {
            result.append(e)
        }
        for e in y where !xDots.contains(e.dot) && !xClock.contains(e.dot) {
            result.append(e)
        }
        result.sort { $0.dot < $1.dot }
        return result
    }
}
