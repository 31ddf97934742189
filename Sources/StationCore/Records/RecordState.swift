/// Everything one replica knows about one record: the version every sync ships and every merge
/// combines.
///
/// - ``clock``: how many writes of each node this state has seen.
/// - ``existence``: the record's alive/deleted register; every write sets it, so it holds exactly
///   the latest writes not yet superseded (one entry normally, several after concurrent writes).
/// - ``fields``: per field, the values of the latest writes to that field not yet superseded.
///   `lww` and `manual` fields hold one value, or several after concurrent writes (a conflict);
///   `counter` fields hold one entry per node: that node's running total of increments.
///
/// A delete keeps the fields (the tombstone remembers the last values), so a delete concurrent
/// with an update loses nothing whichever side the collection's policy shows.
public struct RecordState: Hashable, Sendable {
    /// Writes seen, per node.
    public var clock: VectorClock
    /// Alive (`true`) or deleted (`false`) values of the frontier writes, sorted by dot.
    public var existence: [DottedValue<Bool>]
    /// Field name → values sorted by dot; never empty. Kept in field-name order.
    public var fields: RecordFields
    /// The history of resolved conflicts: grows only, merges by union, sorted by conflict id, then
    /// the resolving write's dot.
    public var resolutions: [Resolution]

    /// A record nobody has written.
    public init() {
        clock = VectorClock()
        existence = []
        fields = RecordFields()
        resolutions = []
    }

    public init(
        clock: VectorClock, existence: [DottedValue<Bool>], fields: RecordFields,
        resolutions: [Resolution] = []
    ) {
        self.clock = clock
        self.existence = existence
        self.fields = fields
        self.resolutions = resolutions
    }

    /// True before the first write.
    public var isEmpty: Bool { existence.isEmpty }

    /// The latest HLC time among the values held.
    public var latestTime: HLCTimestamp {
        var t = existence.map(\.time).max() ?? .zero
        for (_, entries) in fields {
            for e in entries where e.time > t { t = e.time }
        }
        return t
    }
}
