// The checks of a local write's value against its field's declaration. Pure: no clock, no
// storage; the message names the record and the field.

extension FieldDeclaration {
    /// The value a local write stores for `value`, or a refusal naming `where` (`collection/id`)
    /// and `field`. Strings are NFC-normalized (so that names typed on any keyboard compare and
    /// search alike), an integer given for a decimal becomes its digits, and `null` (unset) passes
    /// unless the field is required. Bounds are checked here for integers; a counter's against
    /// the count it would read (``RecordState``).
    public func checked(_ value: JSONValue, field: String, at place: String) throws(CoreError) -> JSONValue {
        if value.isNull {
            if required { throw CoreError(.requiredField, "\(place): field \"\(field)\" is required and cannot be unset") }
            return value
        }
        guard let type = checkedType else { return value }
        func wrong(_ expected: String) -> CoreError {
            CoreError(.wrongType, "\(place): field \"\(field)\" is \(expected), not \(Self.shown(value))")
        }
        switch type {
        case .string:
            guard let s = value.stringValue else { throw wrong("a string") }
            if let c = s.unicodeScalars.first(where: Self.breaksALine) {
                let what = c == "\n" || c == "\r" || c == "\u{2028}" || c == "\u{2029}" || c == "\u{85}" ? "a line break" : "a control character"
                throw CoreError(
                    .wrongType,
                    "\(place): field \"\(field)\" is one line of text (a string); it cannot hold \(what) (U+\(String(c.value, radix: 16, uppercase: true)))"
                )
            }
            return .string(Names.nfc(s))
        case .text:
            guard let s = value.stringValue else { throw wrong("text (a string)") }
            return .string(Names.nfc(s))
        case .integer:
            guard let n = value.intValue else {
                if case .double(let d) = value, d.rounded() == d, let n = Int64(exactly: d) {
                    try checkBounds(n, field: field, at: place)
                    return .int(n)
                }
                throw wrong(policy == .counter ? "a counter: an integer" : "an integer")
            }
            try checkBounds(n, field: field, at: place)
            return value
        case .decimal:
            if let n = value.intValue { return .string(String(n)) }
            guard let s = value.stringValue, Self.isDecimal(s) else {
                if case .double = value {
                    throw CoreError(
                        .wrongType,
                        "\(place): field \"\(field)\" is a decimal: write it as a string of digits (\"\(Self.shown(value))\") so it stays exact")
                }
                throw wrong("a decimal (a string of digits such as \"12.50\")")
            }
            return value
        case .boolean:
            guard value.boolValue != nil else { throw wrong("true or false") }
            return value
        case .date:
            guard let s = value.stringValue, Self.isDate(Array(s.utf8)) else { throw wrong("a date (YYYY-MM-DD)") }
            return value
        case .datetime:
            guard let s = value.stringValue, Self.isDateTime(Array(s.utf8)) else {
                throw wrong("a date and time with its offset (YYYY-MM-DDTHH:MM:SS+08:00 or …Z)")
            }
            return value
        case .enumeration(let values):
            guard let s = value.stringValue else { throw wrong("one of " + values.map { "\"\($0)\"" }.joined(separator: ", ")) }
            let nfc = Names.nfc(s)
            guard values.contains(where: { $0.hasSameBytes(as: nfc) }) else {
                let near = EditDistance.closest(to: nfc, among: values).map { " (did you mean \"\($0)\"?)" } ?? ""
                throw CoreError(
                    .valueNotAllowed,
                    "\(place): field \"\(field)\" takes one of " + values.map { "\"\($0)\"" }.joined(separator: ", ")
                        + "; \"\(s)\" is not one\(near)")
            }
            return .string(nfc)
        case .phone:
            guard let s = value.stringValue, Self.isPhone(s) else { throw wrong("a phone number (digits, spaces, + - ( ) .)") }
            return value
        case .reference(let collection):
            guard let s = value.stringValue, Names.isValidRecordID(s) else { throw wrong("the id of a record in \(collection)") }
            return value
        }
    }

    /// Refuses `n` outside the declared bounds.
    public func checkBounds(_ n: Int64, field: String, at place: String) throws(CoreError) {
        if let minimum, n < minimum {
            throw CoreError(.outOfBounds, "\(place): field \"\(field)\" holds at least \(minimum); \(n) is refused")
        }
        if let maximum, n > maximum {
            throw CoreError(.outOfBounds, "\(place): field \"\(field)\" holds at most \(maximum); \(n) is refused")
        }
    }

    /// What a `string` (one line) cannot hold: control characters (C0, DEL, C1) and the Unicode
    /// line and paragraph separators.
    static func breaksALine(_ c: Unicode.Scalar) -> Bool {
        c.value < 0x20 || (0x7F...0x9F).contains(c.value) || c.value == 0x2028 || c.value == 0x2029
    }

    /// A value as a message quotes it: short, one line.
    static func shown(_ value: JSONValue) -> String {
        let text = value.canonicalText
        let short = text.unicodeScalars.count > 40 ? String(String.UnicodeScalarView(text.unicodeScalars.prefix(40))) + "…" : text
        return "\(value.typeName) \(short)"
    }

    /// `-?digits(.digits)?`, at most 64 bytes.
    static func isDecimal(_ s: String) -> Bool {
        var u = Array(s.utf8)
        guard (1...64).contains(u.count) else { return false }
        if u[0] == UInt8(ascii: "-") { u.removeFirst() }
        let parts = u.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return false }
        return parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(isDigit) }
    }

    static func isDigit(_ b: UInt8) -> Bool { (48...57).contains(b) }

    private static func number(_ u: ArraySlice<UInt8>) -> Int? {
        guard !u.isEmpty, u.allSatisfy(isDigit) else { return nil }
        return u.reduce(0) { $0 * 10 + Int($1 - 48) }
    }

    /// `YYYY-MM-DD`, a real calendar day (leap years included).
    static func isDate(_ u: [UInt8]) -> Bool {
        guard u.count == 10, u[4] == UInt8(ascii: "-"), u[7] == UInt8(ascii: "-"),
            let y = number(u[0..<4]), let m = number(u[5..<7]), let d = number(u[8..<10]), (1...12).contains(m), d >= 1
        else { return false }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return d <= days[m - 1]
    }

    /// `YYYY-MM-DDTHH:MM[:SS[.f{1,9}]]` then `Z` or `±HH:MM`.
    static func isDateTime(_ u: [UInt8]) -> Bool {
        guard u.count >= 17, isDate(Array(u[0..<10])), u[10] == UInt8(ascii: "T"),
            let h = number(u[11..<13]), u[13] == UInt8(ascii: ":"), let mi = number(u[14..<16]), h < 24, mi < 60
        else { return false }
        var i = 16
        if i < u.count, u[i] == UInt8(ascii: ":") {
            guard i + 3 <= u.count, let s = number(u[(i + 1)..<(i + 3)]), s < 61 else { return false }
            i += 3
            if i < u.count, u[i] == UInt8(ascii: ".") {
                var j = i + 1
                while j < u.count, isDigit(u[j]) { j += 1 }
                guard (1...9).contains(j - i - 1) else { return false }
                i = j
            }
        }
        guard i < u.count else { return false }
        if u[i] == UInt8(ascii: "Z") { return i + 1 == u.count }
        guard u[i] == UInt8(ascii: "+") || u[i] == UInt8(ascii: "-"), u.count == i + 6, u[i + 3] == UInt8(ascii: ":"),
            let oh = number(u[(i + 1)..<(i + 3)]), let om = number(u[(i + 4)..<(i + 6)])
        else { return false }
        return oh < 24 && om < 60
    }

    /// Digits, spaces, `+ - ( ) .`; 3 to 32 characters, at least 3 of them digits.
    static func isPhone(_ s: String) -> Bool {
        let u = s.utf8
        guard (3...32).contains(u.count) else { return false }
        let allowed: Set<UInt8> = [32, 40, 41, 43, 45, 46]
        return u.allSatisfy { isDigit($0) || allowed.contains($0) } && u.filter(isDigit).count >= 3
    }
}
