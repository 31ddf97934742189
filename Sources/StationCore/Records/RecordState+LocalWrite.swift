// Local writes: the only code that creates dots. Each command that changes a record (put, add,
// delete, a resolution) is one write: it increments the writing node's clock entry by one, stamps
// every value it writes with that dot and its HLC time, and replaces every value it has seen in the
// registers it writes.

extension RecordState {
    /// Whether reads show this record as deleted (see ``view(in:id:)`` for the policy rule).
    public func isDeleted(in collection: CollectionSchema) -> Bool {
        RecordState.visibleDeleted(existence, policy: collection.deleteConflict)
    }

    /// Sets the given fields and keeps the others. A `null` value unsets a field.
    ///
    /// For a `counter` field, putting `v` records the increment that brings the total this node
    /// sees to `v` (a stocktake): increments made concurrently elsewhere still add up on top.
    /// Putting a record that reads as deleted recreates it: fields not given are cleared and
    /// counters not given restart at 0.
    @discardableResult
    public mutating func put(
        _ values: [String: JSONValue], by node: NodeID, at time: HLCTimestamp,
        in collection: CollectionSchema, id: String
    ) throws(CoreError) -> Dot {
        for (name, value) in values {
            try Names.checkField(name, collection: collection.name)
            if collection.policy(of: name) == .counter, value.intValue == nil {
                throw CoreError(
                    .wrongType,
                    "\(collection.name)/\(id): field \"\(name)\" is a counter and needs an integer, not \(value.typeName)")
            }
        }
        let recreating = !isEmpty && isDeleted(in: collection)
        var counterTargets: [String: Int64] = [:]
        if recreating {
            for name in fields.keys where values[name] == nil {
                if collection.policy(of: name) == .counter { counterTargets[name] = 0 } else { fields[name] = nil }
            }
        }
        for (name, value) in values where collection.policy(of: name) == .counter {
            counterTargets[name] = value.intValue!
        }
        // Compute counter deltas before the clock moves, so errors leave the state untouched.
        var counterTotals: [String: Int64] = [:]
        for (name, target) in counterTargets {
            let current = counterTotal(name)
            let own = ownCounterValue(name, node: node)
            let (delta, o1) = target.subtractingReportingOverflow(current)
            let (newOwn, o2) = own.addingReportingOverflow(delta)
            guard !o1, !o2 else {
                throw CoreError(.counterOverflow, "\(collection.name)/\(id): setting counter \"\(name)\" to \(target) overflows")
            }
            counterTotals[name] = newOwn
        }
        let dot = clock.increment(node)
        existence = [DottedValue(dot: dot, time: time, value: true)]
        for (name, value) in values where collection.policy(of: name) != .counter {
            fields[name] = [DottedValue(dot: dot, time: time, value: value)]
        }
        for (name, total) in counterTotals {
            setOwnCounter(name, node: node, dot: dot, time: time, total: total)
        }
        return dot
    }

    /// Adds `amount` (possibly negative) to a `counter` field. Creates the record if it never
    /// existed; refuses a record that reads as deleted.
    @discardableResult
    public mutating func add(
        _ amount: Int64, to field: String, by node: NodeID, at time: HLCTimestamp,
        in collection: CollectionSchema, id: String
    ) throws(CoreError) -> Dot {
        try Names.checkField(field, collection: collection.name)
        let policy = collection.policy(of: field)
        guard policy == .counter else {
            throw CoreError(
                .wrongType, "\(collection.name)/\(id): field \"\(field)\" is \(policy.rawValue), not a counter; use put")
        }
        if !isEmpty, isDeleted(in: collection) {
            throw CoreError(.recordDeleted, "\(collection.name)/\(id) is deleted; put it to recreate it first")
        }
        let (total, o1) = counterTotal(field).addingReportingOverflow(amount)
        let (own, o2) = ownCounterValue(field, node: node).addingReportingOverflow(amount)
        guard !o1, !o2 else {
            throw CoreError(.counterOverflow, "\(collection.name)/\(id): adding \(amount) to \"\(field)\" overflows (total \(total))")
        }
        let dot = clock.increment(node)
        existence = [DottedValue(dot: dot, time: time, value: true)]
        setOwnCounter(field, node: node, dot: dot, time: time, total: own)
        return dot
    }

    /// Deletes the record: a tombstone write that keeps the field values. Returns nil when the
    /// record is already deleted with no concurrent update pending (nothing to write); throws when
    /// it never existed.
    @discardableResult
    public mutating func delete(
        by node: NodeID, at time: HLCTimestamp, in collection: CollectionSchema, id: String
    ) throws(CoreError) -> Dot? {
        guard !isEmpty else { throw CoreError(.recordNotFound, "\(collection.name)/\(id) does not exist") }
        if existence.count == 1, existence[0].value == false { return nil }
        let dot = clock.increment(node)
        existence = [DottedValue(dot: dot, time: time, value: false)]
        return dot
    }

    /// The sum of a counter field's per-node totals (wrapping, so the sum is order-independent).
    public func counterTotal(_ field: String) -> Int64 {
        (fields[field] ?? []).reduce(Int64(0)) { $0 &+ ($1.value.intValue ?? 0) }
    }

    private func ownCounterValue(_ field: String, node: NodeID) -> Int64 {
        fields[field]?.first { $0.dot.node == node }?.value.intValue ?? 0
    }

    private mutating func setOwnCounter(_ field: String, node: NodeID, dot: Dot, time: HLCTimestamp, total: Int64) {
        var entries = (fields[field] ?? []).filter { $0.dot.node != node }
        entries.append(DottedValue(dot: dot, time: time, value: .int(total)))
        entries.sort { $0.dot < $1.dot }
        fields[field] = entries
    }
}
