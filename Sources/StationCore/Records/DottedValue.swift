/// One value held by a field (or by a record's existence register), tagged with the write that
/// made it: the write's dot and its HLC time.
///
/// A field usually holds one; concurrent writes leave several (siblings), which is how conflicts
/// live inside the record and converge like the rest of it.
public struct DottedValue<Value: Hashable & Sendable>: Hashable, Sendable {
    /// The write that made this value.
    public var dot: Dot
    /// When that write happened (hybrid logical clock).
    public var time: HLCTimestamp
    /// The value written.
    public var value: Value

    public init(dot: Dot, time: HLCTimestamp, value: Value) {
        self.dot = dot
        self.time = time
        self.value = value
    }

    /// The deterministic winner order used by `lww` and `manual` fields and shown on every replica:
    /// later HLC time wins, then the greater node name, then the greater counter.
    public static func winsOver(_ a: DottedValue, _ b: DottedValue) -> Bool {
        if a.time != b.time { return a.time > b.time }
        if a.dot.node != b.dot.node { return b.dot.node < a.dot.node }
        return a.dot.counter > b.dot.counter
    }
}

extension Array {
    /// The winner of a set of sibling values (see ``DottedValue/winsOver(_:_:)``).
    public func winner<V>() -> DottedValue<V>? where Element == DottedValue<V> {
        self.max { DottedValue.winsOver($1, $0) }
    }
}
