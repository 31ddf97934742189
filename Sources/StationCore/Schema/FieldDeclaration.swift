/// What a field may hold: its JSON form and, for some, the text's format.
///
/// Types are checked on local writes only (put, add, a resolution's new value). A received version
/// is never refused for a value's type: a peer with a wider schema (a new enum value, a field this
/// node has not typed yet) may hold values this one reads as they are.
public enum FieldType: Sendable, Equatable {
    /// One line of text (no line breaks, no control characters).
    case string
    /// Text of any length, line breaks included.
    case text
    /// An exact integer (a JSON number without a fraction).
    case integer
    /// An exact decimal number, held as a string of digits (`"12.50"`); an integer given is
    /// stored as its digits.
    case decimal
    /// `true` or `false`.
    case boolean
    /// A calendar date, `YYYY-MM-DD`.
    case date
    /// A date and time with its offset, `YYYY-MM-DDTHH:MM[:SS[.fff]](Z|±HH:MM)`.
    case datetime
    /// One of the listed strings (kept in byte order, each NFC).
    case enumeration([String])
    /// A telephone number: digits, spaces, `+`, `-`, `(`, `)` and `.`.
    case phone
    /// The id of a record of the named collection (not checked to exist: it may not have synced yet).
    case reference(collection: String)

    /// The type's name in the schema file.
    public var name: String {
        switch self {
        case .string: "string"
        case .text: "text"
        case .integer: "integer"
        case .decimal: "decimal"
        case .boolean: "boolean"
        case .date: "date"
        case .datetime: "datetime"
        case .enumeration: "enum"
        case .phone: "phone"
        case .reference: "reference"
        }
    }

    /// The types named by their name alone (an enum needs its values, a reference its collection).
    static let plain: [FieldType] = [.string, .text, .integer, .decimal, .boolean, .date, .datetime, .phone]

    /// The type names a schema may use.
    public static let names = plain.map(\.name) + ["enum", "reference"]

    /// The same kind of type, whatever the enum values: a peer may add values.
    func sameKind(as other: FieldType) -> Bool {
        switch (self, other) {
        case (.enumeration, .enumeration): true
        case (.reference(let a), .reference(let b)): a.hasSameBytes(as: b)
        default: self == other
        }
    }

    public static func == (a: FieldType, b: FieldType) -> Bool {
        switch (a, b) {
        case (.string, .string), (.text, .text), (.integer, .integer), (.decimal, .decimal), (.boolean, .boolean), (.date, .date),
            (.datetime, .datetime), (.phone, .phone):
            true
        case (.enumeration(let x), .enumeration(let y)): x.count == y.count && zip(x, y).allSatisfy { $0.hasSameBytes(as: $1) }
        case (.reference(let x), .reference(let y)): x.hasSameBytes(as: y)
        default: false
        }
    }
}

/// One declared field: its merge policy and, in the long form, its type, whether it is required
/// and its bounds.
///
/// The schema file takes the short form `"quantity": "counter"` (a policy, any JSON value) or
/// the long form
/// `{"policy": "counter", "type": "integer", "min": 0, "required": true}`.
public struct FieldDeclaration: Sendable, Equatable {
    /// How concurrent writes merge.
    public var policy: FieldPolicy
    /// What a local write may put there; nil takes any JSON value.
    public var type: FieldType?
    /// Whether a record must have it (not null) when it is created, and may not unset it.
    public var required: Bool
    /// The least value a local write may leave (integers and counters).
    public var minimum: Int64?
    /// The greatest value a local write may leave (integers and counters).
    public var maximum: Int64?

    public init(policy: FieldPolicy, type: FieldType? = nil, required: Bool = false, minimum: Int64? = nil, maximum: Int64? = nil) {
        self.policy = policy
        self.type = type
        self.required = required
        self.minimum = minimum
        self.maximum = maximum
    }

    /// Whether the declaration says more than a policy (the short form covers it).
    public var isShortForm: Bool { type == nil && !required && minimum == nil && maximum == nil }

    /// The type a value is checked against: a counter is an integer.
    var checkedType: FieldType? { policy == .counter ? .integer : type }
}

extension FieldDeclaration {
    /// Reads a declaration of field `field` in `collection` (short or long form), with
    /// `defaultPolicy` for a long form that gives no policy.
    init(json: JSONValue, field: String, collection: String, defaultPolicy: FieldPolicy) throws(CoreError) {
        func fail(_ message: String) -> CoreError { CoreError(.invalidSchema, "schema: \(collection).fields.\(field) " + message) }
        if let s = json.stringValue {
            guard let p = FieldPolicy(rawValue: s) else { throw fail("must be \"lww\", \"manual\" or \"counter\", or an object") }
            self.init(policy: p)
            return
        }
        guard let o = json.objectValue else { throw fail("must be a policy (\"lww\", \"manual\", \"counter\") or an object") }
        let allowed = ["policy", "type", "required", "min", "max", "values", "collection"]
        if let extra = o.keys.sorted().first(where: { key in !allowed.contains { $0.hasSameBytes(as: key) } }) {
            throw fail("has an unknown key \"\(extra)\" (known: \(allowed.joined(separator: ", ")))")
        }
        var policy = defaultPolicy
        if let p = o["policy"] {
            guard let s = p.stringValue, let parsed = FieldPolicy(rawValue: s) else {
                throw fail("policy must be \"lww\", \"manual\" or \"counter\"")
            }
            policy = parsed
        }
        var type: FieldType?
        if let t = o["type"] {
            guard let name = t.stringValue, FieldType.names.contains(name) else {
                throw fail("type must be one of: \(FieldType.names.joined(separator: ", "))")
            }
            switch name {
            case "enum":
                guard let list = o["values"]?.arrayValue, !list.isEmpty else {
                    throw fail("is an enum and needs \"values\": a list of strings")
                }
                var values: [String] = []
                for v in list {
                    guard let s = v.stringValue, !s.isEmpty, s.utf8.count <= 256 else {
                        throw fail("values must be strings of 1-256 bytes")
                    }
                    let nfc = Names.nfc(s)
                    guard !values.contains(where: { $0.hasSameBytes(as: nfc) }) else { throw fail("lists \"\(s)\" twice") }
                    values.append(nfc)
                }
                type = .enumeration(values.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
            case "reference":
                guard let c = o["collection"]?.stringValue, Names.isValidCollection(c) else {
                    throw fail("is a reference and needs \"collection\": the name of the collection it points into")
                }
                type = .reference(collection: c)
            default:
                type = FieldType.plain.first { $0.name == name }
            }
        }
        if o["values"] != nil, type?.name != "enum" { throw fail("has \"values\", which only an enum takes") }
        if o["collection"] != nil, type?.name != "reference" { throw fail("has \"collection\", which only a reference takes") }
        if policy == .counter, let type, type != .integer { throw fail("is a counter, which holds integers: its type cannot be \(type.name)") }
        var required = false
        if let r = o["required"] {
            guard let b = r.boolValue else { throw fail("required must be true or false") }
            required = b
        }
        var bounds: [Int64?] = [nil, nil]
        for (i, key) in ["min", "max"].enumerated() {
            guard let b = o[key] else { continue }
            guard policy == .counter || type == .integer else { throw fail("has \"\(key)\", which only an integer or a counter takes") }
            guard let n = b.intValue else { throw fail("\(key) must be an integer") }
            bounds[i] = n
        }
        if let lo = bounds[0], let hi = bounds[1], lo > hi { throw fail("min \(lo) is above max \(hi)") }
        self.init(policy: policy, type: type, required: required, minimum: bounds[0], maximum: bounds[1])
    }

    /// The declaration in the schema file's form: the short form when it says no more than a policy.
    public var json: JSONValue {
        if isShortForm { return .string(policy.rawValue) }
        var o: [String: JSONValue] = ["policy": .string(policy.rawValue)]
        if let type {
            o["type"] = .string(type.name)
            switch type {
            case .enumeration(let values): o["values"] = .array(values.map { .string($0) })
            case .reference(let c): o["collection"] = .string(c)
            default: break
            }
        }
        if required { o["required"] = true }
        if let minimum { o["min"] = .int(minimum) }
        if let maximum { o["max"] = .int(maximum) }
        return .object(o)
    }

    /// How the declaration reads to a person: `counter integer ≥0 required`.
    public var summary: String {
        var parts = [policy.rawValue]
        if let type {
            switch type {
            case .enumeration(let values): parts.append("enum(" + values.joined(separator: "|") + ")")
            case .reference(let c): parts.append("reference(\(c))")
            default: parts.append(type.name)
            }
        }
        if let minimum { parts.append("≥\(minimum)") }
        if let maximum { parts.append("≤\(maximum)") }
        if required { parts.append("required") }
        return parts.joined(separator: " ")
    }
}
