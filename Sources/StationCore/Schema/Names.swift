/// Validation of the names that appear in schemas, records and on the wire.
public enum Names {
    /// Collection names: `[a-z][a-z0-9_]{0,63}`.
    public static func isValidCollection(_ name: String) -> Bool {
        let u = name.utf8
        guard (1...64).contains(u.count), let first = u.first, (97...122).contains(first) else { return false }
        return u.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 }
    }

    /// Field names: `[A-Za-z][A-Za-z0-9_]{0,63}`, except `id` (the record's own key).
    public static func isValidField(_ name: String) -> Bool {
        let u = name.utf8
        guard (1...64).contains(u.count), let first = u.first, isLetter(first), name != "id" else { return false }
        return u.allSatisfy { isLetter($0) || (48...57).contains($0) || $0 == 95 }
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
                "field name \"\(name)\" in \(collection) must match [A-Za-z][A-Za-z0-9_]{0,63} and not be \"id\"")
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
