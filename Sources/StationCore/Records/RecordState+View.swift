/// What reads show of a record: the values every replica with the same state shows.
public struct RecordView: Hashable, Sendable {
    public var collection: String
    public var id: String
    /// Visible field values: counters' readings, other fields' winners; unset (`null`) fields omitted.
    public var fields: [String: JSONValue]
    /// Whether reads show the record as deleted.
    public var deleted: Bool
    /// True while a `manual` field holds several values, or a counter disagreeing stocktakes
    /// (waiting for a person to resolve).
    public var conflicted: Bool
    /// Every conflict the record holds, automatic or not.
    public var conflicts: [Conflict]
    /// Conflicts this record held that a later write resolved: who, when, how.
    public var resolutions: [Resolution]
    /// The record's clock.
    public var clock: VectorClock
}

extension RecordState {
    /// The visible record under `collection`'s policies.
    public func view(in collection: CollectionSchema, id: String) -> RecordView {
        var visible: [String: JSONValue] = [:]
        var conflicts: [Conflict] = []
        var conflicted = false
        for (name, entries) in fields {
            let policy = collection.policy(of: name)
            if policy == .counter {
                let reading = counterReading(name)
                visible[name] = .int(reading.value)
                if let conflict = counterConflict(reading, onField: name, in: collection, id: id) {
                    conflicted = true
                    conflicts.append(conflict)
                }
                continue
            }
            let winner = entries.winner()!
            if !winner.value.isNull { visible[name] = winner.value }
            if let conflict = conflict(onField: name, in: collection, id: id) {
                if policy == .manual { conflicted = true }
                conflicts.append(conflict)
            }
        }
        if let conflict = existenceConflict(in: collection, id: id) { conflicts.append(conflict) }
        return RecordView(
            collection: collection.name, id: id, fields: visible,
            deleted: RecordState.visibleDeleted(existence, policy: collection.deleteConflict), conflicted: conflicted,
            conflicts: conflicts, resolutions: resolutions, clock: clock)
    }

    /// What reads show of one field: a counter's reading, another field's winner; nil when the
    /// field is unset (absent or null). The same value as `view(in:id:).fields[name]`.
    public func shown(_ name: String, in collection: CollectionSchema) -> JSONValue? {
        guard let entries = fields[name] else { return nil }
        if collection.policy(of: name) == .counter { return .int(counterReading(name).value) }
        let winner = entries.winner()!.value
        return winner.isNull ? nil : winner
    }

    /// The conflict a field holds (several different values of an `lww` or `manual` field), or
    /// nil. Concurrent writes of the same value (the same canonical bytes) are no conflict: the
    /// register keeps each write's dot, and reads show the one value.
    public func conflict(onField name: String, in collection: CollectionSchema, id: String) -> Conflict? {
        guard let entries = fields[name], RecordState.holdsDifferentValues(entries) else { return nil }
        let policy = collection.policy(of: name)
        guard policy != .counter else { return counterConflict(counterReading(name), onField: name, in: collection, id: id) }
        return Conflict(
            id: Conflict.makeID(collection: collection.name, recordID: id, field: name, dots: entries.map(\.dot)),
            collection: collection.name, recordID: id, field: name, policy: ConflictPolicy(policy),
            values: entries.sorted { DottedValue.winsOver($0, $1) }, automatic: policy == .lww,
            rule: ConflictReport.rule(policy: ConflictPolicy(policy)))
    }

    /// The delete-versus-update conflict (pseudo-field `_deleted`), or nil. Its values are `true`
    /// for the delete and `false` for the update, the one reads show first.
    public func existenceConflict(in collection: CollectionSchema, id: String) -> Conflict? {
        guard existence.count > 1, Set(existence.map(\.value)).count > 1 else { return nil }
        let deleted = RecordState.visibleDeleted(existence, policy: collection.deleteConflict)
        let shown = existence.filter { $0.value == !deleted }.sorted { DottedValue.winsOver($0, $1) }
        let others = existence.filter { $0.value == deleted }.sorted { DottedValue.winsOver($0, $1) }
        let policy = collection.deleteConflict
        return Conflict(
            id: Conflict.makeID(collection: collection.name, recordID: id, field: Conflict.existenceField, dots: existence.map(\.dot)),
            collection: collection.name, recordID: id, field: Conflict.existenceField, policy: ConflictPolicy(policy),
            values: (shown + others).map { DottedValue(dot: $0.dot, time: $0.time, value: .bool(!$0.value), author: $0.author) },
            automatic: true,
            rule: ConflictReport.rule(policy: ConflictPolicy(policy)))
    }

    /// What reads show about the record's status, without building its visible values: whether it
    /// is deleted, whether a manual field waits for a person, and how many conflicts it holds.
    /// Equal to the corresponding parts of ``view(in:id:)``, cheaper (the store keeps them per row).
    public func status(in collection: CollectionSchema) -> (deleted: Bool, conflicted: Bool, conflicts: Int) {
        var conflicted = false
        var conflicts = 0
        for (name, entries) in fields where RecordState.holdsDifferentValues(entries) {
            switch collection.policy(of: name) {
            case .counter:
                guard entries.count > 1, counterReading(name).disagrees else { continue }
                conflicted = true
            case .manual: conflicted = true
            case .lww: break
            }
            conflicts += 1
        }
        if existence.count > 1, existence.contains(where: { $0.value }), existence.contains(where: { !$0.value }) {
            conflicts += 1
        }
        return (RecordState.visibleDeleted(existence, policy: collection.deleteConflict), conflicted, conflicts)
    }

    /// Whether a register holds at least two different values (by their canonical bytes): what
    /// makes a conflict of an `lww` or `manual` field.
    static func holdsDifferentValues(_ entries: [DottedValue<JSONValue>]) -> Bool {
        guard entries.count > 1 else { return false }
        let first = entries[0].value
        return entries.dropFirst().contains { $0.value != first }
    }

    /// The delete policy applied to an existence register: a single value is itself; concurrent
    /// alive and deleted values are decided by the collection's `deleteConflict`.
    static func visibleDeleted(_ existence: [DottedValue<Bool>], policy: DeleteConflictPolicy) -> Bool {
        guard !existence.isEmpty else { return false }
        let anyDeleted = existence.contains { !$0.value }
        let anyAlive = existence.contains { $0.value }
        switch policy {
        case .updateWins: return !anyAlive
        case .deleteWins: return anyDeleted
        }
    }
}
