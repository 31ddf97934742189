/// What a station was last seen doing at this node.
public struct StationActivity: Sendable, Equatable {
    public var station: String
    public var lastSeenAt: String
    public var lastPullAt: String?
    /// The sequence of this node's feed the station had pulled through at its last pull.
    public var pulledThrough: Int64
    public var lastPushAt: String?
    /// Changes it has pushed here, in all.
    public var pushedChanges: Int64
    /// How far ahead (positive) or behind this node's its clock was at its last session, in ms
    /// (nil: not known, a station of an older version).
    public var clockOffset: Int64?

    public init(
        station: String, lastSeenAt: String, lastPullAt: String?, pulledThrough: Int64, lastPushAt: String?, pushedChanges: Int64,
        clockOffset: Int64?
    ) {
        self.station = station
        self.lastSeenAt = lastSeenAt
        self.lastPullAt = lastPullAt
        self.pulledThrough = pulledThrough
        self.lastPushAt = lastPushAt
        self.pushedChanges = pushedChanges
        self.clockOffset = clockOffset
    }
}
