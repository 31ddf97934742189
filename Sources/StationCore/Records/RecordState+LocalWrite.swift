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
    /// For a `counter` field, putting `v` is a stocktake: the count is `v` as this node sees it;
    /// increments it has not seen (made elsewhere, concurrently) still add on top (see
    /// RecordState+Counter.swift). Putting a record that reads as deleted recreates it: fields
    /// not given are unset (a `null` written over each) and counters not given restart at 0.
    ///
    /// A put that would change nothing reads show (every given field already shows that value by
    /// its canonical bytes and holds no conflict, every given counter already reads that number
    /// with no disagreeing stocktakes, the record is alive and not in a delete-versus-update
    /// conflict) writes nothing and returns nil: no dot, no change to sync. `force` writes it anyway.
    ///
    /// Creating a record (or recreating one) needs the collection's required fields;
    /// `requiringFields: false` skips that check only, for checking a write against a record
    /// known to exist elsewhere (an import line updating a record an earlier line creates).
    @discardableResult
    public mutating func put(
        _ values: [String: JSONValue], by node: NodeID, at time: HLCTimestamp,
        in collection: CollectionSchema, id: String, how: Resolution.How = .write, force: Bool = false,
        requiringFields: Bool = true, author: String? = nil
    ) throws(CoreError) -> Dot? {
        let author = try Self.checkedAuthor(author, at: "\(collection.name)/\(id)")
        // Check every field before anything changes, so errors leave the state untouched; each
        // field's policy is looked up once.
        var written: [(name: String, value: JSONValue)] = []  // lww and manual fields
        var counterTargets: [(name: String, target: Int64)] = []
        written.reserveCapacity(values.count)
        var given: [String: JSONValue] = [:]  // by the declared names, values as checked
        given.reserveCapacity(values.count)
        for (typed, raw) in values {
            let (name, declaration) = try collection.localField(typed, id: id)
            guard raw.nestsWithinLimit else { throw Self.tooDeep(raw, field: name, in: collection.name, id: id) }
            let value = try declaration?.checked(raw, field: name, at: "\(collection.name)/\(id)") ?? raw
            given[name] = value
            guard collection.policy(of: name) == .counter else {
                written.append((name, value))
                continue
            }
            guard let target = value.intValue else {
                throw CoreError(
                    .wrongType,
                    "\(collection.name)/\(id): field \"\(name)\" is a counter and needs an integer, not \(value.typeName)")
            }
            guard Self.holdsAsCounter(target) else {
                throw CoreError(
                    .counterOverflow,
                    "\(collection.name)/\(id): field \"\(name)\" is a counter and holds at most ±\(Self.maxCounterMagnitude); \(target) is refused")
            }
            counterTargets.append((name, target))
        }
        let recreating = !isEmpty && isDeleted(in: collection)
        if requiringFields, isEmpty || recreating { try collection.checkRequired(in: given, id: id) }
        var cleared: [String] = []
        if recreating {
            for (name, register) in fields where given[name] == nil {
                if collection.policy(of: name) == .counter {
                    counterTargets.append((name, 0))
                } else if !(register.count == 1 && register[0].value.isNull) {
                    cleared.append(name)
                }
            }
        }
        if !force, !recreating, shows(written, counterTargets: counterTargets, in: collection, id: id) { return nil }
        try roomForWriter(node, in: collection, id: id)
        let ending = endingConflicts(fields: written.map(\.name) + cleared + counterTargets.map(\.name), existence: true, in: collection, id: id)
        let dot = clock.increment(node)
        existence = [DottedValue(dot: dot, time: time, value: true, author: author)]
        if fields.isEmpty { fields.reserveCapacity(written.count + counterTargets.count) }  // a new record: no regrowth
        for (name, value) in written {
            fields[name] = [DottedValue(dot: dot, time: time, value: value, author: author)]
        }
        // Unset by a write of null, not removed: the write replaces the values it has seen like any
        // other, so no node ever drops another's value without a write of its own there.
        for name in cleared { fields[name] = [DottedValue(dot: dot, time: time, value: .null, author: author)] }
        for (name, target) in counterTargets {
            writeStocktake(name, count: target, dot: dot, time: time, author: author)
        }
        record(ending, how: how, by: dot, time: time) { field in
            field == Conflict.existenceField ? .bool(false) : given[field] ?? (collection.policy(of: field) == .counter ? .int(0) : .null)
        }
        return dot
    }

    /// The author a write names, as ``Person/checked(_:)`` holds it; a name that is not one is
    /// refused, changing nothing.
    static func checkedAuthor(_ author: String?, at place: @autoclosure () -> String) throws(CoreError) -> String? {
        guard let author else { return nil }
        guard let checked = Person.checked(author) else { throw Person.refusal(author, at: place()) }
        return checked
    }

    /// The refusal of a value nested deeper than ``Limits/valueDepth``.
    static func tooDeep(_ value: JSONValue, field: String, in collection: String? = nil, id: String? = nil) -> CoreError {
        CoreError(
            .beyondLimit,
            (collection.map { "\($0)/\(id ?? "")" } ?? "record state")
                + ": field \"\(field)\" holds a value nested \(value.nesting(upTo: 64)) levels deep; a value nests at most "
                + "\(Limits.valueDepth) levels (arrays and objects inside one another), so that every message and change file can carry it")
    }

    /// Whether reads of this (existing) record already show exactly what a put would write: the
    /// record alive with no delete-versus-update conflict, each written field holding that one
    /// value (no conflict), each counter that total. `null` matches an unset field.
    private func shows(
        _ written: [(name: String, value: JSONValue)], counterTargets: [(name: String, target: Int64)],
        in collection: CollectionSchema, id: String
    ) -> Bool {
        guard !isEmpty, !isDeleted(in: collection), existenceConflict(in: collection, id: id) == nil else { return false }
        for (name, value) in written {
            guard let register = fields[name] else {
                if value.isNull { continue }
                return false
            }
            guard !RecordState.holdsDifferentValues(register), register[0].value == value else { return false }
        }
        for (name, target) in counterTargets {
            let reading = counterReading(name)
            if reading.value != target || reading.disagrees { return false }
        }
        return true
    }

    /// Adds `amount` (possibly negative) to a `counter` field. Creates the record if it never
    /// existed; refuses a record that reads as deleted.
    @discardableResult
    public mutating func add(
        _ amount: Int64, to field: String, by node: NodeID, at time: HLCTimestamp,
        in collection: CollectionSchema, id: String, author: String? = nil
    ) throws(CoreError) -> Dot {
        let author = try Self.checkedAuthor(author, at: "\(collection.name)/\(id)")
        let (field, declaration) = try collection.localField(field, id: id)
        let policy = collection.policy(of: field)
        guard policy == .counter else {
            throw CoreError(
                .wrongType, "\(collection.name)/\(id): field \"\(field)\" is \(policy.rawValue), not a counter; use put")
        }
        if !isEmpty, isDeleted(in: collection) {
            throw CoreError(.recordDeleted, "\(collection.name)/\(id) is deleted; put it to recreate it first")
        }
        if isEmpty { try collection.checkRequired(in: [:], id: id) }
        let (own, overflows) = ownCounterTotal(field, node: node).addingReportingOverflow(amount)
        guard !overflows, Self.holdsAsCounter(own) else {
            throw CoreError(
                .counterOverflow,
                "\(collection.name)/\(id): adding \(amount) to \"\(field)\" (now \(counterTotal(field))) would make this node's total pass "
                    + "±\(Self.maxCounterMagnitude), the most a counter holds; refused")
        }
        var next = self
        next.setOwnCounterTotal(field, node: node, dot: Dot(node, clock[node] + 1), time: time, total: own)
        guard next.counterReading(field).fits else {
            throw CoreError(
                .counterOverflow,
                "\(collection.name)/\(id): \"\(field)\" reads as a number past 64 bits (a conflict: the totals and stocktakes held "
                    + "add up to more than \(Int64.max) or less than \(Int64.min)); count it first (put \(field) N), then add; refused")
        }
        // Bounds hold for what this node reads after the add; a move back towards them always
        // passes (concurrent adds elsewhere can take a count past a bound once merged).
        if let declaration {
            let now = counterReading(field).value
            let after = next.counterReading(field).value
            let bound: String? =
                if amount < 0, let lowest = declaration.minimum, after < lowest {
                    "at least \(lowest)"
                } else if amount > 0, let highest = declaration.maximum, after > highest { "at most \(highest)" } else { nil }
            if let bound {
                throw CoreError(
                    .outOfBounds,
                    "\(collection.name)/\(id): adding \(amount) to \"\(field)\" (now \(now)) would leave \(after); it holds \(bound); refused")
            }
        }
        let ending = endingConflicts(fields: [], existence: true, in: collection, id: id)
        try roomForWriter(node, in: collection, id: id)
        let dot = clock.increment(node)
        existence = [DottedValue(dot: dot, time: time, value: true, author: author)]
        setOwnCounterTotal(field, node: node, dot: dot, time: time, total: own, author: author)
        record(ending, how: .write, by: dot, time: time) { _ in .bool(false) }
        return dot
    }

    /// Deletes the record: a tombstone write that keeps the field values. Returns nil when the
    /// record is already deleted with no concurrent update pending (nothing to write); throws when
    /// it never existed.
    @discardableResult
    public mutating func delete(
        by node: NodeID, at time: HLCTimestamp, in collection: CollectionSchema, id: String, author: String? = nil
    ) throws(CoreError) -> Dot? {
        let author = try Self.checkedAuthor(author, at: "\(collection.name)/\(id)")
        guard !isEmpty else { throw CoreError(.recordNotFound, "\(collection.name)/\(id) does not exist") }
        if existence.count == 1, existence[0].value == false { return nil }
        let ending = endingConflicts(fields: [], existence: true, in: collection, id: id)
        try roomForWriter(node, in: collection, id: id)
        let dot = clock.increment(node)
        existence = [DottedValue(dot: dot, time: time, value: false, author: author)]
        record(ending, how: .write, by: dot, time: time) { _ in .bool(true) }
        return dot
    }

    /// How a person resolves a conflict.
    public enum ResolutionChoice: Sendable, Equatable {
        /// Keep the value at this index of the conflict's `values`.
        case choose(Int)
        /// Write a new value.
        case value(JSONValue)
        /// Keep the automatic decision (`values[0]`) and mark it acknowledged.
        case accept
    }

    /// Resolves the conflict `conflictID` with one write that has seen every competing value, so it
    /// supersedes them on every replica once synced. The record's existence reads the same after
    /// as before, except when the conflict is about it. Throws, changing nothing, for an unknown
    /// conflict, an index out of range or a value of the wrong type.
    @discardableResult
    public mutating func resolve(
        _ conflictID: String, _ choice: ResolutionChoice, by node: NodeID, at time: HLCTimestamp,
        in collection: CollectionSchema, id: String, person: String? = nil
    ) throws(CoreError) -> Dot {
        let person = try Self.checkedAuthor(person, at: "\(collection.name)/\(id)")
        let candidates =
            fields.keys.sorted().compactMap { conflict(onField: $0, in: collection, id: id) }
            + [existenceConflict(in: collection, id: id)].compactMap { $0 }
        guard let conflict = candidates.first(where: { $0.id == conflictID }) else {
            throw CoreError(.conflictNotFound, "\(collection.name)/\(id) holds no open conflict \(conflictID)")
        }
        let how: Resolution.How
        let value: JSONValue
        switch choice {
        case .choose(let index):
            guard conflict.values.indices.contains(index) else {
                throw CoreError(.indexOutOfRange, "conflict \(conflictID) has values 0...\(conflict.values.count - 1); there is no \(index)")
            }
            (how, value) = (.choose, conflict.values[index].value)
        case .value(let v):
            if conflict.policy == .counter, v.intValue == nil {
                throw CoreError(
                    .wrongType,
                    "conflict \(conflictID) is on counter \"\(conflict.field)\": the value must be an integer (the count), not \(v.typeName)")
            }
            if conflict.field == Conflict.existenceField, v.boolValue == nil {
                throw CoreError(.wrongType, "conflict \(conflictID) is delete versus update: the value must be true (deleted) or false (kept)")
            }
            guard v.nestsWithinLimit else { throw Self.tooDeep(v, field: conflict.field, in: collection.name, id: id) }
            var checked = v
            if conflict.field != Conflict.existenceField, let declaration = collection.declarations[conflict.field] {
                checked = try declaration.checked(v, field: conflict.field, at: "\(collection.name)/\(id)")
            }
            (how, value) = (.value, checked)
        case .accept:
            (how, value) = (.accept, conflict.values[0].value)
        }
        // A counter is resolved by a stocktake, whose count holds at most ±maxCounterMagnitude
        // (a reading chosen may be past it: totals add up beyond).
        if conflict.policy == .counter, let count = value.intValue, !Self.holdsAsCounter(count) {
            throw CoreError(
                .counterOverflow,
                "conflict \(conflictID) is on counter \"\(conflict.field)\": a count holds at most ±\(Self.maxCounterMagnitude), so \(count) cannot be kept; give the count (--value N)"
            )
        }
        let deletedNow = isDeleted(in: collection)
        let keepDeleted = conflict.field == Conflict.existenceField ? value.boolValue! : deletedNow
        // Writing the existence register also ends a delete-versus-update conflict on the record
        // (as it reads now): kept in the history like any write's.
        let endedExistence = conflict.field == Conflict.existenceField ? [] : endingConflicts(fields: [], existence: true, in: collection, id: id)
        try roomForWriter(node, in: collection, id: id)
        let dot = clock.increment(node)
        existence = [DottedValue(dot: dot, time: time, value: !keepDeleted, author: person)]
        if conflict.policy == .counter, let count = value.intValue {
            writeStocktake(conflict.field, count: count, dot: dot, time: time, author: person)
        } else if conflict.field != Conflict.existenceField {
            fields[conflict.field] = [DottedValue(dot: dot, time: time, value: value, author: person)]
        }
        record(endedExistence, how: .write, by: dot, time: time) { _ in .bool(keepDeleted) }
        resolutions.append(
            Resolution(
                conflictID: conflict.id, field: conflict.field, policy: conflict.policy, how: how, by: dot, time: time,
                values: conflict.values, result: conflict.field == Conflict.existenceField ? .bool(keepDeleted) : value,
                person: person))
        resolutions = Resolution.compacted(resolutions)
        return dot
    }

    /// Refuses a state made by joining two (a merge) that holds more than a state may
    /// (``maxClockEntries`` writers in its clock or values in a register): no node could read it,
    /// so it is never stored or served. Two states each within the bounds can join beyond them.
    /// (A joined history never does: the join keeps its newest entries, ``Resolution/compacted(_:)``.)
    public func checkJoinBounds(in collection: CollectionSchema, id: String) throws(CoreError) {
        // Counted first, worded only for a refusal: this runs on every join.
        let limit = RecordState.maxClockEntries
        let overfull = fields.first { $0.values.count > limit }
        let what: String
        let most: Int
        if clock.writerCount > limit {
            (what, most) = ("its clock names \(clock.writerCount) writers", limit)
        } else if existence.count > limit {
            (what, most) = ("its existence holds \(existence.count) values", limit)
        } else if let (name, register) = overfull {
            (what, most) = ("field \(name) holds \(register.count) values", limit)
        } else {
            return
        }
        throw CoreError(
            .tooManyWriters,
            "\(collection.name)/\(id): merging the version received with the one here would make a state no node can read "
                + "(\(what), at most \(most)); refused for this record, this node's version is kept")
    }

    /// Refuses a write that would make the clock name more writers than a state may hold
    /// (``maxClockEntries``): the state could then be read nowhere, this node included. Every
    /// database writes under its own name, and a restored, copied or reinstalled one under a new
    /// one, so a record edited for years from databases renewed that often can reach it.
    private func roomForWriter(_ node: NodeID, in collection: CollectionSchema, id: String) throws(CoreError) {
        guard clock[node] == 0, clock.writerCount >= RecordState.maxClockEntries else { return }
        throw CoreError(
            .tooManyWriters,
            "\(collection.name)/\(id): \(clock.writerCount) writers (databases) have written this record, the most a record holds; "
                + "\(node) cannot be another (every restored, copied or reinstalled database writes under a new name)")
    }

    /// The conflicts a write is about to end: those on the fields it writes and, when it sets the
    /// existence register, a delete-versus-update conflict.
    private func endingConflicts(fields names: [String], existence: Bool, in collection: CollectionSchema, id: String) -> [Conflict] {
        // Only a register holding several values can be a conflict: most writes find none.
        var result = names.filter { (fields[$0]?.count ?? 0) > 1 }.sorted().compactMap { conflict(onField: $0, in: collection, id: id) }
        if existence, let c = existenceConflict(in: collection, id: id) { result.append(c) }
        return result
    }

    /// Appends the history entries of conflicts ended by the write `dot`.
    private mutating func record(
        _ ending: [Conflict], how: Resolution.How, by dot: Dot, time: HLCTimestamp, result: (String) -> JSONValue
    ) {
        guard !ending.isEmpty else { return }
        for c in ending {
            resolutions.append(
                Resolution(
                    conflictID: c.id, field: c.field, policy: c.policy, how: how, by: dot, time: time, values: c.values, result: result(c.field)))
        }
        resolutions = Resolution.compacted(resolutions)
    }
}
