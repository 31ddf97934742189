/// A hybrid logical clock timestamp: milliseconds since 1970 and a logical counter for events in
/// the same millisecond, packed into one integer (`wall << 16 | logical`) so it orders, stores and
/// ships as a plain number.
public struct HLCTimestamp: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// `wall << 16 | logical`.
    public let rawValue: UInt64

    /// Largest wall time representable (about year 10889).
    public static let maxWall: UInt64 = (1 << 48) - 1

    public init(rawValue: UInt64) { self.rawValue = rawValue }

    public init(wall: UInt64, logical: UInt16) {
        rawValue = (min(wall, Self.maxWall) << 16) | UInt64(logical)
    }

    /// Milliseconds since 1970.
    public var wall: UInt64 { rawValue >> 16 }
    /// Order of events within one millisecond.
    public var logical: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    public static let zero = HLCTimestamp(rawValue: 0)

    public static func < (lhs: HLCTimestamp, rhs: HLCTimestamp) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "\(wall).\(logical)" }
}
