/// How a conflict ended: kept in the record it concerned, so its history converges like the rest
/// of the record (a grow-only set of its newest ``RecordState/maxResolutions`` entries, merged by
/// union) and every replica can show who resolved it, when, how, and what the competing values were.
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

    /// Which of two entries is newer, for the history's bound: the later time, then the greater
    /// resolving dot, then the greater conflict id. Total over the entries of one history (no two
    /// hold one conflict id and one resolving dot: that is a collision, refused), so every replica
    /// ranks them the same.
    public static func isNewer(_ a: Resolution, than b: Resolution) -> Bool {
        if a.time != b.time { return a.time > b.time }
        if a.by != b.by { return a.by > b.by }
        return a.conflictID > b.conflictID  // 16 hex digits: ASCII, so String order is byte order
    }

    /// A history bounded to its newest ``RecordState/maxResolutions`` entries (``isNewer(_:than:)``),
    /// in canonical order (``precedes(_:_:)``). A record whose conflicts have ended more often than
    /// that keeps the newest; the oldest fall off on every replica alike, and a write never fails
    /// because the history is full.
    public static func compacted(_ history: [Resolution]) -> [Resolution] {
        var kept = history
        if kept.count > RecordState.maxResolutions {
            kept.sort { isNewer($0, than: $1) }
            kept.removeSubrange(RecordState.maxResolutions...)
        }
        kept.sort(by: precedes)
        return kept
    }

    /// The oldest entry of a full history (one holding ``RecordState/maxResolutions`` entries, as
    /// ``compacted(_:)`` leaves it); nil for a history with room. An entry older than it is one the
    /// bound lets fall off: see ``fallsOff(below:)``.
    public static func oldestKept(in history: [Resolution]) -> Resolution? {
        history.count >= RecordState.maxResolutions ? history.min { isNewer($1, than: $0) } : nil
    }

    /// Whether this entry is older than `oldestKept` (a full history's oldest, ``oldestKept(in:)``):
    /// then that history lets it fall off, and a join with it drops the entry on every replica.
    /// False when the history has room (`oldestKept` nil).
    public func fallsOff(below oldestKept: Resolution?) -> Bool {
        oldestKept.map { Resolution.isNewer($0, than: self) } ?? false
    }
}
