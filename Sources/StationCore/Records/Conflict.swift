/// A conflict: concurrent writes that left several values in one field (or in a record's
/// existence) and what reads show meanwhile.
///
/// It is derived from the record's state, so every replica holding the same state sees the same
/// conflicts with the same ids: the id is a hash of the collection, record, field and the dots of
/// the competing writes.
public struct Conflict: Hashable, Sendable {
    /// The field name used for a delete-versus-update conflict.
    public static let existenceField = "_deleted"

    /// Deterministic id: 16 hex digits.
    public var id: String
    public var collection: String
    public var recordID: String
    /// The field, or ``existenceField`` for delete versus update.
    public var field: String
    /// `lww`, `manual`, `counter`, `update-wins` or `delete-wins`.
    public var policy: ConflictPolicy
    /// The competing values, the one reads show first, then the others in winner order.
    public var values: [DottedValue<JSONValue>]
    /// Whether the policy decided on its own (`lww`, delete policies) or waits for a person (`manual`).
    public var automatic: Bool
    /// The rule that picked ``values``[0], in words.
    public var rule: String

    /// The nodes whose writes compete, in order of ``values``.
    public var origins: [NodeID] { values.map(\.dot.node) }

    /// The deterministic id for a conflict between the writes `dots` on one field.
    public static func makeID(collection: String, recordID: String, field: String, dots: [Dot]) -> String {
        var hash = FNV1a64()
        hash.add(collection)
        hash.add(recordID)
        hash.add(field)
        for dot in dots.sorted() {
            hash.add(dot.node.rawValue)
            hash.add(String(dot.counter))
        }
        return hash.hex
    }
}

/// 64-bit FNV-1a with a separator byte after each part, for short deterministic ids.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ part: String) {
        for byte in part.utf8 { mix(byte) }
        mix(0)
    }

    private mutating func mix(_ byte: UInt8) {
        value ^= UInt64(byte)
        value = value &* 0x0000_0100_0000_01B3
    }

    var hex: String {
        let s = String(value, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }
}
