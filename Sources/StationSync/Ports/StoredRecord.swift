import StationCore

/// A record as this node stores it: its full state, where it sits in the change feed, and what
/// reads show of it.
public struct StoredRecord: Sendable, Equatable {
    public var collection: String
    public var id: String
    /// The change-feed sequence of the record's latest change on this node.
    public var seq: Int64
    /// The full mergeable state.
    public var state: RecordState
    /// The peer the latest change came from, or nil for a local write.
    public var source: String?
    /// What reads show, under the collection's policies.
    public var view: RecordView

    public init(collection: String, id: String, seq: Int64, state: RecordState, source: String?, view: RecordView) {
        self.collection = collection
        self.id = id
        self.seq = seq
        self.state = state
        self.source = source
        self.view = view
    }
}

/// What a local write did.
public struct LocalWrite: Sendable {
    /// The record's state after the write (the stored one when nothing was written).
    public var state: RecordState
    /// False when the write would have changed nothing reads show and was not made.
    public var changed: Bool

    public init(state: RecordState, changed: Bool) {
        self.state = state
        self.changed = changed
    }
}
