import StationCore

/// Forgetting a record (`station forget`): the remedy for records a rogue LAN peer or a crafted
/// change file brought that no hub will ever take (junk under other nodes' names, a forgery
/// colliding with the real writes under the same dots). Only what other nodes wrote is
/// forgotten, never this station's own writes; it is local (no tombstone travels), and a record
/// that is real comes back from whoever holds it (the hub's copy with `station sync --full`).
///
/// The change feed never reuses a sequence: a peer's cursor may point at the forgotten record's,
/// so a backend keeps the highest sequence handed out and its feed goes on after it.
public struct ForgetRefusal: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The record does not exist here.
        case recordNotFound
        /// The record holds a write of this station (one of its databases).
        case holdsOwnWrites
    }

    public let code: Code
    /// The record refused.
    public let key: RecordKey
    public let message: String
    public var description: String { message }

    /// Refuses forgetting `key` (held as `state`, nil: not held) at `station` when it does not
    /// exist or holds a write of any database of `station`: forgetting it would lose that write.
    /// Every backend checks every record of a request with this before forgetting any.
    public static func check(_ key: RecordKey, _ state: RecordState?, station: String) throws(ForgetRefusal) {
        guard let state else {
            throw ForgetRefusal(code: .recordNotFound, key: key, message: "\(key) does not exist here; nothing was forgotten")
        }
        if let own = state.clock.sortedEntries.first(where: { $0.node.isIncarnation(of: station) }) {
            throw ForgetRefusal(
                code: .holdsOwnWrites, key: key,
                message: "\(key) holds writes of this station (\(own.node), \(own.counter)): forgetting it would lose them; nothing was "
                    + "forgotten (write the values to keep, or delete it, instead)")
        }
    }
}
