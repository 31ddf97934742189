/// How a conflict ended: kept in the record it concerned, so its history converges like the rest
/// of the record (a grow-only set, merged by union) and every replica can show who resolved it,
/// when, how, and what the competing values were.
public struct Resolution: Hashable, Sendable {
    /// How the conflict was resolved.
    public enum How: String, Sendable, CaseIterable {
        /// An ordinary write to the field (or a delete) that had seen every competing value.
        case write
        /// A person kept one of the competing values (`resolve --choose`).
        case choose
        /// A person wrote a new value (`resolve --value`).
        case value
        /// A person acknowledged the automatic decision (`resolve --accept`).
        case accept
    }

    /// The id of the conflict that ended.
    public var conflictID: String
    /// The field, or ``Conflict/existenceField``.
    public var field: String
    /// The policy the conflict was under.
    public var policy: String
    public var how: How
    /// The resolving write.
    public var by: Dot
    public var time: HLCTimestamp
    /// The competing values as the conflict showed them (the automatic winner first).
    public var values: [DottedValue<JSONValue>]
    /// The value the resolution wrote (for `_deleted`: `true` deleted, `false` kept).
    public var result: JSONValue
    /// The person who resolved it (an operator's name on the dashboard, `--by NAME` or
    /// `$STATION_USER` on the command line); nil for an ordinary write, or when nobody said.
    public var person: String?

    /// Longest person name, in UTF-8 bytes.
    public static let maxPersonBytes = 128

    public init(
        conflictID: String, field: String, policy: String, how: How, by: Dot, time: HLCTimestamp,
        values: [DottedValue<JSONValue>], result: JSONValue, person: String? = nil
    ) {
        self.person = person
        self.conflictID = conflictID
        self.field = field
        self.policy = policy
        self.how = how
        self.by = by
        self.time = time
        self.values = values
        self.result = result
    }

    /// Canonical order: conflict id, then the resolving dot.
    public static func precedes(_ a: Resolution, _ b: Resolution) -> Bool {
        a.conflictID != b.conflictID ? a.conflictID < b.conflictID : a.by < b.by
    }
}
