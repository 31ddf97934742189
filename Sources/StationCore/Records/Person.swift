/// A person's name as records hold it: who made a write (``DottedValue/author``) or resolved a
/// conflict (``Resolution/person``).
public enum Person {
    /// Longest name, in UTF-8 bytes.
    public static let maxBytes = 128

    /// The name as recorded: trimmed of white space, in NFC, 1-``maxBytes`` bytes, with no control
    /// or format characters (``isRefused(_:)``: the joiners some scripts and emoji need excepted)
    /// and something that shows (``showsNothing(_:)``); nil if it is not one. NFC makes canonically equivalent names one name by their bytes, as
    /// every replica compares them.
    public static func checked(_ name: String) -> String? {
        if isPlain(name) { return name }
        var scalars = Array(Names.nfc(name).unicodeScalars)
        while let first = scalars.first, first.properties.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.properties.isWhitespace { scalars.removeLast() }
        guard !scalars.isEmpty, !scalars.contains(where: isRefused), scalars.contains(where: { !showsNothing($0) }) else { return nil }
        var trimmed = ""
        trimmed.unicodeScalars.append(contentsOf: scalars)
        guard trimmed.utf8.count <= maxBytes else { return nil }
        return trimmed
    }

    /// Whether `name` is exactly as ``checked(_:)`` holds it (by its bytes): what a received
    /// version's names must be, so that every replica stores the same bytes.
    public static func isRecorded(_ name: String) -> Bool {
        if isPlain(name) { return true }
        return checked(name).map { $0.hasSameBytes(as: name) } ?? false
    }

    /// A character no name holds: a control character, a line or paragraph separator, or a
    /// format character (a bidirectional override, a zero-width space, a byte order mark), but the
    /// joiners some scripts and emoji need (U+200C, U+200D) and the tags of flag emoji.
    static func isRefused(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator: return true
        case .format: return !(s.value == 0x200C || s.value == 0x200D || (0xE0020...0xE007F).contains(s.value))
        default: return false
        }
    }

    /// A character that shows nothing: white space, a joiner or tag, or a filler (Hangul,
    /// Braille blank). A name made only of these names nobody one can see.
    static func showsNothing(_ s: Unicode.Scalar) -> Bool {
        s.properties.isWhitespace || s.properties.generalCategory == .format
            || [0x115F, 0x1160, 0x3164, 0xFFA0, 0x2800, 0x180E].contains(s.value)
    }

    /// The usual name: printable ASCII with no space at either end, nothing to normalize or trim.
    static func isPlain(_ name: String) -> Bool {
        name.utf8.withContiguousStorageIfAvailable { bytes in
            !bytes.isEmpty && bytes.count <= maxBytes && bytes.first != 0x20 && bytes.last != 0x20 && bytes.allSatisfy { (0x20...0x7E).contains($0) }
        } ?? false
    }

    /// What a person's name must be, for error messages.
    public static let rule =
        "1-\(maxBytes) bytes of UTF-8 in NFC that show something, with no control or format characters (but the joiners U+200C and U+200D) and no white space at either end"

    /// The refusal of a name that is not one.
    static func refusal(_ name: String, at place: String) -> CoreError {
        CoreError(.invalidPerson, "\(place): the person's name \(JSONValue.string(name).canonicalText) must be \(rule)")
    }
}
