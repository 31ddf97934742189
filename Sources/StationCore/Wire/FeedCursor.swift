/// A position in a node's change feed, as the node gives it out (a pull's `next`, a push
/// answer's `cursor`): `DATABASE.SEQ`, the database id and a sequence of its feed. To the node
/// that gave it out it names that sequence; to anybody else it is opaque, kept (in a checkpoint)
/// and handed back as it came. The empty cursor is the beginning of the feed.
///
/// Compared by its bytes. A string literal is taken as written (tests, examples); text from a
/// peer or a request is read with ``init(checking:)``.
public struct FeedCursor: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// The cursor as on the wire and in a checkpoint.
    public let text: String

    /// The beginning of the feed.
    public static let beginning = FeedCursor(stored: "")

    /// The most bytes a cursor has.
    public static let maxBytes = 128

    /// The cursor to sequence `seq` of the feed of the database `database`.
    public init(database: String, seq: Int64) {
        text = "\(database).\(seq)"
    }

    /// A cursor as received: empty (the beginning) or `DATABASE.SEQ` with a sequence of digits,
    /// at most ``maxBytes``.
    public init(checking text: String) throws(WireError) {
        guard text.isEmpty || Self.split(text) != nil else {
            throw WireError("cursor \"\(text.prefix(64))\" is not one a node gives out (expected DATABASE.SEQ)")
        }
        self.text = text
    }

    /// A cursor this node stored itself (a checkpoint holds only cursors checked when received).
    public init(stored text: String) {
        self.text = text
    }

    public init(stringLiteral text: String) {
        self.text = text
    }

    /// Whether this is the beginning of the feed.
    public var isBeginning: Bool { text.isEmpty }

    /// The sequence this stands for in the feed of the database `database`: 0 at the beginning,
    /// and for another database's cursor (the peer's database was replaced: from the start).
    public func seq(in database: String) -> Int64 {
        guard let (db, seq) = Self.split(text), String(db).hasSameBytes(as: database) else { return 0 }
        return seq
    }

    public var description: String { text }

    public static func == (a: FeedCursor, b: FeedCursor) -> Bool { a.text.hasSameBytes(as: b.text) }

    public func hash(into hasher: inout Hasher) { text.hashBytes(into: &hasher) }

    /// The database and sequence of `DATABASE.SEQ`, or nil when it is not one.
    private static func split(_ text: String) -> (Substring, Int64)? {
        guard text.utf8.count <= maxBytes, let dot = text.lastIndex(of: ".") else { return nil }
        let digits = text[text.index(after: dot)...]
        guard !digits.isEmpty, digits.utf8.allSatisfy({ (48...57).contains($0) }), let seq = Int64(digits) else { return nil }
        return (text[..<dot], seq)
    }
}
