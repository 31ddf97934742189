import StationCore

/// Origin binding: what a caller without `--relay` may bring in a push.
///
/// Such a caller may bring only its own new writes. Concretely, for each pushed record state,
/// compared with the state this node holds:
/// 1. the clock may grow only in the caller's entry (no writes of other nodes this node has not seen);
/// 2. a value of another node that this node holds at the same dot must arrive unchanged
///    (no rewriting another node's value under its dot);
/// 3. a value of another node that this node holds may be left out only where the caller's own
///    new write replaced it: a new caller value in the same register (in a counter field: another
///    node's total never, another node's stocktake only for a new stocktake of the caller), or,
///    for a field left out entirely of a record this node holds as deleted, a new caller write
///    (a recreate made before version 2 cleared fields by removing them; it now writes `null`);
/// 4. a state that supersedes this node's copy may not carry values of other nodes that this node
///    no longer holds; resolution entries of other nodes must be ones this node has.
///
/// Honest states always pass: a node drops another node's value only after seeing a write that
/// superseded it, and this node has seen every such write of nodes other than the caller.
///
/// "The caller's writes" are those of every incarnation of its node (`NODE`, `NODE.INCARNATION`,
/// see `NodeID`): a station reinstalled or restored writes under a new incarnation and still
/// brings its earlier ones' writes.
public enum OriginCheck {
    /// Registers longer than this are indexed before values are looked up in them.
    static let searchLimit = 16
    /// Most incarnations (databases) of the caller's node a record's clock may name.
    public static let maxIncarnations = 64

    /// Checks `incoming` against `local` (nil: this node does not hold the record). `schema`
    /// says which fields are counters and how the record reads as deleted; without it every field
    /// is taken for a plain register.
    ///
    /// `caller` nil: the state is relayed (a pull from a LAN peer, which may bring anybody's new
    /// writes). The rules that hold for every honest state still apply: nothing this node holds
    /// is rewritten under its dot, dropped without a new write in its register, brought back once
    /// superseded, and the history holds every entry this node has, unchanged, and only entries
    /// that are the conflicts they name.
    public static func verify(
        _ incoming: RecordState, local: RecordState?, caller: NodeID?, collection: String, id: String,
        schema: CollectionSchema? = nil
    ) throws(SyncError) {
        let local = local ?? RecordState()
        func refuse(_ detail: String) -> SyncError {
            SyncError(
                .forbidden,
                "\(collection)/\(id): \(detail)"
                    + (caller.map { "; a token of \($0) may only bring its own writes (a token made with --relay may forward others')" } ?? ""))
        }
        let station = caller?.station
        /// Whether `writer` is the caller's (never, for a relayed state).
        func isCaller(_ writer: NodeID) -> Bool { station.map { writer.isIncarnation(of: $0) } ?? false }
        /// Whether the state may bring new writes of `writer` (anybody's, for a relayed state).
        func mayBring(_ writer: NodeID) -> Bool { station.map { writer.isIncarnation(of: $0) } ?? true }
        var callerWrote = false
        for entry in incoming.clock.sortedEntries where entry.counter > local.clock[entry.node] {
            guard mayBring(entry.node) else {
                // Honest, often: a station that synced with a peer on the LAN holds its writes.
                // The push answers `waiting` for this change (see SyncStorage.apply).
                throw SyncError(
                    .unseenWrites,
                    "\(collection)/\(id): the push brings writes of node \(entry.node.station) this node has not seen; a token of \(caller?.rawValue ?? "") may only bring its own writes (a token made with --relay may forward others'); it waits until \(entry.node.station)'s writes are here"
                )
            }
            callerWrote = true
        }
        // A node writes under a new incarnation only when its database is restored, copied or
        // made again: a record naming more of the caller's incarnations than that ever gives is a
        // clock padded to fill the record's writer limit (after which nobody new could write it).
        if callerWrote, station != nil {
            let incarnations = incoming.clock.sortedEntries.lazy.filter { isCaller($0.node) }.count
            if incarnations > Self.maxIncarnations, incarnations > local.clock.sortedEntries.lazy.filter({ isCaller($0.node) }).count {
                throw refuse("the push names \(incarnations) databases of \(station ?? "") in the record's clock (at most \(Self.maxIncarnations))")
            }
        }
        let supersedes = incoming.clock.compare(local.clock) == .after

        // Runs for every record of every push, so it allocates nothing for the usual register of a
        // value or two: values are found by a linear search, and only long registers (up to
        // `maxClockEntries` values) are indexed first.
        let localDeleted = !local.isEmpty && (schema.map { local.isDeleted(in: $0) } ?? !local.existence.contains { $0.value })
        func check<V: Equatable>(
            _ name: () -> String, _ pushed: [DottedValue<V>], _ held: [DottedValue<V>], fieldAbsent: Bool, counter: Bool = false
        ) throws(SyncError) {
            let heldByDot = held.count > Self.searchLimit ? Dictionary(held.map { ($0.dot, $0) }, uniquingKeysWith: { a, _ in a }) : nil
            for v in pushed where !isCaller(v.dot.node) {
                if let h = heldByDot.map({ $0[v.dot] }) ?? held.first(where: { $0.dot == v.dot }) {
                    // Two contents under one dot: a collision (a database restored or copied, its
                    // state relayed here by an innocent peer) or a forgery; either way this record
                    // is left as it is and the others go on (push result `collision`).
                    guard h == v else {
                        throw SyncError(
                            .dotCollision,
                            "\(collection)/\(id): the push holds another content for the value node \(v.dot.node.station) wrote to \(name()) at \(v.dot); refused, this node's version is kept"
                        )
                    }
                } else if supersedes && local.clock.contains(v.dot) {
                    throw refuse("the push carries a value of node \(v.dot.node.station) in \(name()) that this node no longer holds")
                }
            }
            // A held value that the pushed state has seen but does not carry (the caller's own
            // too, outside counters: a write replaces what it saw with a value of its own, so a
            // state without either was made by hand).
            let pushedDots = pushed.count > Self.searchLimit ? Set(pushed.map(\.dot)) : nil
            func carried(_ dot: Dot) -> Bool { pushedDots?.contains(dot) ?? pushed.contains { $0.dot == dot } }
            if counter, station != nil {
                // The caller's own totals too: each database of its node adds up a total of its
                // own, replaced only by that database's next one (a new incarnation's increments
                // never replace an earlier one's).
                for v in held where isCaller(v.dot.node) && incoming.clock.contains(v.dot) && !carried(v.dot) {
                    guard (v.value as? JSONValue)?.intValue != nil else { continue }
                    guard
                        pushed.contains(where: {
                            $0.dot.node == v.dot.node && $0.dot.counter > v.dot.counter && ($0.value as? JSONValue)?.intValue != nil
                        })
                    else {
                        throw refuse(
                            "the push drops the total of \(name()) that \(v.dot.node), a database of \(station ?? ""), made at \(v.dot) (each database's increments stay its own)"
                        )
                    }
                }
            }
            guard let dropped = held.first(where: { (!counter || !isCaller($0.dot.node)) && incoming.clock.contains($0.dot) && !carried($0.dot) })
            else {
                return
            }
            func isNew(_ v: DottedValue<V>) -> Bool { mayBring(v.dot.node) && v.dot.counter > local.clock[v.dot.node] }
            if counter {
                // A node's total is replaced only by that node's next one; a stocktake by a later one.
                for v in held where !isCaller(v.dot.node) && incoming.clock.contains(v.dot) && !carried(v.dot) {
                    guard let value = v.value as? JSONValue, value.intValue == nil else {
                        // Relayed: that node's next total may have replaced it.
                        if station == nil,
                            pushed.contains(where: { $0.dot.node == v.dot.node && isNew($0) && ($0.value as? JSONValue)?.intValue != nil })
                        {
                            continue
                        }
                        throw refuse("the push drops node \(v.dot.node.station)'s total of \(name()) (a node's increments are its own)")
                    }
                    guard pushed.contains(where: { isNew($0) && (($0.value as? JSONValue)?.intValue == nil) }) else {
                        throw refuse("the push drops the stocktake node \(v.dot.node.station) made of \(name()) at \(v.dot) without one of its own")
                    }
                }
                return
            }
            guard pushed.contains(where: isNew) || (fieldAbsent && callerWrote && localDeleted) else {
                throw refuse(
                    "the push drops the value node \(dropped.dot.node.station) wrote to \(name()) at \(dropped.dot) without a write of its own there")
            }
        }

        try check({ "the record's existence" }, incoming.existence, local.existence, fieldAbsent: false)
        // Registers are never empty: an empty one here is a field the pushed state left out.
        try RecordFields.forEachPair(incoming.fields, local.fields) { (name, pushed, held) throws(SyncError) in
            try check({ "field \(name)" }, pushed, held, fieldAbsent: pushed.isEmpty, counter: schema?.policy(of: name) == .counter)
        }
        // The resolution history grows only, bounded to its newest entries (Resolution.compacted):
        // an entry this node holds whose resolving write the pushed state has seen must arrive
        // unchanged (an honest state that has seen a write has its entry), unless it fell off the
        // pushed state's full history.
        if !local.resolutions.isEmpty {
            let pushedOldest = Resolution.oldestKept(in: incoming.resolutions)
            var pushedEntries: [String: Resolution] = [:]
            for r in incoming.resolutions { pushedEntries["\(r.conflictID) \(r.by)"] = r }
            for r in local.resolutions where incoming.clock.contains(r.by) {
                guard let p = pushedEntries["\(r.conflictID) \(r.by)"] else {
                    if r.fallsOff(below: pushedOldest) { continue }
                    throw refuse("the push drops the record's history entry of conflict \(r.conflictID) (resolved by node \(r.by.node.station))")
                }
                guard p == r else {
                    throw refuse("the push changes the record's history entry of conflict \(r.conflictID) (resolved by node \(r.by.node.station))")
                }
            }
        }
        if !incoming.resolutions.isEmpty {
            let heldResolutions = Set(local.resolutions)
            // An entry older than every one of a full history here falls off in the join: nothing to check.
            let heldOldest = Resolution.oldestKept(in: local.resolutions)
            for r in incoming.resolutions where !heldResolutions.contains(r) && !r.fallsOff(below: heldOldest) {
                guard mayBring(r.by.node) else {
                    throw refuse("the push carries a resolution by node \(r.by.node.station) that this node does not hold")
                }
                // An entry travels with the write that made it: one for a write this node has seen
                // without it was made up afterwards.
                guard r.by.counter > local.clock[r.by.node] else {
                    throw refuse("the push adds a history entry of conflict \(r.conflictID) for the write \(r.by), which this node holds without it")
                }
                // A conflict's id is its record's, its field's and its competing writes': an entry
                // cannot pass for another conflict (an open one, say) or name other writes than its id says.
                // A field once written stays in the record (unset is a write of null): an entry for a
                // field the state does not hold resolved nothing in it.
                guard r.field == Conflict.existenceField || incoming.fields[r.field] != nil else {
                    throw refuse("the push's history entry of conflict \(r.conflictID) is about field \(r.field), which the record does not hold")
                }
                guard r.conflictID == Conflict.makeID(collection: collection, recordID: id, field: r.field, dots: r.values.map(\.dot)) else {
                    throw refuse("the push's history entry of conflict \(r.conflictID) names other writes (or another field) than that conflict's")
                }
                // A new entry of the caller's: what it says other nodes wrote must be what they
                // wrote, wherever this node still holds it.
                // An entry saying `counter` about a plain field (or the other way round) would pass
                // unchecked below. (Other policy names are not compared: a field the schema added
                // later may have been resolved under the default policy.)
                if let schema, r.field != Conflict.existenceField,
                    (r.policy == .counter) != (schema.policy(of: r.field) == .counter)
                {
                    throw refuse(
                        "the push's history entry of conflict \(r.conflictID) calls field \(r.field) \(r.policy.rawValue); it is \(schema.policy(of: r.field).rawValue) here"
                    )
                }
                if r.field == Conflict.existenceField {
                    // An existence conflict's values say "deleted": the opposite of the register's.
                    for v in r.values where !isCaller(v.dot.node) {
                        if let held = local.existence.first(where: { $0.dot == v.dot }), JSONValue.bool(!held.value) != v.value || held.time != v.time
                        {
                            throw refuse(
                                "the push's history entry of conflict \(r.conflictID) says node \(v.dot.node.station) did another thing to the record's existence at \(v.dot) than it did"
                            )
                        }
                    }
                } else if r.policy != .counter, let register = local.fields[r.field] {
                    for v in r.values where !isCaller(v.dot.node) {
                        if let held = register.first(where: { $0.dot == v.dot }), held != v {
                            throw refuse(
                                "the push's history entry of conflict \(r.conflictID) says node \(v.dot.node.station) wrote another value to field \(r.field) at \(v.dot) than it did"
                            )
                        }
                    }
                }
                // What the entry says of its own write and of what it ended, where the state shows it.
                try checkClaims(of: r, in: incoming, refuse: refuse)
            }
        }
    }

    /// What a new history entry says of its own write and of the state it ended, checked against
    /// the pushed state: the write at its dot (where the state still holds it) has its time and
    /// wrote its result (a plain value, a stocktake's count, the record kept or deleted); and no
    /// value it names as ended is still there (an entry for a conflict that is still open).
    static func checkClaims(of r: Resolution, in incoming: RecordState, refuse: (String) -> SyncError) throws(SyncError) {
        let ended = "the push's history entry of conflict \(r.conflictID)"
        if let e = incoming.existence.first(where: { $0.dot == r.by }), e.time != r.time {
            throw refuse("\(ended) gives the write \(r.by) another time than the write has")
        }
        if r.field == Conflict.existenceField {
            if let e = incoming.existence.first(where: { $0.dot == r.by }), r.result != .bool(!e.value) {
                throw refuse("\(ended) says the write \(r.by) \(e.value ? "deleted" : "kept") the record; it \(e.value ? "kept" : "deleted") it")
            }
            if let open = r.values.first(where: { v in incoming.existence.contains { $0.dot == v.dot } }) {
                throw refuse("\(ended) says it ended the value at \(open.dot), which the record's existence still holds (the conflict is open)")
            }
            return
        }
        // (A field the record no longer holds at all: a recreate before version 2 removed it.)
        guard let register = incoming.fields[r.field] else { return }
        let written = register.first { $0.dot == r.by }
        if r.policy == .counter {
            if let written, let stocktake = Stocktake(written.value), r.result.intValue != stocktake.count {
                throw refuse("\(ended) says the write \(r.by) counted \(r.result.canonicalText) in \(r.field); it counted \(stocktake.count)")
            }
            return
        }
        if let written, written.value != r.result {
            throw refuse("\(ended) says the write \(r.by) wrote another value to field \(r.field) than it did")
        }
        if let open = r.values.first(where: { v in register.contains { $0.dot == v.dot } }) {
            throw refuse("\(ended) says it ended the value at \(open.dot), which field \(r.field) still holds (the conflict is open)")
        }
    }

    /// For a collection the caller may write but not read: the pushed state may hold only the
    /// caller's own writes (its clock names only the caller's incarnations, and so do the values
    /// its resolution entries name). Anything else waits (push result `waiting`), whatever this
    /// node holds: were it checked against the record held here, whether the push passed would
    /// tell the caller whether another node wrote what it guessed, or whether the record exists.
    public static func verifyOnlyOwn(_ incoming: RecordState, caller: NodeID, collection: String, id: String) throws(SyncError) {
        let station = caller.station
        let own =
            incoming.clock.sortedEntries.allSatisfy { $0.node.isIncarnation(of: station) }
            // No history either: what happens to a history entry depends on what the record holds
            // here (4096 entries of its own fit an absent record, not one with a history).
            && incoming.resolutions.isEmpty
        guard own else {
            throw SyncError(
                .unseenWrites,
                "\(collection)/\(id): not taken; a token that may write \(collection) but not read it may only add this station's own new writes")
        }
    }
}
