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

/// The policy a conflict stands under: its field's (``FieldPolicy``), or for a delete against
/// an update its collection's (``DeleteConflictPolicy``). Stored in resolutions by its raw value.
public enum ConflictPolicy: String, Sendable, CaseIterable, Codable {
    case lww, manual, counter
    case updateWins = "update-wins"
    case deleteWins = "delete-wins"

    public init(_ policy: FieldPolicy) {
        switch policy {
        case .lww: self = .lww
        case .manual: self = .manual
        case .counter: self = .counter
        }
    }

    public init(_ policy: DeleteConflictPolicy) {
        switch policy {
        case .updateWins: self = .updateWins
        case .deleteWins: self = .deleteWins
        }
    }

    /// Whether the policy decides on its own (every one but `manual`) or waits for a person.
    public var isAutomatic: Bool { self != .manual }
}
