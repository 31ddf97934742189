/// How a conflict ended: kept in the record it concerned, so its history converges like the rest
/// of the record (a grow-only set of its newest entries, at most ``RecordState/maxResolutions``
/// and about ``Limits/historyBytes``, merged by union) and every replica can show who resolved it, when, how, and what the competing values were.
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
    public var policy: ConflictPolicy
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

    public init(
        conflictID: String, field: String, policy: ConflictPolicy, how: How, by: Dot, time: HLCTimestamp,
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

    /// The history's bound: an entry is kept while fewer than `entries` entries are newer than it
    /// and those take at most `bytes`. Every node uses ``standard``; tests try smaller ones.
    public struct Bound: Sendable {
        public var entries: Int
        public var bytes: Int
        public init(entries: Int, bytes: Int) {
            self.entries = entries
            self.bytes = bytes
        }
        /// ``RecordState/maxResolutions`` entries, ``Limits/historyBytes``.
        public static let standard = Bound(entries: RecordState.maxResolutions, bytes: Limits.historyBytes)

        /// The bound in force: ``standard`` on every node. Random tests bind a smaller one for a
        /// task (`Bound.$current.withValue(…)`) to reach it with small values; every replica in
        /// such a test uses the same.
        @TaskLocal public static var current = Bound.standard
    }

    /// The bytes this entry takes in its record's canonical JSON: its weight against
    /// ``Limits/historyBytes``. The same on every replica (the entry is written canonically).
    public var encodedSize: Int {
        var scratch: [UInt8] = []
        return encodedSize(scratch: &scratch)
    }

    /// ``encodedSize``, written into `scratch` (emptied first, its room kept for the next entry).
    func encodedSize(scratch: inout [UInt8]) -> Int {
        scratch.removeAll(keepingCapacity: true)
        write(to: &scratch)
        return scratch.count
    }

    /// A history bounded to its newest entries (``isNewer(_:than:)``), in canonical order
    /// (``precedes(_:_:)``): an entry is kept while fewer than ``RecordState/maxResolutions``
    /// entries are newer than it and those newer entries take at most ``Limits/historyBytes``.
    /// A record whose conflicts have ended more often than that keeps the newest; the oldest fall
    /// off on every replica alike, and a write never fails because the history is full.
    ///
    /// Whether an entry is kept depends only on the entries newer than it, and only more of them
    /// can make it fall off, so keeping what the bound keeps of a union is a join (see
    /// ``RecordState/union(_:_:)``).
    public static func compacted(_ history: [Resolution], bound: Bound = .current) -> [Resolution] {
        var kept = history
        if let cut = boundary(of: history, bound: bound) {
            kept = Array(cut.newestFirst.prefix(cut.kept))
        }
        kept.sort(by: precedes)
        return kept
    }

    /// The oldest entry of a full history (one the bound has cut, as ``compacted(_:)`` leaves
    /// it: ``RecordState/maxResolutions`` entries, or entries past ``Limits/historyBytes``
    /// besides the oldest); nil for a history with room. An entry older than it is one the bound
    /// lets fall off: see ``fallsOff(below:)``.
    public static func oldestKept(in history: [Resolution], bound: Bound = .current) -> Resolution? {
        guard let cut = boundary(of: history, bound: bound) else { return nil }
        return cut.newestFirst[cut.kept - 1]
    }

    /// Where the bound cuts `history`: its entries newest first and how many of them are kept
    /// (the first `kept`: an entry at index i is kept while i < ``RecordState/maxResolutions``
    /// and the i entries before it take at most ``Limits/historyBytes``). Nil when the history
    /// has room: every entry is kept and one more, older than all, would be too.
    static func boundary(of history: [Resolution], bound: Bound) -> (newestFirst: [Resolution], kept: Int)? {
        let sizes: [Int]
        var scratch: [UInt8] = []
        if history.count < bound.entries {
            // The usual history: short and light. Weighed before anything is sorted.
            sizes = history.map { $0.encodedSize(scratch: &scratch) }
            guard sizes.reduce(0, +) > bound.bytes else { return nil }
        } else {
            sizes = []
        }
        let newestFirst = history.indices.sorted { isNewer(history[$0], than: history[$1]) }
        var weight = 0
        for (i, index) in newestFirst.enumerated() {
            if i >= bound.entries || weight > bound.bytes {
                return (newestFirst.map { history[$0] }, i)
            }
            weight += sizes.isEmpty ? history[index].encodedSize(scratch: &scratch) : sizes[index]
        }
        // Every entry kept; one more, older than all, would not be.
        return (newestFirst.map { history[$0] }, history.count)
    }

    /// Whether this entry is older than `oldestKept` (a full history's oldest, ``oldestKept(in:)``):
    /// then that history lets it fall off, and a join with it drops the entry on every replica.
    /// False when the history has room (`oldestKept` nil).
    public func fallsOff(below oldestKept: Resolution?) -> Bool {
        oldestKept.map { Resolution.isNewer($0, than: self) } ?? false
    }
}
