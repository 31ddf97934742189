/// The identity of one write: the node that made it and that node's counter for the record.
///
/// A record's vector clock entry for node N is the number of writes N has made to it, so the dots
/// of N's writes to a record are (N, 1), (N, 2), … and a clock *contains* a dot when it has seen it.
public struct Dot: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The writing node.
    public var node: NodeID
    /// The writing node's counter for this record, starting at 1.
    public var counter: UInt64

    public init(_ node: NodeID, _ counter: UInt64) {
        self.node = node
        self.counter = counter
    }

    /// Orders by node, then counter: the canonical order of entries in a field.
    public static func < (lhs: Dot, rhs: Dot) -> Bool {
        lhs.node != rhs.node ? lhs.node < rhs.node : lhs.counter < rhs.counter
    }

    public var description: String { "(\(node.rawValue),\(counter))" }
}
