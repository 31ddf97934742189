/// A hybrid logical clock (Kulkarni et al., 2014) that tolerates wrong wall clocks.
///
/// - Timestamps it issues never go backwards when the machine's clock is set back by up to
///   ``maxForwardDrift``. A last timestamp further ahead of the wall clock than that was issued
///   under a wrong clock (set a year ahead, then put right): it starts again from the wall
///   clock, since every receiver refuses this node's writes stamped that far ahead of its own
///   clock. (The merge rule orders a node's writes by their dots, never by their times: a write
///   stamped earlier than the same node's previous one still supersedes it.)
/// - After seeing a remote timestamp, later local timestamps are greater, so a write made after
///   syncing sorts after what was synced, even on a machine whose clock runs behind.
/// - A remote timestamp more than ``maxForwardDrift`` ahead of the local wall clock is not adopted:
///   one station with its clock set years ahead cannot drag every other node into the future.
///   The remote write keeps its own timestamp; only this node's clock refuses to jump.
public struct HybridLogicalClock: Sendable, Equatable {
    /// The last timestamp issued or adopted.
    public private(set) var last: HLCTimestamp
    /// Largest lead of a remote timestamp over local wall time that is adopted (milliseconds).
    public var maxForwardDrift: UInt64

    /// Default tolerance: one day.
    public static let defaultMaxForwardDrift: UInt64 = 24 * 3600 * 1000

    public init(last: HLCTimestamp = .zero, maxForwardDrift: UInt64 = Self.defaultMaxForwardDrift) {
        self.last = last
        self.maxForwardDrift = maxForwardDrift
    }

    /// A new timestamp for a local event at wall time `physical` (ms since 1970).
    public mutating func now(physical: UInt64) -> HLCTimestamp {
        let wall = min(physical, HLCTimestamp.maxWall)
        if wall > last.wall || last.wall > wall &+ maxForwardDrift {
            last = HLCTimestamp(wall: wall, logical: 0)
        } else {
            last = Self.successor(of: last)
        }
        return last
    }

    /// Folds in a timestamp seen on a remote write, unless it is implausibly far ahead.
    /// Returns whether it was adopted.
    @discardableResult
    public mutating func observe(_ remote: HLCTimestamp, physical: UInt64) -> Bool {
        guard remote > last else { return true }
        guard remote.wall <= physical &+ maxForwardDrift else { return false }
        last = remote
        return true
    }

    private static func successor(of t: HLCTimestamp) -> HLCTimestamp {
        if t.logical == UInt16.max { return HLCTimestamp(wall: t.wall + 1, logical: 0) }
        return HLCTimestamp(rawValue: t.rawValue + 1)
    }
}
