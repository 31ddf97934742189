/// The name of a writer: the node named in a dot and in a clock entry.
///
/// A node (a station, a hub or a peer) is named `[a-z0-9-]{1,64}`. Each of its databases writes
/// under an *incarnation* of that name, `NODE.INCARNATION` (`INCARNATION` is `[a-z0-9]{1,12}`),
/// taken when the database is made and renewed when it finds itself restored from an earlier copy
/// or copied to another file: two databases never make writes under the same name, so a dot names
/// one write forever. A name without an incarnation is a database made before incarnations
/// existed. Everything that concerns the node itself (tokens, origin binding, who pushes) looks
/// at ``station``, the part before the dot.
public struct NodeID: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The validated name.
    public let rawValue: String

    /// Validates `rawValue` as a writer: `NODE` or `NODE.INCARNATION`.
    public init(validating rawValue: String) throws(CoreError) {
        guard Self.isValid(rawValue) else {
            throw CoreError(
                .invalidNodeName,
                "node name \"\(rawValue.prefix(80))\" must be 1-64 characters of a-z, 0-9 and '-' (with an optional .INCARNATION of 1-12 a-z, 0-9)")
        }
        self.rawValue = rawValue
    }

    /// Validates `rawValue` as a node's own name (no incarnation): what `init --node` and
    /// `hub token add` take.
    public init(validatingNode rawValue: String) throws(CoreError) {
        guard Self.isValidNode(rawValue) else {
            throw CoreError(.invalidNodeName, "node name \"\(rawValue.prefix(80))\" must be 1-64 characters of a-z, 0-9 and '-'")
        }
        self.rawValue = rawValue
    }

    /// For names already known to be valid (literals in tests, values read back from our own store).
    public init(unchecked rawValue: String) { self.rawValue = rawValue }

    /// The writer name of `node`'s incarnation `incarnation` (nil: the bare node name).
    public init(node: NodeID, incarnation: String?) {
        rawValue = incarnation.map { node.station + "." + $0 } ?? node.station
    }

    /// Whether `name` is a writer: `[a-z0-9-]{1,64}`, optionally followed by `.` and 1-12 of `[a-z0-9]`.
    public static func isValid(_ name: String) -> Bool {
        let utf8 = name.utf8
        guard let dot = utf8.firstIndex(of: UInt8(ascii: ".")) else { return isValidNode(name) }
        let incarnation = utf8[utf8.index(after: dot)...]
        return isNodeBytes(utf8[..<dot]) && (1...12).contains(incarnation.count)
            && incarnation.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
    }

    /// Whether `name` is a node's own name: `[a-z0-9-]{1,64}`, no incarnation.
    public static func isValidNode(_ name: String) -> Bool { isNodeBytes(name.utf8) }

    private static func isNodeBytes<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        (1...64).contains(bytes.count) && bytes.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// Whether incarnations may be `text`: 1-12 of `[a-z0-9]`.
    public static func isValidIncarnation(_ text: String) -> Bool {
        (1...12).contains(text.utf8.count) && text.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) }
    }

    /// The node this writer is an incarnation of (the whole name when it has none).
    public var station: String {
        guard let dot = rawValue.utf8.firstIndex(of: UInt8(ascii: ".")) else { return rawValue }
        return String(rawValue[..<dot])
    }

    /// The incarnation, or nil for a bare node name.
    public var incarnation: String? {
        guard let dot = rawValue.utf8.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        return String(rawValue[rawValue.utf8.index(after: dot)...])
    }

    /// Whether this writer is node `node` (any of its incarnations).
    public func isIncarnation(of node: String) -> Bool {
        let utf8 = rawValue.utf8
        let n = node.utf8
        guard utf8.count >= n.count, utf8.starts(with: n) else { return false }
        return utf8.count == n.count || utf8[utf8.index(utf8.startIndex, offsetBy: n.count)] == UInt8(ascii: ".")
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
