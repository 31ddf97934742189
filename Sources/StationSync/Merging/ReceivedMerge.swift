import Logging
import StationCore

/// What a node does with a version of a record it received from a peer, given the state it
/// holds: the one rule every backend's write transaction applies (SQLite, memory), so that each
/// takes, joins, refuses and leaves out received versions exactly alike. Pure: the backend reads
/// the held state, runs the caller's check, calls this, and stores what it says.
///
/// The steps, in order:
/// 1. ``validate(_:collection:id:)``: the id and the state against the collection's schema;
/// 2. ``checkOwnWrites(_:held:receiver:)``: a version claiming writes of the receiving database
///    it never made is refused (needs the held state only when it claims any);
/// 3. the caller's check (the hub's origin check, a pull's), with the held state;
/// 4. ``decide(_:held:collection:id:)``: unchanged, or the state to store and what it was.
public enum ReceivedMerge: Sendable, Equatable {
    /// Already known (equal or older), or an empty state for a record not held: nothing changes.
    case unchanged
    /// Store `state`; `result` is ``MergeResult/created``, ``MergeResult/applied`` or
    /// ``MergeResult/merged``.
    case store(RecordState, MergeResult)

    /// Whether the stored state is the received one, whole (created or applied): then it is
    /// stored with the peer as its source (so it is not echoed back to it), and the received
    /// encoding may be stored as is. A join is new to the peer too: no source.
    public var keepsReceivedWhole: Bool {
        switch self {
        case .store(_, .created), .store(_, .applied): true
        default: false
        }
    }

    /// Checks the record id and the received state against `collection`.
    public static func validate(_ incoming: RecordState, collection: CollectionSchema, id: String) throws(CoreError) {
        try Names.checkRecordID(id, collection: collection.name)
        try incoming.check(against: collection)
    }

    /// How many writes of `receiver` (the receiving database's writer) the version claims: when
    /// above zero, the caller reads the held state and calls ``checkOwnWrites(_:held:receiver:)``.
    public static func ownWritesClaimed(by incoming: RecordState, receiver: NodeID) -> UInt64 {
        incoming.clock[receiver]
    }

    /// Only the receiving database's local writes make its writer's dots: a version claiming more
    /// of them than the record holds here was forged (a rogue LAN peer writing in this station's
    /// name, a crafted change file) or holds writes this file lost. Like two writes under one
    /// dot, it is left out for this record (`dot_collision`) and both versions stay.
    public static func checkOwnWrites(_ incoming: RecordState, held: RecordState?, receiver: NodeID, key: RecordKey) throws(CoreError) {
        let claimed = incoming.clock[receiver]
        guard claimed > 0, claimed > (held?.clock[receiver] ?? 0) else { return }
        throw CoreError(
            .dotCollision,
            "\(key): dot_collision: the version received claims write \(claimed) of this database (\(receiver)), "
                + "which it never made here (a forged version, or writes this file lost); refused, both versions are kept as they were")
    }

    /// Refuses `state` (its canonical bytes `encoded`, when known) past ``Limits/stateBytes``.
    /// A backend that keeps the record's previous state (an own version, ``OwnVersions``) before
    /// storing the merged one calls this first: a merge left out `over_limit` keeps nothing.
    /// Returns the canonical bytes, for the store to write (so the state is encoded once).
    public static func checkSize(_ state: RecordState, encoded: [UInt8]?, collection: String, id: String) throws(CoreError) -> [UInt8] {
        let bytes = encoded ?? state.canonicalBytes
        guard bytes.count <= Limits.stateBytes else { throw Limits.stateTooLarge(bytes.count, collection: collection, id: id) }
        return bytes
    }

    /// Merges `incoming` into `held` (nil: no record held): what to store, or nothing. Throws for
    /// two different writes under one dot (`dot_collision`) and for a join past what a state may
    /// hold (see ``RecordState/checkJoinBounds(in:id:)``, ``RecordState/checkJoinedCounters(in:id:)``);
    /// both leave the record out (``MergeResult/leftOut(by:)``) with nothing written.
    public static func decide(
        _ incoming: RecordState, held: RecordState?, collection: CollectionSchema, id: String
    ) throws(CoreError)
        -> ReceivedMerge
    {
        guard var state = held else { return incoming.isEmpty ? .unchanged : .store(incoming, .created) }
        switch state.merge(incoming) {
        case .collision(let dot):
            throw CoreError(
                .dotCollision,
                "\(collection.name)/\(id): dot_collision: node \(dot.node) wrote \(dot) twice with different content "
                    + "(the version received and the one stored here are two different writes under one name: a database "
                    + "restored from a backup, copied, or made again under node \(dot.node)); refused, both versions are kept as they were")
        case .unchanged:
            return .unchanged
        case .fastForward:
            return .store(state, .applied)  // the state is `incoming`
        case .merged:
            try state.checkJoinBounds(in: collection, id: id)
            try state.checkJoinedCounters(in: collection, id: id)
            return .store(state, .merged)
        }
    }
}

extension ReceivedMerge {
    /// Merges each change of a batch with `merge` (one backend's merge of one change), in order:
    /// a change refused in a way that leaves out only its record (``MergeResult/leftOut(by:)``)
    /// gets that result and the others go on; any other error is rethrown, and the caller's
    /// transaction keeps nothing. Every backend's ``ChangeSink/apply(_:from:cursor:claim:check:)``
    /// goes through it.
    public static func mergeEach(
        _ changes: [IncomingChange], from peer: NodeID, _ merge: (IncomingChange) throws -> MergeResult
    ) throws -> [MergeResult] {
        var results: [MergeResult] = []
        results.reserveCapacity(changes.count)
        for change in changes {
            do {
                results.append(try merge(change))
            } catch {
                // Found before the merge writes anything: this record is left as it is, and the
                // others go on. One such record must not hold up a node's every sync.
                guard let result = MergeResult.leftOut(by: error) else { throw error }
                if result != .waiting { Logger(label: "stationsync.sync").warning("\(error)", metadata: ["from": "\(peer)"]) }
                results.append(result)
            }
        }
        return results
    }
}
