/// A strict JSON parser (RFC 8259) that keeps integers exact and reports where input went wrong.
///
/// Rejected: trailing content, duplicate object keys, numbers that overflow `Double`, integers
/// outside `Int64` written without fraction or exponent, nesting deeper than ``maxDepth``, and
/// invalid UTF-8.
public struct JSONParser {
    /// Deepest nesting accepted; deeper input is refused rather than risking the stack.
    public static let maxDepth = 64

    /// The input, valid for the duration of one `parse` call.
    private let bytes: UnsafeBufferPointer<UInt8>
    private var index = 0
    private var depth = 0

    /// Parses one JSON value from `text`.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        try parse(bytes: Array(text.utf8))
    }

    /// Parses one JSON value from UTF-8 bytes.
    public static func parse(bytes: [UInt8]) throws(JSONParseError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParseError) in try parse(buffer: buffer) }
    }

    /// Parses one JSON value from UTF-8 bytes in memory (read only during the call).
    public static func parse(buffer: UnsafeBufferPointer<UInt8>) throws(JSONParseError) -> JSONValue {
        try read(buffer: buffer) { parser throws(JSONParseError) in try parser.parseValue() }
    }

    /// Reads one JSON document from `buffer` with `readValue`, which must consume exactly one
    /// value (with ``parseValue()``, ``skipValue()``, ``readObject(member:)`` or
    /// ``readArray(element:)``): surrounding whitespace and trailing content are handled as by
    /// ``parse(buffer:)``. This is how a caller reads a document its own way (e.g. leaving some
    /// values as bytes) with exactly the checks and error messages of ``parse(buffer:)``.
    static func read<T>(
        buffer: UnsafeBufferPointer<UInt8>, _ readValue: (inout JSONParser) throws(JSONParseError) -> T
    ) throws(JSONParseError) -> T {
        var parser = JSONParser(bytes: buffer)
        parser.skipWhitespace()
        let value = try readValue(&parser)
        parser.skipWhitespace()
        if parser.index != buffer.count { throw parser.error("unexpected content after the JSON value") }
        return value
    }

    /// Parses the one JSON value that starts exactly at `index` in `buffer` (a part of a larger
    /// document that the caller reads itself) and moves `index` past it. `depth` is how deeply the
    /// value is nested in that document, so the nesting limit counts as for the whole document.
    static func parseValue(
        in buffer: UnsafeBufferPointer<UInt8>, at index: inout Int, depth: Int
    ) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(bytes: buffer)
        parser.index = index
        parser.depth = depth
        let value = try parser.parseValue()
        index = parser.index
        return value
    }

    private init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    private func error(_ message: String) -> JSONParseError {
        var line = 1
        var column = 1
        for byte in bytes[0..<min(index, bytes.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return JSONParseError(message: message, offset: index, line: line, column: column)
    }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// The offset of the next byte to read.
    var offset: Int { index }

    /// Lets `read` read the value at the current position its own way: it gets the input, the
    /// position and the current nesting depth, and returns nil to decline (the position must then
    /// be left as it was) or a result, with the position moved past the value. The caller is
    /// responsible for `read` accepting only what ``skipValue()`` would.
    mutating func readValue<T>(with read: (UnsafeBufferPointer<UInt8>, inout Int, Int) -> T?) -> T? {
        var position = index
        guard let value = read(bytes, &position, depth) else { return nil }
        index = position
        return value
    }

    /// The next byte, or nil at the end of the input.
    var nextByte: UInt8? { index < bytes.count ? bytes[index] : nil }

    /// Parses the value at the current position into a tree.
    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw error("unexpected character '\(Self.printable(bytes[index]))'")
        }
    }

    private static func printable(_ byte: UInt8) -> String {
        (0x20..<0x7F).contains(byte) ? String(UnicodeScalar(byte)) : "\\x" + String(byte, radix: 16)
    }

    private mutating func expectLiteral(_ literal: String) throws(JSONParseError) {
        let expected = literal.utf8
        guard index + expected.count <= bytes.count,
            expected.elementsEqual(bytes[index..<index + expected.count])
        else { throw error("invalid literal") }
        index += expected.count
    }

    private mutating func enter() throws(JSONParseError) {
        depth += 1
        if depth > Self.maxDepth { throw error("nesting deeper than \(Self.maxDepth) levels") }
    }

    /// Parses an object (the current byte is its `{`).
    private mutating func parseObject() throws(JSONParseError) -> JSONValue {
        var object: [String: JSONValue] = [:]
        try readObject { key, parser throws(JSONParseError) in
            object.updateValue(try parser.parseValue(), forKey: key) == nil
        }
        return .object(object)
    }

    /// Parses an array (the current byte is its `[`).
    private mutating func parseArray() throws(JSONParseError) -> JSONValue {
        var array: [JSONValue] = []
        // Room for a few elements from the start: most arrays here are short (every value of a
        // record state is a 4-element array), and growing one element at a time reallocates
        // at 1, 2 and 4 elements.
        array.reserveCapacity(4)
        try readArray { parser throws(JSONParseError) in array.append(try parser.parseValue()) }
        return .array(array)
    }

    /// Moves past the value at the current position, checking it exactly as ``parseValue()``
    /// does (syntax, strings, number ranges, nesting depth, duplicate keys) but building no tree.
    mutating func skipValue() throws(JSONParseError) {
        switch nextByte {
        case UInt8(ascii: "{"):
            var keys = KeySet()
            try readObject { key, parser throws(JSONParseError) in
                try parser.skipValue()
                return keys.insert(key)
            }
        case UInt8(ascii: "["):
            try readArray { parser throws(JSONParseError) in try parser.skipValue() }
        case UInt8(ascii: "\""):
            try skipString()
        default:
            _ = try parseValue()  // a number or a literal: nothing allocated
        }
    }

    /// Moves past the string at the current position (its opening quote) without making it: a
    /// string of plain ASCII needs no more than finding its closing quote; any other (an escape,
    /// a control character, non-ASCII bytes, no end) is read by ``parseString()``, which checks it
    /// and words any error.
    private mutating func skipString() throws(JSONParseError) {
        var end = index + 1
        while end < bytes.count {
            switch bytes[end] {
            case UInt8(ascii: "\""):
                index = end + 1
                return
            case UInt8(ascii: "\\"), 0..<0x20, 0x80...:
                _ = try parseString()
                return
            default:
                end += 1
            }
        }
        _ = try parseString()
    }

    /// Reads an object (the current byte is its `{`), the syntax and nesting limit of every
    /// object. `member` is called with each key, positioned at its value: it must consume the
    /// value (e.g. with ``parseValue()`` or ``skipValue()``) and return false when the object
    /// already had that key, which is then refused as a duplicate.
    mutating func readObject(
        member: (String, inout JSONParser) throws(JSONParseError) -> Bool
    ) throws(JSONParseError) {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("expected a string key in object")
            }
            let keyStart = index
            let key = try parseString()
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after key") }
            index += 1
            skipWhitespace()
            if try !member(key, &self) {
                index = keyStart
                throw error("duplicate key \"\(key)\"")
            }
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                return
            }
            throw error("expected ',' or '}' in object")
        }
    }

    /// Reads an array (the current byte is its `[`), the syntax and nesting limit of every
    /// array. `element` is called positioned at each element and must consume it.
    mutating func readArray(element: (inout JSONParser) throws(JSONParseError) -> Void) throws(JSONParseError) {
        try enter()
        defer { depth -= 1 }
        index += 1
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            return
        }
        while true {
            skipWhitespace()
            try element(&self)
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of input in array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                return
            }
            throw error("expected ',' or ']' in array")
        }
    }

    /// The keys seen so far in one skipped object, to refuse duplicates as ``parseObject()``
    /// does: compared as `String`s (as the parsed object's dictionary compares them), in a short
    /// list while the object is small and in a hash set once it is not.
    private struct KeySet {
        private var few: [String] = []
        private var many: Set<String>?

        /// Adds `key`; false if it was already there.
        mutating func insert(_ key: String) -> Bool {
            if many != nil { return many!.insert(key).inserted }
            if few.contains(key) { return false }
            few.append(key)
            if few.count > 16 {
                many = Set(few)
                few = []
            }
            return true
        }
    }

    private mutating func parseString() throws(JSONParseError) -> String {
        index += 1  // opening quote
        // Fast path: most strings hold no escape, so they are made straight from the input.
        let start = index
        var ascii = true
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                guard let string = makeString(start..<index, ascii: ascii) else { break }
                index += 1
                return string
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 { break }
            if byte >= 0x80 { ascii = false }
            index += 1
        }
        // An escape, a control character, invalid UTF-8 or the end of input: byte by byte, with
        // precise errors.
        index = start
        var out = [UInt8]()
        while true {
            guard index < bytes.count else { throw error("unterminated string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let string = String(validating: out, as: UTF8.self) else {
                    throw error("string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                index += 1
                guard index < bytes.count else { throw error("unterminated escape") }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""): out.append(34)
                case UInt8(ascii: "\\"): out.append(92)
                case UInt8(ascii: "/"): out.append(47)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        guard index + 1 < bytes.count, bytes[index] == 92, bytes[index + 1] == UInt8(ascii: "u")
                        else { throw error("unpaired surrogate in \\u escape") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw error("invalid low surrogate") }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00..<0xE000).contains(scalar) {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    guard let unicode = Unicode.Scalar(scalar) else { throw error("invalid \\u escape") }
                    out.append(contentsOf: Array(String(Character(unicode)).utf8))
                default:
                    index -= 1
                    throw error("invalid escape '\\\(Self.printable(escape))'")
                }
            case 0..<0x20:
                throw error("control character in string (escape it)")
            default:
                out.append(byte)
                index += 1
            }
        }
    }

    /// The string of the input bytes in `range`, or nil when they are not valid UTF-8. ASCII
    /// needs no validation.
    private func makeString(_ range: Range<Int>, ascii: Bool) -> String? {
        let slice = UnsafeBufferPointer(rebasing: bytes[range])
        return ascii ? String(decoding: slice, as: UTF8.self) : String(validating: slice, as: UTF8.self)
    }

    private mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - 48)
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - 87)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - 55)
            default: throw error("invalid hex digit in \\u escape")
            }
            value = value * 16 + digit
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(JSONParseError) -> JSONValue {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, Self.isDigit(bytes[index]) else { throw error("invalid number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, Self.isDigit(bytes[index]) { throw error("leading zeros are not allowed") }
        } else {
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        var isInteger = true
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, Self.isDigit(bytes[index]) else { throw error("digit expected after '.'") }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, Self.isDigit(bytes[index]) else { throw error("digit expected in exponent") }
            while index < bytes.count, Self.isDigit(bytes[index]) { index += 1 }
        }
        if isInteger {
            guard let value = integerValue(start..<index) else {
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                index = start
                throw error("integer \(text) is outside the 64-bit range")
            }
            return .int(value)
        }
        let text = String(decoding: bytes[start..<index], as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            index = start
            throw error("number \(text) is out of range")
        }
        return .double(value)
    }

    /// The value of an integer already checked to be `-?[0-9]+`, or nil outside `Int64`.
    /// Accumulated digit by digit (no intermediate `String`); a negative one downwards, so that
    /// `Int64.min` fits.
    private func integerValue(_ range: Range<Int>) -> Int64? {
        let negative = bytes[range.lowerBound] == UInt8(ascii: "-")
        var value: Int64 = 0
        for byte in bytes[(negative ? range.lowerBound + 1 : range.lowerBound)..<range.upperBound] {
            let digit = Int64(byte - UInt8(ascii: "0"))
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = negative ? shifted.subtractingReportingOverflow(digit) : shifted.addingReportingOverflow(digit)
            guard !o1, !o2 else { return nil }
            value = next
        }
        return value
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
}

/// Why a JSON text was refused, and where.
public struct JSONParseError: Error, Equatable, CustomStringConvertible {
    /// What was wrong.
    public var message: String
    /// Byte offset of the problem in the input.
    public var offset: Int
    /// 1-based line of the problem.
    public var line: Int
    /// 1-based column (in bytes) of the problem.
    public var column: Int

    public var description: String { "invalid JSON at line \(line), column \(column): \(message)" }
}
