import StationCore

/// When a node keeps a record as it was before a peer's version is merged on top of it (an own
/// version, see ``CheckpointStore/waitingChanges(peer:after:limit:)``): the rule every backend
/// applies in its merges, pure.
///
/// Two stations that both wrote a record and synced on the LAN before either reached the hub
/// would wait for each other forever at the hub (each one's state holds the other's write, and a
/// station token may not relay). So before a peer's version is merged on top of a record holding
/// this node's own writes that a hub (a peer that may not take others' unseen writes from here)
/// has not received yet, the record as it is is kept: that version the hub can take.
public enum OwnVersions {
    /// Most own versions kept per record: the oldest ones are what a hub takes first.
    public static let maxPerRecord = 16

    /// For which records a merge from one peer keeps own versions, worked out once per peer
    /// and transaction.
    public enum Rule: Sendable, Equatable {
        /// Merging from a hub: never (a hub only brings writes it has).
        case never
        /// No hub known yet (a station that synced on the LAN first): always.
        case always
        /// For records changed here after this feed sequence (what every hub has), or waiting at a hub.
        case above(Int64)

        /// The rule for merging from `peer`. `peerIsHub`: the peer's checkpoint says it may not
        /// take others' writes (`mayRelay` false); `pushedToOtherHubs`: the lowest push
        /// checkpoint among the other such peers, nil when there is none; `atAHub`: this database
        /// is a hub's (`hub init`). A station with no hub known yet keeps them for the hub to come;
        /// a hub, only for a hub it pushes to that may not relay (a district hub with a city hub's
        /// station token), and none when it has no such peer.
        public static func merging(fromHub peerIsHub: Bool, pushedToOtherHubs: Int64?, atAHub: Bool = false) -> Rule {
            peerIsHub ? .never : pushedToOtherHubs.map { .above($0) } ?? (atAHub ? .never : .always)
        }
    }

    /// Whether `state` holds writes of `node` (this database's or its node's earlier
    /// incarnations': a restored, moved or reinstalled station brings those as its own too).
    public static func holdsOwnWrites(_ state: RecordState, node: NodeID) -> Bool {
        state.clock.sortedEntries.contains { $0.node.isIncarnation(of: node.rawValue) }
    }

    /// Whether a record that `rule` does not rule out (for `.above(pushed)`: changed here after
    /// `pushed`, or waiting at a hub) is kept as `state`: it holds own writes the newest version
    /// kept of it lacks, and fewer than ``maxPerRecord`` are kept.
    public static func keeps(_ state: RecordState, node: NodeID, newestKept: RecordState?, keptCount: Int) -> Bool {
        guard keptCount < maxPerRecord else { return false }
        guard let newest = newestKept else { return true }
        let own = state.clock.sortedEntries.filter { $0.node.isIncarnation(of: node.rawValue) }
        return !own.allSatisfy { newest.clock[$0.node] >= $0.counter }
    }

    /// Whether `rule` lets a record be kept; `seq` (the feed sequence of the record's last
    /// change here, nil: none) and `waitsAtAHub` are asked only when needed.
    public static func ruleAllows(_ rule: Rule, seq: () throws -> Int64?, waitsAtAHub: () throws -> Bool) rethrows -> Bool {
        switch rule {
        case .never: return false
        case .always: return true
        case .above(let pushed):
            // Its version reached every hub already: nothing to keep. (A push checkpoint also moves
            // past records a hub answered `waiting`: those did not reach it.)
            guard let seq = try seq() else { return false }
            if seq > pushed { return true }
            return try waitsAtAHub()
        }
    }
}
