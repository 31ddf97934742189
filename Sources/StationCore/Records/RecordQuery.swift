/// A question asked of a collection's records, on what reads show (the view, never the raw
/// registers): conditions on fields, an order, and a page (`station list --where … --sort …
/// --limit … --after …`). Pure: the store feeds it views, it says which match and in what order.
///
/// Values compare by kind: numbers as numbers (an integer and a decimal alike), strings by their
/// UTF-8 bytes (so two spellings of one text are two values, as ids are), booleans false before
/// true. A field that is absent or null is `null`. Ordering across kinds: null, booleans, numbers,
/// strings, then arrays and objects by their canonical text.
public struct RecordQuery: Sendable, Equatable {
    /// One condition on a field.
    public struct Condition: Sendable, Equatable, CustomStringConvertible {
        public enum Operator: String, Sendable, Equatable {
            case equal = "="
            case notEqual = "!="
            case less = "<"
            case lessOrEqual = "<="
            case greater = ">"
            case greaterOrEqual = ">="
            /// A string starting with the value.
            case prefix = "^="
            /// Equal to one of the values.
            case oneOf = " in "
        }

        public var field: String
        public var op: Operator
        /// The value compared with (for ``Operator/oneOf``, the values).
        public var values: [JSONValue]

        public init(field: String, op: Operator, values: [JSONValue]) {
            self.field = field
            self.op = op
            self.values = values
        }

        public var description: String {
            op == .oneOf
                ? "\(field) in (\(values.map(\.canonicalText).joined(separator: ", ")))" : "\(field)\(op.rawValue)\(values[0].canonicalText)"
        }

        /// Reads `FIELD=VALUE`, `!=`, `<`, `<=`, `>`, `>=`, `^=` (a prefix) or `FIELD in (A, B)`.
        /// A value is JSON when it reads as JSON (`5`, `false`, `null`, `"quoted"`), else the
        /// text as written (`Chen`).
        public init(parsing text: String) throws(CoreError) {
            if let range = text.firstRange(ofBytes: " in ") {
                let field = text[..<range.lowerBound].trimmingSpaces
                var list = text[range.upperBound...].trimmingSpaces
                guard list.hasPrefix("("), list.hasSuffix(")") else {
                    throw CoreError(.invalidQuery, "\"\(text)\": `in` takes a list in parentheses, e.g. status in (open, closed)")
                }
                list = String(list.dropFirst().dropLast())
                let values = list.split(separator: ",", omittingEmptySubsequences: false).map { Self.value(String($0).trimmingSpaces) }
                try self.init(checking: field, .oneOf, values, text)
                return
            }
            // The operator that comes first (the value may hold others: notes=a<b), the longer
            // one where two start at one place (`<=` over `<`).
            let found = [Operator.lessOrEqual, .greaterOrEqual, .notEqual, .prefix, .less, .greater, .equal].compactMap { op in
                text.firstRange(ofBytes: op.rawValue).map { (op, $0) }
            }
            if let (op, range) = found.min(by: { a, b in
                a.1.lowerBound != b.1.lowerBound ? a.1.lowerBound < b.1.lowerBound : a.0.rawValue.utf8.count > b.0.rawValue.utf8.count
            }) {
                let field = text[..<range.lowerBound].trimmingSpaces
                let value = Self.value(text[range.upperBound...].trimmingSpaces)
                if op == .prefix, value.stringValue == nil {
                    throw CoreError(.invalidQuery, "\"\(text)\": a prefix (^=) is a text, e.g. fullName^=Chen")
                }
                try self.init(checking: field, op, [value], text)
                return
            }
            throw CoreError(.invalidQuery, "\"\(text)\" is not a condition: use FIELD=VALUE, !=, <, <=, >, >=, ^= (a prefix) or FIELD in (A, B)")
        }

        private init(checking field: String, _ op: Operator, _ values: [JSONValue], _ text: String) throws(CoreError) {
            guard !field.isEmpty, !values.isEmpty else { throw CoreError(.invalidQuery, "\"\(text)\" names no field or no value") }
            self.init(field: field, op: op, values: values)
        }

        static func value(_ text: String) -> JSONValue {
            (try? JSONParser.parse(text)) ?? .string(text)
        }

        /// Whether `value` (nil: the field is absent) meets the condition.
        public func holds(for value: JSONValue?) -> Bool {
            let value = value ?? .null
            switch op {
            case .equal: return RecordQuery.same(value, values[0])
            case .notEqual: return !RecordQuery.same(value, values[0])
            case .oneOf: return values.contains { RecordQuery.same(value, $0) }
            case .prefix:
                guard case .string(let text) = value, case .string(let start) = values[0] else { return false }
                return text.utf8.starts(with: start.utf8)
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                // A range holds only between values of one kind: `quantity<5` is no question of a
                // text or of a record without a quantity.
                guard let order = RecordQuery.compareWithinKind(value, values[0]) else { return false }
                switch op {
                case .less: return order < 0
                case .lessOrEqual: return order <= 0
                case .greater: return order > 0
                default: return order >= 0
                }
            }
        }
    }

    public var conditions: [Condition] = []
    /// The field to order by (nil: by id), and whether the order is descending.
    public var sortField: String?
    public var descending = false

    public init(conditions: [Condition] = [], sortField: String? = nil, descending: Bool = false) {
        self.conditions = conditions
        self.sortField = sortField
        self.descending = descending
    }

    /// Whether a record whose view shows `fields` meets every condition.
    public func matches(_ fields: [String: JSONValue]) -> Bool {
        conditions.allSatisfy { $0.holds(for: fields[$0.field]) }
    }

    /// Where a record stands in the order: its sort value and its id.
    public struct Position: Sendable, Equatable {
        public var value: JSONValue
        public var id: String

        public init(value: JSONValue, id: String) {
            self.value = value
            self.id = id
        }

        /// As `--after` takes it: the canonical JSON `[value, id]`.
        public var cursor: String { JSONValue.array([value, .string(id)]).canonicalText }

        /// Reads a ``cursor``.
        public init(cursor: String) throws(CoreError) {
            guard let parsed = try? JSONParser.parse(cursor), case .array(let items) = parsed, items.count == 2, case .string(let id) = items[1]
            else {
                throw CoreError(.invalidQuery, "--after takes the cursor a page ended with, not \"\(cursor.prefix(64))\"")
            }
            self.init(value: items[0], id: id)
        }
    }

    /// The position of a record with `id` and view `fields`.
    public func position(id: String, fields: [String: JSONValue]) -> Position {
        Position(value: sortField.map { fields[$0] ?? .null } ?? .null, id: id)
    }

    /// Whether `a` comes before `b` in this query's order: by sort value, ties by id (bytes);
    /// descending is the whole order reversed, ties included (so an index serves both ways).
    public func precedes(_ a: Position, _ b: Position) -> Bool {
        var order = RecordQuery.compare(a.value, b.value)
        if order == 0 {
            if a.id.hasSameBytes(as: b.id) { return false }
            order = a.id.utf8.lexicographicallyPrecedes(b.id.utf8) ? -1 : 1
        }
        return descending ? order > 0 : order < 0
    }

    /// A value as an index holds it: its kind (the first key of the order: null, boolean,
    /// number, string, array, object) and a value SQLite orders as ``compare(_:_:)`` does within
    /// the kind: 0 for null, 0/1 for booleans, the number, the string (bytes, BINARY), the
    /// canonical text of an array or object.
    public enum IndexValue: Sendable, Equatable {
        case int(Int64)
        case double(Double)
        case text(String)
    }

    /// The kind and index value of `value` (nil: absent, as null).
    public static func indexKey(_ value: JSONValue?) -> (kind: Int, value: IndexValue) {
        let value = value ?? .null
        switch value {
        case .null: return (0, .int(0))
        case .bool(let b): return (1, .int(b ? 1 : 0))
        case .int(let i): return (2, .int(i))
        case .double(let d): return (2, .double(d))
        case .string(let s): return (3, .text(s))
        case .array, .object: return (kind(value), .text(value.canonicalText))
        }
    }

    // MARK: Comparing values

    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        compareWithinKind(a, b).map { $0 == 0 } ?? (kind(a) == kind(b) && a.canonicalText.hasSameBytes(as: b.canonicalText))
    }

    /// -1, 0 or 1 for two values of one kind that have an order (null, booleans, numbers,
    /// strings); nil otherwise.
    static func compareWithinKind(_ a: JSONValue, _ b: JSONValue) -> Int? {
        switch (a, b) {
        case (.null, .null): return 0
        case (.bool(let x), .bool(let y)): return x == y ? 0 : (!x ? -1 : 1)
        case (.string(let x), .string(let y)):
            if x.hasSameBytes(as: y) { return 0 }
            return x.utf8.lexicographicallyPrecedes(y.utf8) ? -1 : 1
        default:
            guard let x = number(a), let y = number(b) else { return nil }
            return x.compare(y)
        }
    }

    /// The total order of sorting: by kind first, then within it.
    static func compare(_ a: JSONValue, _ b: JSONValue) -> Int {
        let (ka, kb) = (kind(a), kind(b))
        if ka != kb { return ka < kb ? -1 : 1 }
        if let order = compareWithinKind(a, b) { return order }
        let (ta, tb) = (a.canonicalText, b.canonicalText)
        if ta.hasSameBytes(as: tb) { return 0 }
        return ta.utf8.lexicographicallyPrecedes(tb.utf8) ? -1 : 1
    }

    static func kind(_ v: JSONValue) -> Int {
        switch v {
        case .null: 0
        case .bool: 1
        case .int, .double: 2
        case .string: 3
        case .array: 4
        case .object: 5
        }
    }

    /// A number exactly: integers as integers, so 2^53 + 1 is not 2^53.
    enum Number {
        case int(Int64)
        case double(Double)

        func compare(_ other: Number) -> Int {
            switch (self, other) {
            case (.int(let x), .int(let y)): return x == y ? 0 : (x < y ? -1 : 1)
            case (.double(let x), .double(let y)): return x == y ? 0 : (x < y ? -1 : 1)
            case (.int(let x), .double(let y)): return -Number.double(y).compare(.int(x))
            case (.double(let x), .int(let y)):
                if x.isNaN { return 1 }
                if x < -9.3e18 { return -1 }
                if x > 9.3e18 { return 1 }
                let whole = x.rounded(.down)
                let w = Int64(whole)
                if w != y { return w < y ? -1 : 1 }
                return x > whole ? 1 : 0
            }
        }
    }

    static func number(_ v: JSONValue) -> Number? {
        switch v {
        case .int(let x): .int(x)
        case .double(let x): .double(x)
        default: nil
        }
    }
}

extension String {
    /// Where `needle` first occurs, by UTF-8 bytes (no Foundation here).
    fileprivate func firstRange(ofBytes needle: String) -> Range<String.Index>? {
        let hay = Array(utf8)
        let pin = Array(needle.utf8)
        guard !pin.isEmpty, hay.count >= pin.count else { return nil }
        for start in 0...(hay.count - pin.count) where hay[start..<(start + pin.count)].elementsEqual(pin) {
            let lower = utf8.index(utf8.startIndex, offsetBy: start)
            let upper = utf8.index(lower, offsetBy: pin.count)
            return lower..<upper
        }
        return nil
    }
}

extension StringProtocol {
    fileprivate var trimmingSpaces: String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
