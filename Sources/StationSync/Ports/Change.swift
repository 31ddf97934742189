import StationCore

/// A page of the change feed.
public struct ChangeBatch: Sendable, Equatable {
    /// Changes in sequence order.
    public var changes: [Change]
    /// The sequence to ask from next time (the last change's, or the `since` asked for).
    public var nextSince: Int64
    /// Whether more changes follow.
    public var hasMore: Bool

    public init(changes: [Change], nextSince: Int64, hasMore: Bool) {
        self.changes = changes
        self.nextSince = nextSince
        self.hasMore = hasMore
    }
}

/// One entry of the local change feed: a record's latest state, stamped with the sequence of the
/// change that produced it.
public struct Change: Sendable, Equatable {
    public var seq: Int64
    public var collection: String
    public var id: String
    /// The record's state in canonical JSON (as stored, ready for the wire).
    public var stateText: String
    /// The peer the change came from, or nil for a local write.
    public var source: String?
    /// For a record waiting at a peer: the own version sent in place of the current state (see
    /// StationStore+Waiting.swift), or nil.
    public var ownVersion: Int64? = nil

    public init(seq: Int64, collection: String, id: String, stateText: String, source: String?, ownVersion: Int64? = nil) {
        self.seq = seq
        self.collection = collection
        self.id = id
        self.stateText = stateText
        self.source = source
        self.ownVersion = ownVersion
    }
}
