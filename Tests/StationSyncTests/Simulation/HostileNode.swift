import Foundation
import StationCore
import StationStore
import StationSync

/// The simulation's hostile node (issue 12): `mallory` holds an ordinary station token at the hub
/// (it may read and write every collection, but not relay) and, at random steps, pushes a forged
/// version of a record the hub holds: a write stamped far ahead (up to the end of time), a counter total past ±(2^53−1),
/// another node's counter total or value dropped, another node's value re-spelled under its dot,
/// the resolution history erased or a resolution by another node invented, a push in another
/// station's name, writes of another node the hub has not seen, a collection the schema does not
/// have, a clock padded with made-up incarnations. Every attempt must be refused (an error for the push, or the record left out: `waiting`,
/// `collision`) and change nothing at the hub: its whole database, clock included, is compared
/// before and after (a push whose records were all left out still notes the station's activity and
/// database). The honest replicas must still converge with nothing lost (``SimulationTests``).
extension SimulationTests.Schedule {
    static let mallory: NodeID = "mallory"
    static let malloryPrincipal = Principal(station: "mallory", read: .all, write: .all, relay: false)

    /// The forging moves; each returns nil when the record at hand does not allow it.
    enum Forgery: String, CaseIterable {
        case farFuture = "write stamped far ahead"
        case overflow = "counter total past ±(2^53 - 1)"
        case dropTotal = "another node's counter total dropped"
        case dropValue = "another node's value dropped"
        case respell = "another node's value re-spelled under its dot"
        case eraseHistory = "resolution history erased"
        case forgeResolution = "resolution by another node invented"
        case asOther = "push in another station's name"
        case unseen = "another node's unseen write brought"
        case unknownCollection = "unknown collection"
        case padded = "clock padded with made-up incarnations"
        case misnamedResolution = "own resolution under another conflict's id"
        case repeated = "one record twice in a push"

        /// What the hub must answer: the refusal's error code or the record's push result.
        var refusals: Set<String> {
            switch self {
            case .farFuture: ["clock_drift"]
            case .overflow: ["counter_overflow"]
            // invalid_state: the dropped total was one a stocktake saw (the state is malformed).
            case .dropTotal: ["forbidden", "invalid_state"]
            case .dropValue, .eraseHistory, .asOther, .padded: ["forbidden"]
            // invalid_state: an entry listing two values of one node in a register, or its own
            // resolving write among the values it ended, ended no conflict any node had (refused
            // on decoding).
            case .forgeResolution, .misnamedResolution: ["forbidden", "invalid_state"]
            case .repeated: ["bad_request"]
            case .respell: ["collision"]
            case .unseen: ["waiting"]
            case .unknownCollection: ["unknown_collection"]
            }
        }
    }

    /// One forging attempt at the hub. Throws a ``SimulationTests/SimFailure`` if the hub took
    /// anything of it.
    func hostileMove() async throws {
        let hub = stores[SimulationTests.hub]!
        let forgery = Forgery.allCases.randomElement(using: &rng)!
        let (c, id) = randomTarget()
        let base = try hub.record(c.name, id)?.state
        let now = clocks[SimulationTests.hub]!.now
        let forged: (String, RecordState)?
        do {
            forged = try forge(forgery, base: base, collection: c, id: id, now: now)
        } catch is CoreError {
            forged = nil  // the record does not take that write (deleted, say): another step
        }
        guard let (node, state) = forged else { return }
        let collection = forgery == .unknownCollection ? "mallory_archive" : c.name
        let change = (collection: collection, id: id, seq: Int64(1), stateText: state.canonicalText)
        let body = PushRequest.encode(node: node, changes: forgery == .repeated ? [change, change] : [change])
        try await hub.flushActivity()
        let before = try hub.everyRow()
        let service = SyncService(storage: hub, authentication: .none)
        var outcome: String
        var code: String
        var leftOut = false
        do {
            let response = try await service.push(body: body, principal: Self.malloryPrincipal)
            let results = response.results.map(\.result.rawValue)
            outcome = results.joined(separator: ",")
            code = outcome
            guard results.allSatisfy({ $0 == MergeResult.waiting.rawValue || $0 == MergeResult.collision.rawValue }) else {
                throw SimulationTests.SimFailure("hostile \(forgery.rawValue) on \(c.name)/\(id) was taken: \(outcome)")
            }
            leftOut = true
        } catch let error as SyncError {
            code = error.code.rawValue
            outcome = "\(code) (\(error))"
        }
        guard forgery.refusals.contains(code) else {
            throw SimulationTests.SimFailure(
                "hostile \(forgery.rawValue) on \(c.name)/\(id) was refused for another reason than expected: \(outcome)")
        }
        try await hub.flushActivity()
        // A push whose records were left out was still a push: the hub notes the station's
        // activity and which database pushed as it. Nothing else may move.
        let noted: Set<String> = leftOut ? ["station_activity", "node_writer"] : []
        let after = try hub.everyRow(except: noted)
        let expected = before.filter { row in !noted.contains { row.hasPrefix("\($0): ") } }
        guard after == expected else {
            let changed = Set(after).symmetricDifference(expected).sorted().prefix(4)
            throw SimulationTests.SimFailure("hostile \(forgery.rawValue) on \(c.name)/\(id) (\(outcome)) changed the hub: \(changed)")
        }
        totals.hostileAttempts += 1
        totals.hostileRefused[forgery.rawValue, default: 0] += 1
        note("mallory: \(forgery.rawValue) on \(c.name)/\(id): \(SimulationTests.debug ? outcome : code)")
    }

    /// The forged state for `forgery` and the node the push names, or nil when `base` (the hub's
    /// copy) does not allow that forgery.
    func forge(_ forgery: Forgery, base: RecordState?, collection c: CollectionSchema, id: String, now: UInt64) throws -> (String, RecordState)? {
        let mallory = Self.mallory
        var n = 0
        /// An ordinary write of mallory's own, so the clock grows in its entry.
        func ownWrite(_ s: inout RecordState, at wall: UInt64 = now) throws {
            n += 1
            try s.put(["extra": .string("mallory-\(n)")], by: mallory, at: HLCTimestamp(wall: wall, logical: 0), in: c, id: id, force: true)
        }
        func others<V>(_ register: [DottedValue<V>]) -> [DottedValue<V>] { register.filter { !$0.dot.node.isIncarnation(of: mallory.station) } }
        let counterField = c.fields.keys.sorted().first { c.policy(of: $0) == .counter }!
        var s = base ?? RecordState()
        switch forgery {
        case .farFuture:
            // Now and then the latest time a JSON integer carries (wall ms < 2^47, the HLC time < 2^63).
            let ahead =
                rng.chance(0.2)
                ? (1 << 47) - 1 : now + HybridLogicalClock.defaultMaxForwardDrift + UInt64.random(in: 60_000...31_536_000_000, using: &rng)
            try ownWrite(&s, at: ahead)
        case .overflow:
            try ownWrite(&s)
            // An incarnation of mallory claiming a total past ±(2^53 - 1), the most a counter holds
            // (a total near 2^63 - 1 would make every concurrent increment's join overflow).
            let total = [Int64.max, Int64.min, 1 << 53, -(1 << 53), RecordState.maxCounterMagnitude + .random(in: 1...1 << 40, using: &rng)]
                .randomElement(using: &rng)!
            let writer = NodeID(node: mallory, incarnation: "m1")
            let dot = s.clock.increment(writer)
            var register = s.fields[counterField] ?? []
            register.append(DottedValue(dot: dot, time: HLCTimestamp(wall: now, logical: 0), value: .int(total)))
            s.fields[counterField] = register
        case .dropTotal:
            guard let register = s.fields[counterField], let victim = others(register).first(where: { $0.value.intValue != nil }) else { return nil }
            s.fields[counterField] = register.filter { $0.dot != victim.dot }.nilIfEmpty
            try ownWrite(&s)
        case .dropValue:
            guard let base, !base.isDeleted(in: c) else { return nil }
            let fields = c.fields.keys.sorted().filter { c.policy(of: $0) != .counter && !(s.fields[$0].map(others) ?? []).isEmpty }
            guard let field = fields.randomElement(using: &rng) else { return nil }
            s.fields[field] = s.fields[field]!.filter { $0.dot.node.isIncarnation(of: mallory.station) }.nilIfEmpty
            try ownWrite(&s)
        case .respell:
            let fields = c.fields.keys.sorted().filter { c.policy(of: $0) != .counter && !(s.fields[$0].map(others) ?? []).isEmpty }
            guard let field = fields.randomElement(using: &rng) else { return nil }
            var register = s.fields[field]!
            let i = register.firstIndex { !$0.dot.node.isIncarnation(of: mallory.station) }!
            register[i].value = Self.respelled(register[i].value)
            s.fields[field] = register
        case .eraseHistory:
            guard s.resolutions.contains(where: { !$0.by.node.isIncarnation(of: mallory.station) }) else { return nil }
            s.resolutions = []
            try ownWrite(&s)
        case .forgeResolution:
            guard let writer = s.clock.sortedEntries.first(where: { !$0.node.isIncarnation(of: mallory.station) }) else { return nil }
            let field = c.fields.keys.sorted().first { c.policy(of: $0) != .counter }!
            try ownWrite(&s)
            s.resolutions.append(
                Resolution(
                    conflictID: String(format: "%016llx", UInt64.random(in: 0...UInt64.max, using: &rng)), field: field,
                    policy: ConflictPolicy(c.policy(of: field)), how: .value,
                    by: Dot(writer.node, writer.counter), time: HLCTimestamp(wall: now, logical: 0),
                    values: [
                        DottedValue(dot: Dot(writer.node, writer.counter), time: HLCTimestamp(wall: now, logical: 0), value: "what it never wrote"),
                        DottedValue(dot: Dot(mallory, s.clock[mallory]), time: HLCTimestamp(wall: now, logical: 0), value: "mallory's"),
                    ].sorted { $0.dot < $1.dot },
                    result: "settled by mallory",
                    person: "the director"))
            s.resolutions.sort(by: Resolution.precedes)
        case .repeated:
            // Mallory's own honest write, carried twice (one write's cost paid many times over).
            try ownWrite(&s)
        case .misnamedResolution:
            // An entry of mallory's own write, claiming to end an open conflict of the record (or
            // any id) with values that are not that conflict's.
            let field = c.fields.keys.sorted().first { c.policy(of: $0) != .counter }!
            let open = c.fields.keys.sorted().compactMap { s.conflict(onField: $0, in: c, id: id) }.first
            try ownWrite(&s)
            let first = Dot(mallory, s.clock[mallory])
            try ownWrite(&s)
            let second = Dot(mallory, s.clock[mallory])
            try ownWrite(&s)
            let by = Dot(mallory, s.clock[mallory])
            let time = HLCTimestamp(wall: now, logical: 0)
            s.resolutions.append(
                Resolution(
                    conflictID: open?.id ?? String(format: "%016llx", UInt64.random(in: 0...UInt64.max, using: &rng)), field: field,
                    policy: ConflictPolicy(c.policy(of: field)), how: .value, by: by, time: time,
                    values: [
                        DottedValue(dot: first, time: time, value: "mallory's"), DottedValue(dot: second, time: time, value: "mallory's again"),
                    ],
                    result: "settled by mallory"))
            s.resolutions.sort(by: Resolution.precedes)
        case .asOther:
            let victim = SimulationTests.stations.randomElement(using: &rng)!
            n += 1
            try s.put(
                ["extra": .string("in \(victim)'s name")], by: NodeID(unchecked: victim), at: HLCTimestamp(wall: now, logical: 0), in: c, id: id,
                force: true)
            return (victim, s)
        case .unseen:
            let victim = NodeID(unchecked: SimulationTests.stations.randomElement(using: &rng)!)
            try s.put(
                ["extra": .string("what \(victim) never wrote")], by: victim, at: HLCTimestamp(wall: now, logical: 0), in: c, id: id, force: true)
            try ownWrite(&s)
        case .unknownCollection:
            try ownWrite(&s)
        case .padded:
            try ownWrite(&s)
            for n in 0...OriginCheck.maxIncarnations { _ = s.clock.increment(NodeID(node: mallory, incarnation: "p\(n)")) }
        }
        return (mallory.rawValue, s)
    }

    /// The crafted change files mallory hands a station (a USB stick): each returns the file's
    /// lines, or nil when the station's copy of the record does not allow it.
    enum FileForgery: String, CaseIterable {
        case farFuture = "change file: write stamped far ahead"
        case dropValue = "change file: another node's value dropped"
        case launder = "change file: the station's own writes claimed"
        case unseen = "change file: another node's unseen write brought"
        case asThisNode = "change file: header naming the station itself"
        case cutShort = "change file: cut short"
        case version = "change file: another format version"
        case schema = "change file: a counter declared lww"

        /// What the merge must do: the refusal's code, or the results every change may have.
        var outcomes: Set<String> {
            switch self {
            case .farFuture, .dropValue: ["refused"]
            case .launder: ["waiting", "collision"]
            case .unseen: ["waiting"]
            case .asThisNode, .version, .schema: ["bad_line"]
            case .cutShort: ["cut_short"]
            }
        }
    }

    /// One crafted change file merged at a station (``ChangeFile/merge(into:lines:trustRelay:progress:)``,
    /// what `station merge` runs). Throws a ``SimulationTests/SimFailure`` if the station took
    /// anything of it: its whole database, clock included, is compared before and after.
    func hostileChangeFile() async throws {
        let slot = slots.filter { $0 != SimulationTests.hub }.randomElement(using: &rng)!
        // `station merge` is the SQLite store's.
        guard let store = stores[slot] as? StationStore else { return }
        let forgery = FileForgery.allCases.randomElement(using: &rng)!
        let (c, id) = randomTarget()
        let base = try store.record(c.name, id)?.state
        let now = clocks[node(of: slot)]!.now
        let mallory = Self.mallory
        func ownWrite(_ s: inout RecordState, at wall: UInt64 = now) throws {
            try s.put(["extra": "from mallory's stick"], by: mallory, at: HLCTimestamp(wall: wall, logical: 0), in: c, id: id, force: true)
        }
        var state = base ?? RecordState()
        var headerNode = mallory.rawValue
        var version = Int64(ChangeFile.version)
        var schema = store.schema
        var extraCount = 0
        do {
            switch forgery {
            case .farFuture:
                try ownWrite(&state, at: now + HybridLogicalClock.defaultMaxForwardDrift + UInt64.random(in: 60_000...31_536_000_000, using: &rng))
            case .dropValue:
                guard let base, !base.isDeleted(in: c) else { return }
                let fields = c.fields.keys.sorted().filter { name in
                    c.policy(of: name) != .counter && (state.fields[name] ?? []).contains { !$0.dot.node.isIncarnation(of: mallory.station) }
                }
                guard let field = fields.randomElement(using: &rng) else { return }
                let kept = state.fields[field]!.filter { $0.dot.node.isIncarnation(of: mallory.station) }
                state.fields[field] = kept.isEmpty ? nil : kept
                try ownWrite(&state)
            case .launder:
                try state.put(
                    ["extra": "in the station's name"], by: store.writer, at: HLCTimestamp(wall: now, logical: 0), in: c, id: id, force: true)
            case .unseen:
                let victim = SimulationTests.stations.filter { $0 != node(of: slot) }.randomElement(using: &rng)!
                let writer = NodeID(node: NodeID(unchecked: victim), incarnation: "never")
                try state.put(
                    ["extra": .string("what \(victim) never wrote")], by: writer, at: HLCTimestamp(wall: now, logical: 0), in: c, id: id, force: true)
                try ownWrite(&state)
            case .asThisNode:
                headerNode = node(of: slot)
                try ownWrite(&state)
            case .cutShort:
                extraCount = 1
                try ownWrite(&state)
            case .version:
                version = 99
                try ownWrite(&state)
            case .schema:
                guard
                    let (name, counter) = schema.collections.sorted(by: { $0.key < $1.key }).lazy
                        .compactMap({ name, col in col.counterFields.first.map { (name, $0) } }).first
                else { return }
                schema.collections[name]!.fields[counter] = .lww
                try ownWrite(&state)
            }
        } catch is CoreError {
            return  // the record does not take that write (deleted, say): another step
        }
        let header: JSONValue = [
            "stationsync": "changes", "version": .int(version), "node": .string(headerNode), "since": 0, "last": 1,
            "count": .int(Int64(1 + extraCount)), "schema": schema.json,
        ]
        let lines = [
            header.canonicalText,
            #"{"collection":"# + JSONValue.string(c.name).canonicalText + #","id":"# + JSONValue.string(id).canonicalText
                + #","seq":1,"state":"# + state.canonicalText + "}",
        ]
        // A station serving LAN peers notes their activity in the background: written first, so
        // the comparison sees only what the merge did.
        try await store.flushActivity()
        let before = try store.everyRow()
        var outcome: String
        var codes: Set<String>
        do {
            let report = try ChangeFile.merge(
                into: store,
                lines: { body in
                    for (i, line) in lines.enumerated() { try body(i + 1, Array(line.utf8)) }
                }, trustRelay: false)
            codes = Set(report.results.keys.map(\.rawValue))
            outcome = codes.sorted().joined(separator: ",")
        } catch let refusal as ChangeFile.Refusal {
            codes = [refusal.code.rawValue]
            outcome = "\(refusal.code.rawValue) (\(refusal))"
        }
        guard !codes.isEmpty, codes.isSubset(of: forgery.outcomes) else {
            throw SimulationTests.SimFailure("hostile \(forgery.rawValue) on \(slot) \(c.name)/\(id) was not refused as expected: \(outcome)")
        }
        try await store.flushActivity()
        let after = try store.everyRow()
        guard after == before else {
            let changed = Set(after).symmetricDifference(before).sorted().prefix(4)
            throw SimulationTests.SimFailure("hostile \(forgery.rawValue) on \(slot) \(c.name)/\(id) (\(outcome)) changed the station: \(changed)")
        }
        totals.hostileAttempts += 1
        totals.hostileRefused[forgery.rawValue, default: 0] += 1
        note("mallory: \(forgery.rawValue) at \(slot) on \(c.name)/\(id): \(SimulationTests.debug ? outcome : codes.sorted().joined(separator: ","))")
    }

    /// Another spelling of `value` (canonically equivalent where there is one).
    static func respelled(_ value: JSONValue) -> JSONValue {
        switch value {
        case .string(let text):
            let other =
                text.precomposedStringWithCanonicalMapping.utf8.elementsEqual(text.utf8)
                ? text.decomposedStringWithCanonicalMapping : text.precomposedStringWithCanonicalMapping
            return .string(other.utf8.elementsEqual(text.utf8) ? text + " (forged)" : other)
        case .double(let d) where d == 0: return .double(d.sign == .minus ? 0.0 : -0.0)
        case .null: return .string("forged")
        default: return .string("forged \(value.canonicalText)")
        }
    }
}

extension Array {
    fileprivate var nilIfEmpty: Self? { isEmpty ? nil : self }
}

/// Mallory as a rogue LAN peer (issue 12, review round 5): a station syncs with it on the LAN and
/// pulls a forged version of a record the hub holds, one of another node's values (or counter
/// totals) left out under the clock that covers it. A station holding that value refuses it (its
/// origin check on pulls); one holding no copy, or an older one, has nothing to check against and
/// takes it. The hub must then refuse that record from every station pushing it (and name it, so
/// the station pushes the rest), the forgery may spread over the LAN to other stations without a
/// copy, and nothing else may be held up: every other record converges with nothing lost, every
/// sync keeps completing, and every station left holding a forged copy lists it at each sync with
/// the hub (``SyncSummary/refusedByPeerRecords``). See ``SimulationTests/Schedule/check()``.
extension SimulationTests.Schedule {
    /// A LAN peer serving one change and taking every push as "unchanged".
    final class RoguePeer: SyncTransport {
        let info: PeerInfo
        let served: Schema
        let change: WireChange

        init(database: String, schema: Schema, change: WireChange) {
            info = PeerInfo(node: SimulationTests.Schedule.mallory.rawValue, database: database, schemaFingerprint: schema.fingerprint)
            served = schema
            self.change = change
        }

        var cursor: FeedCursor { FeedCursor(database: info.database, seq: 1) }

        func session() throws -> PeerSession { PeerSession(info: info, station: nil, read: .all, write: .all, relay: true) }
        func schema() throws -> Schema { served }
        func pull(cursor: FeedCursor, limit: Int) throws -> PullResponse {
            PullResponse(node: info.node, changes: cursor == self.cursor ? [] : [change], next: self.cursor, more: false)
        }
        func push(_ body: PreparedPush) throws -> PushResponse {
            let request = try PushRequest(bytes: body.bytes, maxChanges: .max)
            return PushResponse(
                node: info.node, results: request.changes.map { .init(collection: $0.collection, id: $0.id, result: .unchanged) },
                cursor: cursor)
        }
    }

    /// One LAN sync of a random station with mallory serving a forged record (station tokens
    /// only: with trusted peers the hub takes whatever it is given, by design).
    func hostileLANPeer() async throws {
        guard !relay else { return }
        let slot = slots.filter { $0 != SimulationTests.hub }.randomElement(using: &rng)!
        let (c, id) = randomTarget()
        let key = RecordKey(c.name, id)
        guard let truth = try stores[SimulationTests.hub]!.record(c.name, id)?.state, !truth.isDeleted(in: c) else { return }
        func others<V>(_ register: [DottedValue<V>]) -> [DottedValue<V>] { register.filter { !$0.dot.node.isIncarnation(of: Self.mallory.station) } }
        // Fields holding a value (or total) of another node, counters included.
        let fields = c.fields.keys.sorted().filter { !(truth.fields[$0].map(others) ?? []).isEmpty }
        guard let field = fields.randomElement(using: &rng) else { return }
        var forged = truth
        let register = truth.fields[field]!
        if c.policy(of: field) == .counter {
            let victim = others(register).randomElement(using: &rng)!
            forged.fields[field] = register.filter { $0.dot != victim.dot }.nilIfEmpty
        } else {
            forged.fields[field] = register.filter { $0.dot.node.isIncarnation(of: Self.mallory.station) }.nilIfEmpty
        }
        fileNumber += 1
        let rogue = RoguePeer(
            database: "rogue-\(fileNumber)", schema: SimulationTests.schema,
            change: WireChange(collection: c.name, id: id, seq: 1, stateBytes: ArraySlice(forged.canonicalBytes)))
        do {
            _ = try await SyncEngine(storage: stores[slot]!, transport: rogue, batchSize: Int.random(in: 1...50, using: &rng)).run()
        } catch let error as SyncError where error.code == .invalidState {
            // A state no node could have made (a stocktake that saw the total left out): the
            // sync stops and takes nothing of that page.
            totals.hostileAttempts += 1
            totals.hostileRefused["LAN peer: invalid state", default: 0] += 1
            note("mallory on the LAN: \(key) without \(field)'s value at \(slot): \(error.code.rawValue)")
            return
        } catch {
            throw SimulationTests.SimFailure("\(slot)'s LAN sync with mallory serving \(key) without \(field) failed: \(error)")
        }
        totals.syncs += 1
        let state = try learn(slot, key)
        let taken = model.check(state, key: key, collection: c, replica: index(slot)) != nil
        if taken {
            poisoned.insert(key)
            totals.forgeriesTaken += 1
        } else {
            totals.hostileAttempts += 1
            totals.hostileRefused["LAN peer: another node's value dropped", default: 0] += 1
        }
        note("mallory on the LAN: \(key) without \(field)'s value at \(slot): " + (taken ? "taken (no copy to check it against)" : "not taken"))
    }
}
