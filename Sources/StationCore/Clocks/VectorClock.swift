/// A version vector: for each node, how many of its writes (to one record) have been seen.
///
/// Entries with counter 0 are never stored, so equal histories give equal clocks.
public struct VectorClock: Hashable, Sendable, CustomStringConvertible {
    /// The causal relation between two clocks.
    public enum Order: Sendable, Equatable {
        case equal, before, after, concurrent
    }

    /// Node → number of that node's writes seen. No zero entries.
    public private(set) var entries: [NodeID: UInt64]

    /// The empty clock: nothing seen.
    public init() { entries = [:] }

    /// A clock from entries; zero entries are dropped.
    public init(_ entries: [NodeID: UInt64]) {
        self.entries = entries.filter { $0.value > 0 }
    }

    /// The counter for `node` (0 when absent).
    public subscript(node: NodeID) -> UInt64 {
        entries[node] ?? 0
    }

    /// Whether the write `dot` is in this clock's history.
    public func contains(_ dot: Dot) -> Bool {
        self[dot.node] >= dot.counter
    }

    /// Advances `node`'s entry by one and returns the new write's dot.
    public mutating func increment(_ node: NodeID) -> Dot {
        let next = self[node] + 1
        entries[node] = next
        return Dot(node, next)
    }

    /// Pointwise maximum.
    public func merged(with other: VectorClock) -> VectorClock {
        var result = self
        result.merge(other)
        return result
    }

    /// Pointwise maximum, in place.
    public mutating func merge(_ other: VectorClock) {
        for (node, counter) in other.entries where counter > self[node] {
            entries[node] = counter
        }
    }

    /// Compares causal histories.
    public func compare(_ other: VectorClock) -> Order {
        var someLess = false
        var someGreater = false
        for (node, counter) in entries {
            let theirs = other[node]
            if counter < theirs { someLess = true } else if counter > theirs { someGreater = true }
        }
        for (node, theirs) in other.entries where entries[node] == nil && theirs > 0 {
            someLess = true
        }
        switch (someLess, someGreater) {
        case (false, false): return .equal
        case (true, false): return .before
        case (false, true): return .after
        case (true, true): return .concurrent
        }
    }

    /// Whether every write in `other` is in this clock (`self ≥ other`).
    public func dominates(_ other: VectorClock) -> Bool {
        let order = compare(other)
        return order == .after || order == .equal
    }

    /// Entries in canonical (node) order.
    public var sortedEntries: [(node: NodeID, counter: UInt64)] {
        entries.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    }

    /// `[(a,2),(b,1)]`, the notation of the Dynamo paper.
    public var description: String {
        "[" + sortedEntries.map { "(\($0.node.rawValue),\($0.counter))" }.joined(separator: ",") + "]"
    }
}
