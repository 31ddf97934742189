/// The fields of a record state: for each field name, the values its register holds (sorted by
/// dot, never empty).
///
/// Kept as an array sorted by field name in the canonical order of the encoding (UTF-8 bytes). A
/// record has a handful of fields, so a binary search over a short array costs less than hashing
/// every name, and the encoding, the merge (a walk over two sorted lists) and every listing get the
/// canonical order without sorting.
///
/// Reads like a dictionary: `fields["status"]` is the register or nil, assigning nil removes the
/// field, and iterating gives `(name, values)` pairs in name order.
public struct RecordFields: Hashable, Sendable, Sequence, ExpressibleByDictionaryLiteral {
    /// The values of one field's register, sorted by dot.
    public typealias Register = [DottedValue<JSONValue>]

    /// One field and its register. (A struct rather than a tuple: the compiler gives it its own
    /// copy and destroy code, where an array of tuples goes through slower generic code.)
    struct Field: Hashable, Sendable {
        var name: String
        var values: Register
    }

    /// The fields, sorted by name (no two with the same name, no empty register).
    private var list: [Field]

    /// No fields.
    public init() { list = [] }

    /// The fields of a dictionary.
    public init(_ fields: [String: Register]) {
        list = fields.map { Field(name: $0.key, values: $0.value) }
        list.sort { Self.order($0.name, $1.name) < 0 }
    }

    public init(dictionaryLiteral elements: (String, Register)...) {
        self.init(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }

    /// Fields given in strictly increasing name order (checked by the caller: decoding canonical
    /// input, or a merge of two such lists).
    init(sorted: [Field]) {
        list = sorted
    }

    /// The register of field `name`, or nil when the record holds no value for it. Setting nil (or
    /// an empty register) removes the field.
    public subscript(name: String) -> Register? {
        get {
            guard case .found(let i) = search(name) else { return nil }
            return list[i].values
        }
        set {
            switch (search(name), newValue) {
            case (.found(let i), let values?) where !values.isEmpty: list[i].values = values
            case (.found(let i), _): list.remove(at: i)
            case (.insertAt(let i), let values?) where !values.isEmpty: list.insert(Field(name: name, values: values), at: i)
            case (.insertAt, _): break
            }
        }
    }

    /// Removes field `name` and returns its register, or nil when it had none.
    @discardableResult
    public mutating func removeValue(forKey name: String) -> Register? {
        guard case .found(let i) = search(name) else { return nil }
        return list.remove(at: i).values
    }

    /// The field names, in canonical order.
    public var keys: [String] { list.map(\.name) }

    /// How many fields hold values.
    public var count: Int { list.count }

    /// Whether no field holds a value.
    public var isEmpty: Bool { list.isEmpty }

    /// Makes room for `n` fields.
    public mutating func reserveCapacity(_ n: Int) { list.reserveCapacity(n) }

    /// The fields as a dictionary.
    public var dictionary: [String: Register] {
        Dictionary(uniqueKeysWithValues: list.lazy.map { ($0.name, $0.values) })
    }

    public func makeIterator() -> Iterator { Iterator(list: list) }

    /// Gives the fields as `(name, values)` pairs, in name order.
    public struct Iterator: IteratorProtocol {
        fileprivate let list: [Field]
        fileprivate var index = 0

        public mutating func next() -> (name: String, values: Register)? {
            guard index < list.count else { return nil }
            defer { index += 1 }
            return (list[index].name, list[index].values)
        }
    }

    public var underestimatedCount: Int { list.count }

    /// Calls `body` for every field name either side holds, in name order, with both registers
    /// (empty where a side holds none): one walk over the two sorted lists.
    public static func forEachPair<E: Error>(
        _ a: RecordFields, _ b: RecordFields, _ body: (String, Register, Register) throws(E) -> Void
    ) throws(E) {
        var i = 0
        var j = 0
        while i < a.list.count || j < b.list.count {
            let order = i == a.list.count ? 1 : j == b.list.count ? -1 : Self.order(a.list[i].name, b.list[j].name)
            if order < 0 {
                try body(a.list[i].name, a.list[i].values, [])
                i += 1
            } else if order > 0 {
                try body(b.list[j].name, [], b.list[j].values)
                j += 1
            } else {
                try body(a.list[i].name, a.list[i].values, b.list[j].values)
                i += 1
                j += 1
            }
        }
    }

    // MARK: - Lookup

    private enum Position {
        case found(Int)
        case insertAt(Int)
    }

    /// Where `name` is, or where it would go: a binary search by UTF-8 bytes.
    private func search(_ name: String) -> Position {
        var low = 0
        var high = list.count
        while low < high {
            let mid = (low + high) / 2
            let order = Self.order(list[mid].name, name)
            if order == 0 { return .found(mid) }
            if order < 0 { low = mid + 1 } else { high = mid }
        }
        return .insertAt(low)
    }

    /// The canonical order of field names, by UTF-8 bytes as the encoding sorts object keys:
    /// negative when `a` comes first, 0 when the names are the same bytes, positive otherwise.
    static func order(_ a: String, _ b: String) -> Int {
        var a = a
        var b = b
        return a.withUTF8 { x in
            b.withUTF8 { y in
                for i in 0..<Swift.min(x.count, y.count) where x[i] != y[i] { return Int(x[i]) - Int(y[i]) }
                return x.count - y.count
            }
        }
    }

    // MARK: - Hashable

    public static func == (a: RecordFields, b: RecordFields) -> Bool {
        a.list.elementsEqual(b.list) { order($0.name, $1.name) == 0 && $0.values == $1.values }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(list.count)
        for field in list {
            hasher.combine(field.name)  // equal bytes hash equally
            hasher.combine(field.values)
        }
    }
}

extension RecordFields: CustomStringConvertible {
    public var description: String { dictionary.description }
}
