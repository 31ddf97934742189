/// Validation of the names that appear in schemas, records and on the wire.
public enum Names {
    /// Collection names: `[a-z][a-z0-9_]{0,63}`.
    public static func isValidCollection(_ name: String) -> Bool {
        let u = name.utf8
        guard (1...64).contains(u.count), let first = u.first, (97...122).contains(first) else { return false }
        return u.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }

    /// Field names: a letter, then letters, digits, combining marks and `_`, 1-64 bytes of UTF-8
    /// in NFC; not `id` (the record's own key). Letters are any script's (`quantity`, `数量`,
    /// `адрес`). A name is held in one form, NFC, so that every node holds the same bytes:
    /// ``nfc(_:)`` normalizes one typed in another form (a local write does, a received version
    /// is refused).
    public static func isValidField(_ name: String) -> Bool {
        let u = name.utf8
        guard (1...64).contains(u.count), name != "id" else { return false }
        if u.allSatisfy({ $0 < 0x80 }) {
            guard let first = u.first, isLetter(first) else { return false }
            return u.allSatisfy { isLetter($0) || (48...57).contains($0) || $0 == 95 }
        }
        var scalars = name.unicodeScalars.makeIterator()
        guard let first = scalars.next(), isUnicodeLetter(first) else { return false }
        while let s = scalars.next() {
            guard isUnicodeLetter(s) || s == "_" || isMarkOrDigit(s) else { return false }
        }
        return isNFC(name)
    }

    private static func isUnicodeLetter(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    private static func isMarkOrDigit(_ s: Unicode.Scalar) -> Bool {
        switch s.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .decimalNumber: true
        default: false
        }
    }

    /// `text` in Unicode Normalization Form C (ASCII is returned as it is).
    public static func nfc(_ text: String) -> String {
        if text.utf8.allSatisfy({ $0 < 0x80 }) { return text }
        // The standard library's normalizer (the one String comparison uses).
        return String(decoding: Array(text._nfcCodeUnits), as: UTF8.self)
    }

    /// Whether `text` is in NFC already, byte for byte.
    public static func isNFC(_ text: String) -> Bool {
        text.utf8.allSatisfy { $0 < 0x80 } || text.utf8.elementsEqual(text._nfcCodeUnits)
    }

    /// Record ids: 1–256 bytes of UTF-8 without control characters.
    public static func isValidRecordID(_ id: String) -> Bool {
        let u = id.utf8
        guard (1...256).contains(u.count) else { return false }
        // The control characters (U+0000–U+001F, U+007F) are single bytes in UTF-8, and no byte of
        // a multi-byte sequence is below 0x80: checking bytes is checking scalars.
        return !u.contains { $0 < 0x20 || $0 == 0x7F }
    }

    private static func isLetter(_ b: UInt8) -> Bool { (65...90).contains(b) || (97...122).contains(b) }

    /// Throws unless `name` is a valid collection name.
    public static func checkCollection(_ name: String) throws(CoreError) {
        guard isValidCollection(name) else {
            throw CoreError(.invalidCollectionName, "collection name \"\(name)\" must match [a-z][a-z0-9_]{0,63}")
        }
    }

    /// Throws unless `name` is a valid field name.
    public static func checkField(_ name: String, collection: String) throws(CoreError) {
        guard isValidField(name) else {
            throw CoreError(
                .invalidFieldName,
                "field name \"\(name)\" in \(collection) must be a letter then letters, digits or _ (1-64 bytes, NFC), and not \"id\"")
        }
    }

    /// Throws unless `id` is a valid record id.
    public static func checkRecordID(_ id: String, collection: String) throws(CoreError) {
        guard isValidRecordID(id) else {
            let shown = id.count > 64 ? String(id.prefix(64)) + "…" : id
            throw CoreError(.invalidRecordID, "record id \"\(shown)\" in \(collection) must be 1-256 bytes without control characters")
        }
    }
}
