/// A JSON value as StationSync stores and ships it.
///
/// Integers and floating-point numbers are kept apart (`counter` fields need exact integers), and
/// objects keep their keys sorted so that ``JSONValue/canonicalText`` is byte-identical on every
/// replica for equal values.
///
/// Two values are equal when their canonical encodings are the same bytes: strings (and object
/// keys) compare by their UTF-8 bytes, not by Swift's canonical equivalence, and doubles by their
/// bits (`0.0` and `-0.0` are different values, as their encodings are).
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue {
    /// The value as an object, or nil.
    public var objectValue: [String: JSONValue]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The value as an array, or nil.
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// The value as a string, or nil.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// The value as an exact integer, or nil (doubles are not converted).
    public var intValue: Int64? {
        if case .int(let i) = self { return i }
        return nil
    }

    /// The value as a Boolean, or nil.
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    /// True for `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the value's JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByNilLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int64) { self = .int(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(nilLiteral: ()) { self = .null }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue {
    /// Equal when the canonical encodings are the same bytes (see the type's documentation).
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case (.bool(let x), .bool(let y)): return x == y
        case (.int(let x), .int(let y)): return x == y
        case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern
        case (.string(let x), .string(let y)): return x.hasSameBytes(as: y)
        case (.array(let x), .array(let y)): return x.count == y.count && x.elementsEqual(y, by: ==)
        case (.object(let x), .object(let y)):
            guard x.count == y.count else { return false }
            for (key, value) in x {
                // A lookup finds a canonically equivalent key too: its bytes must be the same.
                guard let i = y.index(forKey: key), y[i].key.hasSameBytes(as: key), y[i].value == value else { return false }
            }
            return true
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0 as UInt8)
        case .bool(let b): hasher.combine(1 as UInt8); hasher.combine(b)
        case .int(let i): hasher.combine(2 as UInt8); hasher.combine(i)
        case .double(let d): hasher.combine(3 as UInt8); hasher.combine(d.bitPattern)
        case .string(let s): hasher.combine(4 as UInt8); s.hashBytes(into: &hasher)
        case .array(let a):
            hasher.combine(5 as UInt8)
            hasher.combine(a.count)
            for element in a { element.hash(into: &hasher) }
        case .object(let o):
            hasher.combine(6 as UInt8)
            hasher.combine(o.count)
            // Order-independent: the dictionary's order is not the same for equal objects.
            var combined = 0
            for (key, value) in o {
                var h = Hasher()
                key.hashBytes(into: &h)
                value.hash(into: &h)
                combined ^= h.finalize()
            }
            hasher.combine(combined)
        }
    }
}
