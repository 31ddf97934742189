/// How concurrent writes to one field are merged.
public enum FieldPolicy: String, Sendable, CaseIterable, Codable {
    /// Last writer wins: a deterministic winner (HLC timestamp, then node) is shown; the other
    /// values stay in the field as an automatically decided conflict.
    case lww
    /// Every concurrent value is kept; reads show the deterministic winner and flag the record as
    /// conflicted until a write that has seen them all resolves it.
    case manual
    /// An integer that merges by summing every node's increments.
    case counter
}

/// What a delete concurrent with an update does.
public enum DeleteConflictPolicy: String, Sendable, CaseIterable, Codable {
    /// The record stays alive with the update; the delete is kept in a conflict.
    case updateWins = "update-wins"
    /// The record stays deleted; the update's values are kept in the tombstone and a conflict.
    case deleteWins = "delete-wins"
}
