/// A version vector: for each node, how many of its writes (to one record) have been seen.
///
/// Entries with counter 0 are never stored, so equal histories give equal clocks.
///
/// Stored as an array sorted by node name: a record's clock names a handful of nodes, so a short
/// scan beats hashing node names, and the canonical (node) order needed by the encoding, the
/// comparison and the merge is there for free.
public struct VectorClock: Hashable, Sendable, CustomStringConvertible {
    /// The causal relation between two clocks.
    public enum Order: Sendable, Equatable {
        case equal, before, after, concurrent
    }

    /// One node's entry.
    public struct Entry: Hashable, Sendable {
        public var node: NodeID
        public var counter: UInt64
    }

    /// The entries, sorted by node, all with counter ≥ 1.
    private var sorted: [Entry]

    /// The empty clock: nothing seen.
    public init() { sorted = [] }

    /// A clock from entries; zero entries are dropped.
    public init(_ entries: [NodeID: UInt64]) {
        sorted = entries.filter { $0.value > 0 }.map { Entry(node: $0.key, counter: $0.value) }.sorted { $0.node < $1.node }
    }

    /// A clock from entries already sorted by node, each node once, all counters ≥ 1 (the
    /// caller checked: the decoder of canonical states).
    init(sortedEntries: [Entry]) {
        sorted = sortedEntries
    }

    /// Node → number of that node's writes seen. No zero entries.
    public var entries: [NodeID: UInt64] {
        Dictionary(uniqueKeysWithValues: sorted.map { ($0.node, $0.counter) })
    }

    /// Whether no write has been seen.
    public var isEmpty: Bool { sorted.isEmpty }

    /// The counter for `node` (0 when absent).
    public subscript(node: NodeID) -> UInt64 {
        sorted.first { $0.node == node }?.counter ?? 0
    }

    /// Whether the write `dot` is in this clock's history.
    public func contains(_ dot: Dot) -> Bool {
        self[dot.node] >= dot.counter
    }

    /// Advances `node`'s entry by one and returns the new write's dot.
    /// How many writers the clock names.
    public var writerCount: Int { sorted.count }

    public mutating func increment(_ node: NodeID) -> Dot {
        if let i = sorted.firstIndex(where: { $0.node == node }) {
            sorted[i].counter += 1
            return Dot(node, sorted[i].counter)
        }
        sorted.insert(Entry(node: node, counter: 1), at: sorted.firstIndex { node < $0.node } ?? sorted.endIndex)
        return Dot(node, 1)
    }

    /// Pointwise maximum.
    public func merged(with other: VectorClock) -> VectorClock {
        var result = self
        result.merge(other)
        return result
    }

    /// Pointwise maximum, in place.
    public mutating func merge(_ other: VectorClock) {
        var result: [Entry] = []
        result.reserveCapacity(max(sorted.count, other.sorted.count))
        forEachPair(with: other) { node, mine, theirs in
            result.append(Entry(node: node, counter: max(mine, theirs)))
        }
        sorted = result
    }

    /// Compares causal histories.
    public func compare(_ other: VectorClock) -> Order {
        var someLess = false
        var someGreater = false
        forEachPair(with: other) { _, mine, theirs in
            if mine < theirs { someLess = true } else if mine > theirs { someGreater = true }
        }
        switch (someLess, someGreater) {
        case (false, false): return .equal
        case (true, false): return .before
        case (false, true): return .after
        case (true, true): return .concurrent
        }
    }

    /// Calls `body` for every node either clock names, in node order, with both counters (0 where
    /// a clock does not name the node): one walk over the two sorted arrays.
    private func forEachPair(with other: VectorClock, _ body: (NodeID, UInt64, UInt64) -> Void) {
        var i = 0
        var j = 0
        while i < sorted.count || j < other.sorted.count {
            if j == other.sorted.count || (i < sorted.count && sorted[i].node < other.sorted[j].node) {
                body(sorted[i].node, sorted[i].counter, 0)
                i += 1
            } else if i == sorted.count || other.sorted[j].node < sorted[i].node {
                body(other.sorted[j].node, 0, other.sorted[j].counter)
                j += 1
            } else {
                body(sorted[i].node, sorted[i].counter, other.sorted[j].counter)
                i += 1
                j += 1
            }
        }
    }

    /// Whether every write in `other` is in this clock (`self ≥ other`).
    public func dominates(_ other: VectorClock) -> Bool {
        let order = compare(other)
        return order == .after || order == .equal
    }

    /// Entries in canonical (node) order.
    public var sortedEntries: [Entry] { sorted }

    /// `[(a,2),(b,1)]`, the notation of the Dynamo paper.
    public var description: String {
        "[" + sorted.map { "(\($0.node.rawValue),\($0.counter))" }.joined(separator: ",") + "]"
    }
}
