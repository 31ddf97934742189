#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

// Ids and values are compared by their UTF-8 bytes (Protocol/record-state.md, "Which bytes make
// an id"). Swift's `String ==` and `String`'s hash follow canonical equivalence instead: "café"
// typed as NFC (U+00E9) and as NFD (e + U+0301), "Å" as U+00C5 and as U+212B, or the CJK
// compatibility ideograph U+F900 and U+8C48 are equal Strings, while SQLite, the canonical encoding
// and every other replica see two different ids or values. Every comparison of a record id or of a
// value goes through what is here.

/// Whether the two buffers hold the same bytes, compared as `memcmp` does (a value may be megabytes).
@inlinable
public func sameBytes(_ x: UnsafeBufferPointer<UInt8>, _ y: UnsafeBufferPointer<UInt8>) -> Bool {
    guard x.count == y.count else { return false }
    guard let p = x.baseAddress, let q = y.baseAddress, x.count > 0 else { return true }
    return memcmp(p, q, x.count) == 0
}

extension String {
    /// Whether the two strings are the same UTF-8 bytes: what SQLite and the canonical encoding
    /// compare. Not Swift's `==`, which calls canonically equivalent strings equal.
    @inlinable
    public func hasSameBytes(as other: String) -> Bool {
        let a = utf8
        let b = other.utf8
        guard a.count == b.count else { return false }
        if let equal = a.withContiguousStorageIfAvailable({ x in
            b.withContiguousStorageIfAvailable { y in sameBytes(x, y) }
        }), let equal {
            return equal
        }
        return a.elementsEqual(b)
    }

    /// Feeds the string's UTF-8 bytes to `hasher` (consistent with ``hasSameBytes(as:)``, where
    /// `String.hash(into:)` hashes the canonical form).
    @inlinable
    public func hashBytes(into hasher: inout Hasher) {
        let u = utf8
        hasher.combine(u.count)
        if u.withContiguousStorageIfAvailable({ hasher.combine(bytes: UnsafeRawBufferPointer($0)) }) == nil {
            for byte in u { hasher.combine(byte) }
        }
    }
}

/// A string that is equal to another only when their UTF-8 bytes are: a key for dictionaries and
/// sets of record ids, where `String` keys would take two canonically equivalent ids for one.
public struct ByteString: Hashable, Sendable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The string.
    public var string: String

    public init(_ string: String) { self.string = string }
    public init(stringLiteral value: String) { string = value }

    public static func == (a: ByteString, b: ByteString) -> Bool { a.string.hasSameBytes(as: b.string) }
    public func hash(into hasher: inout Hasher) { string.hashBytes(into: &hasher) }

    /// By UTF-8 bytes, the canonical order of the encoding.
    public static func < (a: ByteString, b: ByteString) -> Bool {
        a.string.utf8.lexicographicallyPrecedes(b.string.utf8)
    }

    public var description: String { string }
}

/// A record's key, collection and id, compared by bytes, and ordered as SQLite's BINARY
/// collation orders them (collection, then id, by bytes).
public struct RecordKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var collection: String
    public var id: String

    public init(_ collection: String, _ id: String) {
        self.collection = collection
        self.id = id
    }

    public static func == (a: RecordKey, b: RecordKey) -> Bool {
        a.collection.hasSameBytes(as: b.collection) && a.id.hasSameBytes(as: b.id)
    }

    public func hash(into hasher: inout Hasher) {
        collection.hashBytes(into: &hasher)
        id.hashBytes(into: &hasher)
    }

    public static func < (a: RecordKey, b: RecordKey) -> Bool {
        if !a.collection.hasSameBytes(as: b.collection) { return a.collection.utf8.lexicographicallyPrecedes(b.collection.utf8) }
        return a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
    }

    public var description: String { "\(collection)/\(id)" }
}
