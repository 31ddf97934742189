/// The name of a replica: a station, a hub or a peer. `[a-z0-9-]{1,64}`.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The validated name.
    public let rawValue: String

    /// Validates `rawValue` against `[a-z0-9-]{1,64}`.
    public init(validating rawValue: String) throws(CoreError) {
        guard Self.isValid(rawValue) else {
            throw CoreError(.invalidNodeName, "node name \"\(rawValue)\" must be 1-64 characters of a-z, 0-9 and '-'")
        }
        self.rawValue = rawValue
    }

    /// For names already known to be valid (literals in tests, values read back from our own store).
    public init(unchecked rawValue: String) { self.rawValue = rawValue }

    /// Whether `name` matches `[a-z0-9-]{1,64}`.
    public static func isValid(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard (1...64).contains(utf8.count) else { return false }
        return utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    public static func < (lhs: NodeID, rhs: NodeID) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }

    public var description: String { rawValue }
}

extension NodeID: ExpressibleByStringLiteral {
    /// Literal node names are for tests and examples; an invalid literal is a programming error.
    public init(stringLiteral value: String) {
        precondition(Self.isValid(value), "invalid node name literal \(value)")
        self.rawValue = value
    }
}
