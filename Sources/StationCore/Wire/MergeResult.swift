/// What merging one incoming version did: a push answer's `result` per change (its raw value
/// is the wire name), and what a pulled batch's merge reports.
public enum MergeResult: String, Sendable, Equatable {
    /// Already known (equal or older): nothing changed.
    case unchanged
    /// Newer than the local version: taken whole.
    case applied
    /// Concurrent with the local version: merged field by field.
    case merged
    /// A record this node did not have.
    case created
    /// Not taken (a push only): the state holds writes of other nodes this node has not seen,
    /// from a token that may not relay them. Nothing changed; the sender sends it again once
    /// those writes are here (from their own node, or a relay).
    case waiting
    /// Not taken: the state holds a write (a dot) this node holds with other content, two
    /// different writes under one name (see ``RecordState/collidingDot(with:)``). Nothing changed
    /// for this record; the others of the batch go on. Both versions stay where they are.
    case collision
    /// Not taken: joined with the version held it would make a state beyond what a state may
    /// hold (writers, values in a register, a value's nesting; see ``RecordState/checkJoinBounds``), so
    /// no node could read it. Nothing changed for this record; the others of the batch go on, and
    /// both versions stay where they are, so one record never holds up a node's every sync.
    case overLimit = "over_limit"
    /// Not taken: the state holds a write of another node than the sender stamped further ahead
    /// of this node's clock than it accepts (``HybridLogicalClock/defaultMaxForwardDrift``): it
    /// would win every `lww` race for as long as its time is ahead. Nothing changed for this
    /// record; the others of the batch go on (a station that took such a write from a LAN peer
    /// is not held up). The sender sends it again at every sync; it is taken once this node's
    /// clock is within the drift of it. The sender's own writes that far ahead refuse the whole
    /// request instead (`clock_drift`): its clock is wrong, and it is told so.
    case ahead
    /// Not taken (a pull from a peer other than this node's hub): the state rewrites, drops or
    /// brings back what this node holds of another node's writes, or holds a history entry that
    /// is not the conflict it names. Every honest state passes these rules (origin binding, as a
    /// relayed push meets it); a forged one, served by a rogue LAN peer, would otherwise be
    /// taken and refused at every later push of this node to its hub.
    case refused

    /// Whether the record was left out: waiting, collision, over_limit, ahead, refused.
    public var isLeftOut: Bool {
        switch self {
        case .waiting, .collision, .overLimit, .ahead, .refused: true
        case .unchanged, .applied, .merged, .created: false
        }
    }
}
