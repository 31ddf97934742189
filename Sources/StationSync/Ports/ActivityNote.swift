/// What a station did at a node, as the node notes it for its operator (the hub's dashboard and
/// `hub stations`): when it was last seen, when it last pulled and how far, when it last pushed
/// and how many changes in all, how far off its clock was. Every backend combines notes by the
/// rule here (``note(pulledThrough:pushed:clockOffset:at:)``, ``add(_:)``); the SQLite store's
/// upsert says the same in SQL.
public struct ActivityNote: Sendable, Equatable {
    /// Times as ``StoredTime`` writes them (`YYYY-MM-DD HH:MM:SS`, UTC: their bytes sort as the times do).
    public var lastSeenAt: String
    public var lastPullAt: String?
    /// The sequence of this node's feed the station had pulled through at its last pull.
    public var pulledThrough: Int64?
    public var lastPushAt: String?
    /// Changes pushed, in all.
    public var pushed: Int64 = 0
    /// How far ahead (positive) or behind this node's its clock was at its last session, in ms.
    public var clockOffset: Int64?

    public init(lastSeenAt: String) { self.lastSeenAt = lastSeenAt }

    /// A station seen at `time`: with `pulledThrough`, a pull through that sequence; with
    /// `pushed`, a push of that many changes; with `clockOffset`, a session that measured its clock.
    public mutating func note(pulledThrough: Int64? = nil, pushed: Int? = nil, clockOffset: Int64? = nil, at time: String) {
        add(ActivityNote(time, pulledThrough: pulledThrough, pushed: pushed, clockOffset: clockOffset))
    }

    /// Adds what was noted after this (`later`) on top: the latest time seen, the latest pull and
    /// push with their times, the pushed changes summed, the latest clock offset measured.
    public mutating func add(_ later: ActivityNote) {
        if lastSeenAt.utf8.lexicographicallyPrecedes(later.lastSeenAt.utf8) { lastSeenAt = later.lastSeenAt }
        if let pulledThrough = later.pulledThrough {
            lastPullAt = later.lastPullAt
            self.pulledThrough = pulledThrough
        }
        if later.lastPushAt != nil {
            lastPushAt = later.lastPushAt
            pushed += later.pushed
        }
        if let clockOffset = later.clockOffset { self.clockOffset = clockOffset }
    }

    private init(_ time: String, pulledThrough: Int64?, pushed: Int?, clockOffset: Int64?) {
        lastSeenAt = time
        if let pulledThrough {
            lastPullAt = time
            self.pulledThrough = pulledThrough
        }
        if let pushed {
            lastPushAt = time
            self.pushed = Int64(pushed)
        }
        self.clockOffset = clockOffset
    }
}
