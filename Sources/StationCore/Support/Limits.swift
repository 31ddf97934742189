/// Limits on what a record may hold that are not a count of writers, values or resolutions (those
/// are ``RecordState/maxClockEntries`` and ``RecordState/maxResolutions``), stated together in
/// Protocol/record-state.md, "Limits".
public enum Limits {
    /// How deeply arrays and objects nest in a field value: at most 32 levels (a string or number
    /// is 0 levels, `[1]` is 1, `{"a": [1]}` is 2).
    ///
    /// Every message carries a value at most 8 levels down (a push body, its changes, a change,
    /// the state, its history, an entry, its values, a dotted value), so a value within this
    /// limit fits in every message and file under ``JSONParser/maxDepth`` (64): what a node
    /// accepts, it can always push, pull, export and merge. Checked on every local write and
    /// resolution before it commits, and on every state received.
    public static let valueDepth = 32

    /// The most bytes a record's state may take in its canonical JSON: 16 MiB. Checked on every
    /// path that stores a state (local writes, imports, resolutions, merges of any kind) before
    /// it commits, and on every state received before it is decoded (one past it is left out,
    /// `over_limit`), so a stored state always fits in one push (32 MiB) and one change-file line
    /// (64 MiB).
    public static let stateBytes = 16 << 20

    /// The bytes a record's conflict history keeps beyond its oldest entry: an entry is kept only
    /// while the entries newer than it take at most 4 MiB (and number fewer than
    /// ``RecordState/maxResolutions``), so a history takes at most 4 MiB plus one entry and a
    /// join of two histories never grows past that (``Resolution/compacted(_:)``). Older entries
    /// fall off on every replica alike: what a resolution ended was superseded by its write.
    public static let historyBytes = 4 << 20

    /// The state bytes one page carries, pulled or pushed: a page ends at the change that
    /// reaches 8 MiB (or at its count), so a page is at most 8 MiB plus one state (together under
    /// 24 MiB, under every message's limit); a state larger than that goes alone.
    public static let pageBytes = 8 << 20

    /// The refusal of a state of `bytes` bytes, past ``stateBytes``.
    public static func stateTooLarge(_ bytes: Int, collection: String, id: String) -> CoreError {
        CoreError(
            .beyondLimit,
            "\(collection)/\(id): the record's state would take \(bytes) bytes, past the \(stateBytes) a record may hold "
                + "(so that every message and change file can carry it); nothing of it was kept")
    }
}

extension JSONValue {
    /// How many levels of arrays and objects this value nests (0 for a scalar), counted up to
    /// `limit + 1` at most (deeper values are not walked further).
    public func nesting(upTo limit: Int = Limits.valueDepth) -> Int {
        switch self {
        case .array(let items):
            guard limit >= 0 else { return 1 }
            return 1 + (items.lazy.map { $0.nesting(upTo: limit - 1) }.max() ?? 0)
        case .object(let members):
            guard limit >= 0 else { return 1 }
            return 1 + (members.values.lazy.map { $0.nesting(upTo: limit - 1) }.max() ?? 0)
        default:
            return 0
        }
    }

    /// Whether this value nests within ``Limits/valueDepth``; cheap for scalars.
    public var nestsWithinLimit: Bool {
        switch self {
        case .array, .object: nesting() <= Limits.valueDepth
        default: true
        }
    }
}
