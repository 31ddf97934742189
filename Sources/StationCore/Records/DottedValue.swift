/// One value held by a field (or by a record's existence register), tagged with the write that
/// made it: the write's dot, its HLC time and, when the writer said, the person who made it.
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
    /// Who made the write (`--by NAME`, `$STATION_USER`, the signed-in user, the operator), as
    /// ``Person/checked(_:)`` holds names; nil when nobody said. Every value of one write names
    /// the same person, and the name travels with the value: a conflict shows who wrote each side.
    public var author: String?

    public init(dot: Dot, time: HLCTimestamp, value: Value, author: String? = nil) {
        self.dot = dot
        self.time = time
        self.value = value
        self.author = author
    }

    /// Whether both name the same author by their bytes (names are held in NFC, so canonically
    /// equivalent names are equal bytes; the bytes are what the canonical encoding holds).
    func sameAuthor(as other: DottedValue) -> Bool {
        switch (author, other.author) {
        case (nil, nil): return true
        case (let a?, let b?): return a.hasSameBytes(as: b)
        default: return false
        }
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
