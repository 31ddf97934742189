import Foundation
import Testing
@testable import StationCore
import StationTestSupport

/// Property-based convergence: random histories on 3–20 replicas exchanging versions in random
/// orders, then a full sync round. The system is checked against ``HistoryModel``, the tests'
/// own model of what was asked (values written, amounts added, stocktake targets, deletes,
/// resolutions), at every replica before each of its writes and at the end; not against its own
/// output. Histories include the events that broke things (issue 11): a replica restored from an
/// earlier copy of itself, one made again under its name, a second database under one name (each
/// writes under a new incarnation), ids drawn from look-alike pairs, equal and look-alike values
/// written concurrently, bursts of concurrent writes to one field on many replicas (registers
/// past 16 values and joins past 64 value pairs).
///
/// Every run is reproducible from the seed it prints on failure:
/// `STATIONSYNC_PROPERTY_SEED=<seed> swift test --filter Convergence`.
@Suite struct ConvergencePropertyTests {
    static let runs = Int(ProcessInfo.processInfo.environment["STATIONSYNC_PROPERTY_RUNS"] ?? "") ?? 400
    static let baseSeed = UInt64(ProcessInfo.processInfo.environment["STATIONSYNC_PROPERTY_SEED"] ?? "") ?? 0x5EED_2026

    static let collections = [Fixtures.cases, Fixtures.stock]
    static let nodeNames: [NodeID] = [
        "hub", "hotline", "civil-affairs", "charity", "justice", "labor", "housing", "taxation", "elderly", "volunteers",
        "family-planning", "urban", "supermarket", "disability", "legal", "mediation", "training", "youth", "health", "culture",
    ]
    /// Values drawn now and then from a small pool, so concurrent writes often agree (equal
    /// values are no conflict) or only look alike (NFC/NFD, 0.0/-0.0: different values).
    static let sharedValues: [JSONValue] = ["same", "caf\u{E9}", "cafe\u{301}", .double(0.0), .double(-0.0), "\u{5F20}\u{4E09}"]

    /// What one history did, for the report.
    struct Counts {
        var writes = 0, unchanged = 0, refused = 0, resolutions = 0, merges = 0, restores = 0, reinits = 0, copies = 0, bursts = 0
        var maxReplicas = 0, maxRegister = 0, longJoins = 0
        /// Runs drawing large values; values nested to the limit; final records whose history the
        /// byte bound cut (Limits.historyBytes).
        var heavyRuns = 0, deepValues = 0, cutHistories = 0
        mutating func add(_ o: Counts) {
            writes += o.writes; unchanged += o.unchanged; refused += o.refused; resolutions += o.resolutions; merges += o.merges
            restores += o.restores; reinits += o.reinits; copies += o.copies; bursts += o.bursts; longJoins += o.longJoins
            heavyRuns += o.heavyRuns; deepValues += o.deepValues; cutHistories += o.cutHistories
            maxReplicas = max(maxReplicas, o.maxReplicas); maxRegister = max(maxRegister, o.maxRegister)
        }
        var description: String {
            "\(writes) writes (\(resolutions) resolutions), \(unchanged) unchanged puts and deletes, \(refused) refused as the model predicted, "
                + "\(merges) merges, \(restores) restores, \(reinits) re-inits, \(copies) second databases, \(bursts) bursts; "
                + "up to \(maxReplicas) replicas and \(maxRegister) values in one register, \(longJoins) joins of registers over 64 value pairs; "
                + "\(heavyRuns) runs with values of kilobytes under a smaller history bound, \(cutHistories) records whose history the bound cut, "
                + "\(deepValues) values nested \(Limits.valueDepth) deep"
        }
    }

    struct Replica {
        var node: NodeID
        var writer: NodeID
        var records: [RecordKey: RecordState] = [:]
        var hlc = HybridLogicalClock()
        var wall: UInt64
        /// An earlier copy of this replica (a backup), with what the model knew of it then.
        var backup: (records: [RecordKey: RecordState], hlc: HybridLogicalClock, known: [RecordKey: Set<HistoryModel.WriteID>])?
    }

    static func collection(of key: RecordKey) -> CollectionSchema { collections.first { $0.name == key.collection }! }

    /// One random history; returns nil on success or a failure description.
    ///
    /// Now and then a run whose histories reach their bound: values of kilobytes under a history
    /// bound scaled down alike on every replica (bytes, entries or both: Resolution.Bound.current),
    /// so that a few resolutions cut it and joins of cut histories must still converge.
    static func run(seed: UInt64, counts: inout Counts) -> String? {
        var pick = SeededRandom(seed: seed ^ 0x4B0B_4B0B)
        let bounds = [
            Resolution.Bound(entries: RecordState.maxResolutions, bytes: 24 << 10), Resolution.Bound(entries: 5, bytes: Limits.historyBytes),
            Resolution.Bound(entries: 8, bytes: 12 << 10), Resolution.Bound(entries: 2, bytes: Limits.historyBytes),
            Resolution.Bound(entries: RecordState.maxResolutions, bytes: 5_000),
        ]
        let heavy = Int.random(in: 0..<5, using: &pick) == 0
        return Resolution.Bound.$current.withValue(heavy ? bounds.randomElement(using: &pick)! : .standard) {
            run(seed: seed, heavy: heavy, counts: &counts)
        }
    }

    static func run(seed: UInt64, heavy: Bool, counts: inout Counts) -> String? {
        var rng = SeededRandom(seed: seed)
        let debug = ProcessInfo.processInfo.environment["STATIONSYNC_PROPERTY_DEBUG"] != nil
        var model = HistoryModel()
        var c = Counts()
        defer { counts.add(c) }
        // Mostly a few replicas; now and then many, for long registers.
        let replicaCount = Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: 10...20, using: &rng) : Int.random(in: 3...6, using: &rng)
        var incarnations = 0
        func newWriter(_ node: NodeID) -> NodeID {
            incarnations += 1
            return NodeID(node: node, incarnation: "i\(incarnations)")
        }
        var replicas: [Replica] = (0..<replicaCount).map { i in
            Replica(node: nodeNames[i], writer: NodeID(node: nodeNames[i], incarnation: "a"), wall: UInt64.random(in: 0...1_000, using: &rng))
        }
        // Ids: two to four, often a look-alike pair among them.
        var ids = Array(LookAlikeIDs.all.shuffled(using: &rng).prefix(Int.random(in: 2...4, using: &rng)))
        if Bool.random(using: &rng) {
            ids += [["caf\u{E9}", "cafe\u{301}"], ["\u{C5}sa", "\u{212B}sa"], ["\u{F900}", "\u{8C48}"]].randomElement(using: &rng)!
        }
        var keys: [RecordKey] = []
        for collection in collections {
            for id in ids where !keys.contains(RecordKey(collection.name, id)) { keys.append(RecordKey(collection.name, id)) }
        }
        var snapshots: [RecordKey: [RecordState]] = [:]
        let steps = Int.random(in: 20...(replicaCount > 6 ? 160 : 90), using: &rng)

        if heavy { c.heavyRuns += 1 }
        func randomValue(_ node: NodeID) -> JSONValue {
            if heavy, Int.random(in: 0..<3, using: &rng) == 0 {
                return .string("\(node)-" + String(repeating: "x", count: Int.random(in: 1_000...6_000, using: &rng)))
            }
            if Int.random(in: 0..<40, using: &rng) == 0 {
                // As deep as a value may nest (Limits.valueDepth).
                c.deepValues += 1
                var v: JSONValue = .string("deep from \(node)")
                for level in 0..<Limits.valueDepth { v = level % 2 == 0 ? .array([v]) : .object(["k": v]) }
                return v
            }
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: return .null
            case 1...3: return sharedValues.randomElement(using: &rng)!
            default: return .string("\(node)-\(Int.random(in: 0..<100, using: &rng))")
            }
        }

        /// The person a write names: nobody, or a name in any script; some typed in NFD, which
        /// the write holds in NFC (so replicas compare the same bytes).
        func randomAuthor() -> String? {
            [nil, "Li Na", "\u{9648}\u{6770}", "Jose\u{301}", "Jos\u{E9}", " Zo\u{EB} "].randomElement(using: &rng)!
        }

        /// One local write at replica `r`, checked against the model before and after.
        func write(_ r: Int, _ key: RecordKey, _ chosen: HistoryModel.Request? = nil) -> String? {
            let col = collection(of: key)
            var state = replicas[r].records[key] ?? RecordState()
            if let failure = model.check(replicas[r].records[key], key: key, collection: col, replica: r) {
                return "before a write at \(replicas[r].writer): \(failure)"
            }
            let time = replicas[r].hlc.now(physical: replicas[r].wall)
            let writer = replicas[r].writer
            var request: HistoryModel.Request
            if let chosen {
                request = chosen
            } else {
                switch Int.random(in: 0..<11, using: &rng) {
                case 0..<5:
                    var values: [String: JSONValue] = [:]
                    for f in col.fields.keys.sorted() where Int.random(in: 0..<3, using: &rng) == 0 {
                        values[f] = col.policy(of: f) == .counter ? .int(Int64.random(in: -3...20, using: &rng)) : randomValue(writer)
                    }
                    if Int.random(in: 0..<6, using: &rng) == 0 { values["extra"] = .int(Int64.random(in: 0..<9, using: &rng)) }
                    request = .put(values)
                case 5..<8:
                    request = .add(field: col.fields.first { $0.value == .counter }!.key, amount: Int64.random(in: -5...5, using: &rng))
                case 8:
                    // A person resolves a conflict, if the record shows one.
                    guard let conflict = state.view(in: col, id: key.id).conflicts.randomElement(using: &rng) else { return nil }
                    let pick: JSONValue
                    switch Int.random(in: 0..<3, using: &rng) {
                    case 0: pick = conflict.values.randomElement(using: &rng)!.value
                    case 1: pick = conflict.values[0].value
                    default:
                        pick =
                            conflict.field == Conflict.existenceField
                            ? .bool(Bool.random(using: &rng))
                            : conflict.policy == .counter
                                ? .int(Int64.random(in: 0...30, using: &rng)) : .string("fixed by \(writer)")
                    }
                    request =
                        conflict.field == Conflict.existenceField
                        ? .resolveExistence(deleted: pick.boolValue!) : .resolveField(field: conflict.field, value: pick)
                    let expected = model.outcome(of: request, at: r, key: key, collection: col)
                    guard expected == .write else { return "\(key): the model says \(expected) for a resolution" }
                    let choice: RecordState.ResolutionChoice =
                        pick == conflict.values[0].value
                        ? .accept : (conflict.values.firstIndex { $0.value == pick }.map { .choose($0) } ?? .value(pick))
                    do {
                        let dot = try state.resolve(conflict.id, choice, by: writer, at: time, in: col, id: key.id, person: randomAuthor())
                        return finish(r, key, col, request, dot, state)
                    } catch {
                        return "\(key): resolving \(conflict.id) at \(writer) failed: \(error)"
                    }
                case 9:
                    request = .delete
                default:
                    request = .put([col.fields.keys.sorted().randomElement(using: &rng)!: .null])
                }
            }
            let expected = model.outcome(of: request, at: r, key: key, collection: col)
            var dot: Dot?
            var refusal: CoreError?
            do {
                switch request {
                case .put(let values): dot = try state.put(values, by: writer, at: time, in: col, id: key.id, author: randomAuthor())
                case .add(let field, let amount):
                    dot = try state.add(amount, to: field, by: writer, at: time, in: col, id: key.id, author: randomAuthor())
                case .delete: dot = try state.delete(by: writer, at: time, in: col, id: key.id, author: randomAuthor())
                case .resolveField, .resolveExistence: return "unreachable"
                }
            } catch {
                refusal = error
            }
            let actual: HistoryModel.Outcome = refusal != nil ? .refused : dot == nil ? .unchanged : .write
            guard actual == expected else {
                return "\(key): \(request) at \(writer) was \(actual)\(refusal.map { " (\($0))" } ?? ""), the model expected \(expected)"
            }
            switch actual {
            case .refused: c.refused += 1; return nil
            case .unchanged:
                c.unchanged += 1
                guard state == (replicas[r].records[key] ?? RecordState()) else { return "\(key): an unchanged \(request) changed the state" }
                return nil
            case .write: return finish(r, key, col, request, dot!, state)
            }
        }

        func finish(_ r: Int, _ key: RecordKey, _ col: CollectionSchema, _ request: HistoryModel.Request, _ dot: Dot, _ state: RecordState) -> String?
        {
            let writer = replicas[r].writer
            guard dot.node == writer, dot.counter == model.count(of: writer, r, key) + 1 else {
                return "\(key): the write at \(writer) got dot \(dot), expected (\(writer),\(model.count(of: writer, r, key) + 1))"
            }
            guard !model.isIssued(dot, in: key) else { return "\(key): dot \(dot) issued twice" }
            model.record(request, at: r, key: key, collection: col, writer: writer, dot: dot)
            if case .resolveField = request { c.resolutions += 1 }
            if case .resolveExistence = request { c.resolutions += 1 }
            c.writes += 1
            if debug { print("write \(dot) on \(key): \(request) -> \(state.canonicalText)") }
            replicas[r].records[key] = state
            snapshots[key, default: []].append(state)
            c.maxRegister = max(c.maxRegister, state.fields.keys.map { state.fields[$0]?.count ?? 0 }.max() ?? 0, state.existence.count)
            return model.check(state, key: key, collection: col, replica: r).map { "after \(request) at \(writer): \($0)" }
        }

        func merge(_ key: RecordKey, from: Int, to: Int) -> String? {
            guard let incoming = replicas[from].records[key] else { return nil }
            var state = replicas[to].records[key] ?? RecordState()
            if state.fields.keys.contains(where: { (state.fields[$0]?.count ?? 0) * (incoming.fields[$0]?.count ?? 0) > 64 }) { c.longJoins += 1 }
            if case .collision(let dot) = state.merge(incoming) {
                return "\(key): \(replicas[to].writer) refused \(replicas[from].writer)'s state: dot \(dot) names two writes"
            }
            c.merges += 1
            model.merged(key, from: from, to: to)
            replicas[to].records[key] = state
            replicas[to].hlc.observe(incoming.latestTime, physical: replicas[to].wall)
            snapshots[key, default: []].append(state)
            return nil
        }

        for _ in 0..<steps {
            let r = Int.random(in: 0..<replicas.count, using: &rng)
            // Wall clocks drift independently and may even jump back.
            replicas[r].wall = UInt64(max(0, Int64(replicas[r].wall) + Int64.random(in: -5...40, using: &rng)))
            if Int.random(in: 0..<8, using: &rng) == 0 { replicas[r].backup = (replicas[r].records, replicas[r].hlc, model.snapshot(r)) }
            switch Int.random(in: 0..<100, using: &rng) {
            case 0..<45:
                if let failure = write(r, keys.randomElement(using: &rng)!) { return failure }
            case 45..<88:
                // Sync a random subset of records from one replica to another, in random order;
                // sometimes a message is delivered twice.
                let to = Int.random(in: 0..<replicas.count, using: &rng)
                guard to != r else { continue }
                for key in replicas[r].records.keys.sorted(by: { "\($0)".utf8.lexicographicallyPrecedes("\($1)".utf8) }).shuffled(using: &rng)
                where Bool.random(using: &rng) {
                    for _ in 0..<(Int.random(in: 0..<5, using: &rng) == 0 ? 2 : 1) {
                        if let failure = merge(key, from: r, to: to) { return failure }
                    }
                }
            case 88..<92:
                // A burst: many replicas write one field of one record concurrently, then gossip.
                let key = keys.randomElement(using: &rng)!
                let col = collection(of: key)
                let field = col.fields.keys.sorted().randomElement(using: &rng)!
                c.bursts += 1
                var writers: [Int] = []
                for w in 0..<replicas.count where replicas.count >= 10 || Int.random(in: 0..<4, using: &rng) != 0 {
                    let value: JSONValue =
                        col.policy(of: field) == .counter ? .int(Int64.random(in: 0...9, using: &rng)) : randomValue(replicas[w].writer)
                    if let failure = write(w, key, .put([field: value])) { return failure }
                    writers.append(w)
                }
                // Two halves gathered apart, then joined: long registers meet long registers.
                writers.shuffle(using: &rng)
                let halves = [Array(writers.prefix(writers.count / 2)), Array(writers.dropFirst(writers.count / 2))]
                for half in halves where half.count > 1 {
                    for w in half.dropFirst() { if let failure = merge(key, from: w, to: half[0]) { return failure } }
                }
                if let a = halves[0].first, let b = halves[1].first {
                    if let failure = merge(key, from: a, to: b) { return failure }
                    if let failure = merge(key, from: b, to: a) { return failure }
                }
                for _ in 0..<replicas.count {
                    let a = Int.random(in: 0..<replicas.count, using: &rng), b = Int.random(in: 0..<replicas.count, using: &rng)
                    if a != b, let failure = merge(key, from: a, to: b) { return failure }
                }
            case 92..<95:
                // Restored from its backup: the file as it was, under a new incarnation.
                guard let backup = replicas[r].backup else { continue }
                replicas[r].records = backup.records
                replicas[r].hlc = backup.hlc
                replicas[r].writer = newWriter(replicas[r].node)
                model.restore(r, to: backup.known)
                c.restores += 1
            case 95..<97:
                // Made again under its name: empty, a new incarnation.
                replicas[r].records = [:]
                replicas[r].writer = newWriter(replicas[r].node)
                model.restore(r, to: [:])
                c.reinits += 1
            default:
                // A second database under one name (a copied file).
                guard replicas.count < 20 else { continue }
                var copy = replicas[r]
                copy.writer = newWriter(copy.node)
                copy.backup = nil
                replicas.append(copy)
                model.restore(replicas.count - 1, to: model.snapshot(r))
                c.copies += 1
            }
        }
        c.maxReplicas = replicas.count

        // Full sync round: everyone to replica 0, then replica 0 to everyone, in shuffled orders.
        for r in (1..<replicas.count).shuffled(using: &rng) {
            for key in replicas[r].records.keys { if let failure = merge(key, from: r, to: 0) { return failure } }
        }
        for r in (1..<replicas.count).shuffled(using: &rng) {
            for key in replicas[0].records.keys.shuffled(using: &rng) { if let failure = merge(key, from: 0, to: r) { return failure } }
        }

        // 1. Every replica byte-identical, and as the model says.
        let reference = replicas[0].records
        for (i, replica) in replicas.enumerated() {
            guard Set(replica.records.keys) == Set(reference.keys) else { return "replica \(replica.writer) has other records" }
            for (key, state) in replica.records where state.canonicalBytes != reference[key]!.canonicalBytes {
                return "\(key) differs on \(replica.writer): \(state.canonicalText) vs \(reference[key]!.canonicalText)"
            }
            for key in Set(replica.records.keys).union(model.keys(i)) {
                if let failure = model.check(replica.records[key], key: key, collection: collection(of: key), replica: i) {
                    return "after the full sync, at \(replica.writer): \(failure)"
                }
            }
        }
        for (key, state) in reference {
            let col = collection(of: key)
            // 2. Merge laws on states that really occurred for this record.
            let seen = snapshots[key] ?? []
            for _ in 0..<min(20, seen.count) {
                let a = seen.randomElement(using: &rng)!, b = seen.randomElement(using: &rng)!, d = seen.randomElement(using: &rng)!
                guard a.merged(with: b).canonicalBytes == b.merged(with: a).canonicalBytes else { return "\(key): merge not commutative" }
                guard a.merged(with: b).merged(with: d) == a.merged(with: b.merged(with: d)) else { return "\(key): merge not associative" }
                guard a.merged(with: a) == a else { return "\(key): merge not idempotent" }
                guard a.merged(with: b).merged(with: b) == a.merged(with: b) else { return "\(key): re-merge changed state" }
            }
            // 3. The encoding round-trips through validation.
            let decoded: RecordState
            do { decoded = try RecordState(jsonText: state.canonicalText, collection: col) } catch {
                return "\(key): canonical form does not decode: \(error): \(state.canonicalText)"
            }
            guard decoded == state else {
                return "\(key): canonical form does not decode to itself: \(state.canonicalText)"
            }
            if Resolution.oldestKept(in: state.resolutions) != nil { c.cutHistories += 1 }
            // 4. Every resolution's conflict is gone from the record (its values were superseded).
            let openIDs = Set(state.view(in: col, id: key.id).conflicts.map(\.id))
            for r in state.resolutions where openIDs.contains(r.conflictID) {
                return "\(key): conflict \(r.conflictID) is resolved by \(r.by) but still open"
            }
            // 5. The cheap status the store keeps per row agrees with the full view.
            let view = state.view(in: col, id: key.id)
            let status = state.status(in: col)
            guard status.deleted == view.deleted, status.conflicted == view.conflicted, status.conflicts == view.conflicts.count else {
                return "\(key): status \(status) disagrees with the view"
            }
        }
        return nil
    }

    @Test func randomHistoriesConverge() {
        var failures: [String] = []
        var counts = Counts()
        for n in 0..<Self.runs {
            let seed = Self.baseSeed &+ UInt64(n)
            if let failure = Self.run(seed: seed, counts: &counts) {
                failures.append("seed \(seed): \(failure)")
                if failures.count >= 3 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        print("convergence: \(Self.runs) histories from seed \(Self.baseSeed) on 3-20 replicas, \(failures.count) failures: \(counts.description)")
    }
}
