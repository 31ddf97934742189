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
