import Foundation
import Testing
@testable import StationCore

/// Property-based convergence: random histories on 3–5 replicas exchanging versions in random
/// orders, then a full sync round. Every run is reproducible from the seed it prints on failure:
/// `STATIONSYNC_PROPERTY_SEED=<seed> swift test --filter Convergence`.
@Suite struct ConvergencePropertyTests {
    static let runs = Int(ProcessInfo.processInfo.environment["STATIONSYNC_PROPERTY_RUNS"] ?? "") ?? 400
    static let baseSeed = UInt64(ProcessInfo.processInfo.environment["STATIONSYNC_PROPERTY_SEED"] ?? "") ?? 0x5EED_2026

    static let collections = [Fixtures.cases, Fixtures.stock]
    static let recordIDs = ["r1", "r2", "r3"]

    struct Write {
        var key: String
        var dot: Dot
        var clockAfter: VectorClock
        var wrote: Set<String>  // fields given a value, plus "_exists"
        var touched: Set<String>  // fields written or cleared (a recreate clears), plus "_exists"
        var counterDeltas: [String: Int64]
    }

    struct Replica {
        var node: NodeID
        var records: [String: RecordState] = [:]
        var hlc = HybridLogicalClock()
        var wall: UInt64
    }

    static func collection(ofKey key: String) -> CollectionSchema {
        collections.first { key.hasPrefix($0.name + "/") }!
    }

    /// One random history; returns nil on success or a failure description.
    static func run(seed: UInt64) -> String? {
        var rng = SeededRandom(seed: seed)
        let debug = ProcessInfo.processInfo.environment["STATIONSYNC_PROPERTY_DEBUG"] != nil
        let nodeNames: [NodeID] = ["hub", "hotline", "civil-affairs", "charity", "justice"]
        let replicaCount = Int.random(in: 3...5, using: &rng)
        var replicas = (0..<replicaCount).map { Replica(node: nodeNames[$0], wall: UInt64.random(in: 0...1_000, using: &rng)) }
        var writes: [Write] = []
        var snapshots: [String: [RecordState]] = [:]
        let steps = Int.random(in: 20...90, using: &rng)

        for _ in 0..<steps {
            let r = Int.random(in: 0..<replicaCount, using: &rng)
            // Wall clocks drift independently and may even jump back.
            replicas[r].wall = UInt64(max(0, Int64(replicas[r].wall) + Int64.random(in: -5...40, using: &rng)))
            if Bool.random(using: &rng) || Int.random(in: 0..<3, using: &rng) == 0 {
                let c = collections.randomElement(using: &rng)!
                let id = recordIDs.randomElement(using: &rng)!
                let key = "\(c.name)/\(id)"
                var state = replicas[r].records[key] ?? RecordState()
                let before = state
                let time = replicas[r].hlc.now(physical: replicas[r].wall)
                let node = replicas[r].node
                var touched: Set<String> = ["_exists"]
                var wrote: Set<String> = ["_exists"]
                let dot: Dot?
                do {
                    switch Int.random(in: 0..<11, using: &rng) {
                    case 0..<5:
                        var values: [String: JSONValue] = [:]
                        for f in c.fields.keys.sorted() where Int.random(in: 0..<3, using: &rng) == 0 {
                            values[f] = c.policy(of: f) == .counter
                                ? .int(Int64.random(in: -3...20, using: &rng))
                                : (Int.random(in: 0..<8, using: &rng) == 0 ? .null : .string("\(node)-\(Int.random(in: 0..<100, using: &rng))"))
                        }
                        if Int.random(in: 0..<6, using: &rng) == 0 { values["extra"] = .int(Int64.random(in: 0..<9, using: &rng)) }
                        dot = try state.put(values, by: node, at: time, in: c, id: id)
                        touched.formUnion(values.keys)
                        wrote.formUnion(values.keys)
                        touched.formUnion(before.fields.keys.filter { state.fields[$0] != before.fields[$0] })
                    case 5..<8:
                        let counter = c.fields.first { $0.value == .counter }!.key
                        dot = try state.add(Int64.random(in: -5...5, using: &rng), to: counter, by: node, at: time, in: c, id: id)
                        touched.insert(counter)
                        wrote.insert(counter)
                    case 8:
                        // A person resolves a conflict, if the record holds one.
                        let open = state.view(in: c, id: id).conflicts
                        guard let conflict = open.randomElement(using: &rng) else { continue }
                        let choice: RecordState.ResolutionChoice
                        switch Int.random(in: 0..<3, using: &rng) {
                        case 0: choice = .choose(Int.random(in: 0..<conflict.values.count, using: &rng))
                        case 1: choice = .accept
                        default: choice = .value(conflict.field == Conflict.existenceField ? .bool(Bool.random(using: &rng)) : .string("fixed by \(node)"))
                        }
                        dot = try state.resolve(conflict.id, choice, by: node, at: time, in: c, id: id)
                        if conflict.field != Conflict.existenceField {
                            touched.insert(conflict.field)
                            wrote.insert(conflict.field)
                        }
                        #expect(state.resolutions.contains { $0.conflictID == conflict.id && $0.by == dot })
                    default:
                        dot = try state.delete(by: node, at: time, in: c, id: id)
                    }
                } catch {
                    continue  // e.g. add to a deleted record, delete of a missing one: refused, nothing written
                }
                guard let dot else { continue }
                var deltas: [String: Int64] = [:]
                for (f, p) in c.fields where p == .counter {
                    let own = { (s: RecordState) in s.fields[f]?.first { $0.dot.node == node }?.value.intValue ?? 0 }
                    deltas[f] = own(state) - own(before)
                }
                if debug { print("write \(dot) on \(key) by \(node): \(state.canonicalText)") }
                writes.append(Write(key: key, dot: dot, clockAfter: state.clock, wrote: wrote, touched: touched, counterDeltas: deltas))
                replicas[r].records[key] = state
                snapshots[key, default: []].append(state)
            } else {
                // Sync a random subset of records from one replica to another, in random order;
                // sometimes a message is delivered twice.
                let from = Int.random(in: 0..<replicaCount, using: &rng)
                let to = Int.random(in: 0..<replicaCount, using: &rng)
                guard from != to else { continue }
                for (key, state) in replicas[from].records.sorted { $0.key < $1.key }.shuffled(using: &rng) where Bool.random(using: &rng) {
                    for _ in 0..<(Int.random(in: 0..<5, using: &rng) == 0 ? 2 : 1) {
                        replicas[to].records[key, default: RecordState()].merge(state)
                    }
                    if debug { print("sync \(key) \(replicas[from].node)->\(replicas[to].node): \(replicas[to].records[key]!.canonicalText)") }
                    replicas[to].hlc.observe(state.latestTime, physical: replicas[to].wall)
                    snapshots[key, default: []].append(replicas[to].records[key]!)
                }
            }
        }

        // Full sync round: everyone to replica 0, then replica 0 to everyone, in shuffled orders.
        for r in (1..<replicaCount).shuffled(using: &rng) {
            for (key, state) in replicas[r].records { replicas[0].records[key, default: RecordState()].merge(state) }
        }
        for r in (1..<replicaCount).shuffled(using: &rng) {
            for (key, state) in replicas[0].records.sorted { $0.key < $1.key }.shuffled(using: &rng) {
                replicas[r].records[key, default: RecordState()].merge(state)
            }
        }

        // 1. Every replica byte-identical, with identical views and conflict ids.
        let reference = replicas[0].records
        for replica in replicas.dropFirst() {
            guard replica.records.keys.sorted() == reference.keys.sorted() else { return "replica \(replica.node) has other records" }
            for (key, state) in replica.records where state.canonicalBytes != reference[key]!.canonicalBytes {
                return "\(key) differs on \(replica.node): \(state.canonicalText) vs \(reference[key]!.canonicalText)"
            }
        }
        for (key, state) in reference {
            let c = collection(ofKey: key)
            let id = String(key.dropFirst(c.name.count + 1))
            // 2. The clock counts each node's writes to the record exactly.
            var counts: [NodeID: UInt64] = [:]
            for w in writes where w.key == key { counts[w.dot.node, default: 0] += 1 }
            guard state.clock == VectorClock(counts) else { return "\(key): clock \(state.clock) but writes \(counts)" }
            // 3. No write lost: each value is still held, or a causally later write touching that
            //    field had seen it.
            let keyWrites = writes.filter { $0.key == key }
            for w in keyWrites {
                for field in w.wrote {
                    let held = field == "_exists" ? state.existence.map(\.dot) : (state.fields[field] ?? []).map(\.dot)
                    if held.contains(w.dot) { continue }
                    let superseded = keyWrites.contains { later in
                        later.dot != w.dot && later.touched.contains(field) && later.clockAfter.contains(w.dot)
                    }
                    if !superseded {
                        return "\(key): write \(w.dot) to \(field) was lost; final \(state.canonicalText)"
                    }
                }
            }
            // 4. Counters are the sum of every increment made anywhere.
            for (f, p) in c.fields where p == .counter && state.fields[f] != nil {
                let expected = keyWrites.reduce(Int64(0)) { $0 + ($1.counterDeltas[f] ?? 0) }
                guard state.counterTotal(f) == expected else { return "\(key).\(f): total \(state.counterTotal(f)), increments \(expected)" }
            }
            // 5. Merge laws on states that really occurred for this record.
            let seen = snapshots[key] ?? []
            for _ in 0..<min(20, seen.count) {
                let a = seen.randomElement(using: &rng)!, b = seen.randomElement(using: &rng)!, d = seen.randomElement(using: &rng)!
                guard a.merged(with: b).canonicalBytes == b.merged(with: a).canonicalBytes else { return "\(key): merge not commutative" }
                guard a.merged(with: b).merged(with: d) == a.merged(with: b.merged(with: d)) else { return "\(key): merge not associative" }
                guard a.merged(with: a) == a else { return "\(key): merge not idempotent" }
                guard a.merged(with: b).merged(with: b) == a.merged(with: b) else { return "\(key): re-merge changed state" }
            }
            // 6. The encoding round-trips through validation.
            guard (try? RecordState(jsonText: state.canonicalText, collection: c)) == state else {
                return "\(key): canonical form does not decode to itself"
            }
            // 7. Every resolution's conflict is gone from the record (its values were superseded).
            let openIDs = Set(state.view(in: c, id: id).conflicts.map(\.id))
            for r in state.resolutions where openIDs.contains(r.conflictID) {
                return "\(key): conflict \(r.conflictID) is resolved by \(r.by) but still open"
            }
            // 8. The cheap status the store keeps per row agrees with the full view.
            let view = state.view(in: c, id: id)
            let status = state.status(in: c)
            guard status.deleted == view.deleted, status.conflicted == view.conflicted, status.conflicts == view.conflicts.count else {
                return "\(key): status \(status) disagrees with the view"
            }
        }
        return nil
    }

    @Test func randomHistoriesConverge() {
        var failures: [String] = []
        for n in 0..<Self.runs {
            let seed = Self.baseSeed &+ UInt64(n)
            if let failure = Self.run(seed: seed) {
                failures.append("seed \(seed): \(failure)")
                if failures.count >= 3 { break }
            }
        }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
        print("convergence: \(Self.runs) histories on 3-5 replicas, \(failures.count) failures")
    }
}
