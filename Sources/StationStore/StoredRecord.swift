import StationSync
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
}
