import Foundation
import GRDB
import StationCore
import StationStore
import Testing
import StationSync

/// A deterministic, seeded simulation of sync (in the spirit of FoundationDB's simulator): five
/// real SQLite stores (a hub and four stations) make random local writes and sync in random
/// pairs through ``LoopbackTransport`` while the transport loses requests and responses,
/// duplicates requests and crashes the client mid-sync. After a fault-free round through the hub,
/// every replica must be identical, no accepted write may be lost, counters must add up and
/// every database must pass SQLite's integrity check.
///
/// Every schedule is a function of its seed (the wall clocks are simulated too):
/// `STATIONSYNC_SIM_SEED=<seed> swift test --filter SimulationTests` replays one;
/// `STATIONSYNC_SIM_RUNS=N` sets how many run (default 30); `tools/soak` runs many in release.
@Suite struct SimulationTests {
    static let environment = ProcessInfo.processInfo.environment
    static let runs = Int(environment["STATIONSYNC_SIM_RUNS"] ?? "") ?? 30
    static let seedOverride = UInt64(environment["STATIONSYNC_SIM_SEED"] ?? "")
    static let baseSeed: UInt64 = 0x51A7_0000
    static let debug = environment["STATIONSYNC_SIM_DEBUG"] != nil

    static let hub = "hub"
    static let stations = ["hotline", "civil-affairs", "charity", "justice"]
    static let nodes = [hub] + stations
    /// `cases`: manual + lww + counter, update-wins; `stock`: counter + lww, delete-wins; plus an
    /// undeclared field (default policy, lww) now and then.
    static let schema = syncSchema
    static let recordIDs = ["r1", "r2", "r3"]

    struct Totals {
        var schedules = 0
        var steps = 0
        var faults = 0
        var syncs = 0
        var writes = 0
        var resolutions = 0
    }

    /// One schedule. Returns nil when every check holds, else what failed.
    final class Schedule {
        let seed: UInt64
        var rng: SimRandom
        let dir: TemporaryDirectory
        var stores: [String: StationStore] = [:]
        var clocks: [String: SimClock] = [:]
        var skew: [String: Int64] = [:]
        var time: UInt64 = 1_790_000_000_000
        var writes: [SimWrite] = []
        var log: [String] = []
        var totals = Totals()

        init(seed: UInt64) throws {
            self.seed = seed
            rng = SimRandom(seed: seed)
            dir = try TemporaryDirectory()
            for node in SimulationTests.nodes {
                skew[node] = Int64.random(in: -3_000...3_000, using: &rng)
                let clock = SimClock(start: time)
                clocks[node] = clock
                stores[node] = try StationStore.create(
                    path: path(node), node: NodeID(validating: node), schema: SimulationTests.schema, clock: { clock.now })
            }
        }

        func path(_ node: String) -> String { "\(dir.path)/\(node).sqlite" }

        func note(_ line: String) {
            log.append(line)
            if SimulationTests.debug { print("[\(seed)] \(line)") }
        }

        /// Simulated time moves on; each node's wall clock follows with its skew and some jitter
        /// (sometimes backwards).
        func tick() {
            time += UInt64.random(in: 0...40, using: &rng)
            for node in SimulationTests.nodes {
                let jitter = Int64.random(in: -20...20, using: &rng)
                clocks[node]!.set(UInt64(Int64(time) + skew[node]! + jitter))
            }
        }

        // MARK: Local writes

        func randomTarget() -> (CollectionSchema, String) {
            let name = SimulationTests.schema.collectionNames.sorted().randomElement(using: &rng)!
            return (SimulationTests.schema.collections[name]!, SimulationTests.recordIDs.randomElement(using: &rng)!)
        }

        /// Runs one local write at `node` and tracks it; a refused write (add to a deleted record,
        /// delete of a missing one) writes nothing and is not tracked.
        func localWrite(at node: String) throws {
            let store = stores[node]!
            let (c, id) = randomTarget()
            let before = try store.record(c.name, id)?.state ?? RecordState()
            var wrote: Set<String> = ["_exists"]
            var what: String
            do {
                switch Int.random(in: 0..<10, using: &rng) {
                case 0..<5:
                    var values: [String: JSONValue] = [:]
                    for f in c.fields.keys.sorted() where Int.random(in: 0..<2, using: &rng) == 0 {
                        values[f] = c.policy(of: f) == .counter
                            ? .int(Int64.random(in: -3...20, using: &rng))
                            : (Int.random(in: 0..<8, using: &rng) == 0 ? .null : .string("\(node)-\(Int.random(in: 0..<100, using: &rng))"))
                    }
                    if Int.random(in: 0..<6, using: &rng) == 0 { values["extra"] = .int(Int64.random(in: 0..<9, using: &rng)) }
                    guard try store.put(c.name, id, values).changed else {
                        // What the record already shows: nothing written, nothing changed.
                        guard try store.record(c.name, id)?.state == before else {
                            throw SimFailure("\(c.name)/\(id): a put at \(node) of what the record shows changed it")
                        }
                        return
                    }
                    wrote.formUnion(values.keys)
                    what = "put \(values.keys.sorted())"
                case 5..<8:
                    let counter = c.fields.keys.sorted().first { c.policy(of: $0) == .counter }!
                    let amount = Int64.random(in: -5...5, using: &rng)
                    try store.add(c.name, id, field: counter, amount: amount)
                    wrote.insert(counter)
                    what = "add \(amount) to \(counter)"
                default:
                    guard try store.delete(c.name, id) != nil else { return }
                    what = "delete"
                }
            } catch let e as CoreError where e.code == .recordDeleted || e.code == .recordNotFound {
                return
            } catch let e as StoreError where e.code == .recordNotFound {
                return
            }
            try track(node: node, c: c, id: id, before: before, wrote: wrote, what: what)
        }

        /// Resolves a random open conflict at `node` with `resolveConflict(id:_:)`.
        func resolve(at node: String) throws -> Bool {
            let store = stores[node]!
            let open = try store.conflictReports(status: .open)
            guard let report = open.randomElement(using: &rng) else { return false }
            let c = SimulationTests.schema.collections[report.collection]!
            let before = try store.record(report.collection, report.recordID)?.state ?? RecordState()
            let choice: RecordState.ResolutionChoice
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: choice = .choose(Int.random(in: 0..<report.values.count, using: &rng))
            case 1: choice = .accept
            default:
                if report.field == Conflict.existenceField {
                    choice = .value(.bool(Bool.random(using: &rng)))
                } else if c.policy(of: report.field) == .counter {
                    choice = .value(.int(Int64.random(in: 0...9, using: &rng)))
                } else {
                    choice = .value(.string("fixed by \(node)"))
                }
            }
            try store.resolveConflict(id: report.id, choice)
            var wrote: Set<String> = ["_exists"]
            if report.field != Conflict.existenceField { wrote.insert(report.field) }
            try track(node: node, c: c, id: report.recordID, before: before, wrote: wrote, what: "resolve \(report.id) on \(report.field) with \(choice)")
            totals.resolutions += 1
            return true
        }

        func track(node: String, c: CollectionSchema, id: String, before: RecordState, wrote: Set<String>, what: String) throws {
            guard let after = try stores[node]!.record(c.name, id)?.state else {
                throw SimFailure("\(c.name)/\(id): gone right after a write at \(node)")
            }
            let me = NodeID(unchecked: node)
            let dot = Dot(me, after.clock[me])
            // Exactly one new write of this node.
            guard after.clock[me] == before.clock[me] + 1, after.existence.map(\.dot) == [dot] else {
                throw SimFailure("\(c.name)/\(id): write at \(node) did not make exactly one dot: \(before.clock) -> \(after.clock)")
            }
            var touched: Set<String> = ["_exists"]
            touched.formUnion(Set(before.fields.keys).union(after.fields.keys).filter { before.fields[$0] != after.fields[$0] })
            var deltas: [String: Int64] = [:]
            for f in c.fields.keys where c.policy(of: f) == .counter {
                let own = { (s: RecordState) in s.fields[f]?.first { $0.dot.node == me }?.value.intValue ?? 0 }
                deltas[f] = own(after) - own(before)
            }
            let description = "\(node) \(what) on \(c.name)/\(id) at \(dot)"
            writes.append(
                SimWrite(node: node, key: "\(c.name)/\(id)", dot: dot, clockAfter: after.clock, wrote: wrote, touched: touched,
                    counterDeltas: deltas, description: description))
            totals.writes += 1
            note(description)
        }

        // MARK: Syncs

        /// `client` syncs with `server`; with `faults`, the transport may fail in planned ways.
        /// Returns the faults injected. Only injected faults may make a sync fail.
        @discardableResult
        func sync(_ client: String, with server: String, faults: Bool) throws -> [SimFaultKind] {
            var plan: [Int: SimFaultKind] = [:]
            if faults, rng.chance(0.45) {
                for _ in 0..<Int.random(in: 1...2, using: &rng) {
                    plan[Int.random(in: 1...10, using: &rng)] = SimFaultKind.allCases.randomElement(using: &rng)!
                }
            }
            let batch = Int.random(in: 1...50, using: &rng)
            let service = SyncService(storage: stores[server]!, authentication: .none)
            let transport = FaultyTransport(inner: LoopbackTransport(service: service, caller: client), plan: plan)
            let engine = SyncEngine(storage: stores[client]!, transport: transport, batchSize: batch)
            totals.syncs += 1
            do {
                let summary = try engine.run()
                note("sync \(client) with \(server) (batch \(batch)): pushed \(summary.pushed), pulled \(summary.pulled)"
                    + (transport.injected.isEmpty ? "" : ", survived \(transport.injected.map(\.rawValue))"))
            } catch let fault as SimFault {
                note("sync \(client) with \(server) (batch \(batch)): \(fault) at call \(transport.calls)")
                if fault.kind.isCrash { try restart(client) }
            } catch {
                throw SimFailure("sync \(client) with \(server) (batch \(batch), faults \(plan)) failed: \(error)")
            }
            totals.faults += transport.injected.count
            return transport.injected
        }

        /// The client process died: close its store and open the file again.
        func restart(_ node: String) throws {
            try stores[node]!.close()
            let clock = clocks[node]!
            stores[node] = try StationStore.open(path: path(node), clock: { clock.now })
            note("restart \(node)")
        }

        // MARK: The schedule

        func run() throws {
            let steps = Int.random(in: 40...120, using: &rng)
            for _ in 0..<steps {
                tick()
                totals.steps += 1
                let node = SimulationTests.nodes.randomElement(using: &rng)!
                switch Int.random(in: 0..<20, using: &rng) {
                case 0..<9:
                    try localWrite(at: node)
                case 9..<11:
                    if try !resolve(at: node) { try localWrite(at: node) }
                default:
                    // Station with the hub (either way round) or station with station.
                    var pair: (String, String)
                    if rng.chance(0.6) {
                        let s = SimulationTests.stations.randomElement(using: &rng)!
                        pair = rng.chance(0.8) ? (s, SimulationTests.hub) : (SimulationTests.hub, s)
                    } else {
                        let two = SimulationTests.stations.shuffled(using: &rng).prefix(2)
                        pair = (two.first!, two.last!)
                    }
                    let injected = try sync(pair.0, with: pair.1, faults: true)
                    // Sometimes the client tries again at once, as a retrying transport would.
                    if !injected.isEmpty, rng.chance(0.5) { try sync(pair.0, with: pair.1, faults: true) }
                }
            }
            // A full round until quiet: every station with the hub, twice round, no faults.
            for _ in 0..<2 {
                for s in SimulationTests.stations { try sync(s, with: SimulationTests.hub, faults: false) }
            }
            try check()
        }

        // MARK: Checks

        func snapshot(_ node: String) throws -> [String: String] {
            var result: [String: String] = [:]
            for c in stores[node]!.schema.collectionNames {
                for r in try stores[node]!.records(in: c, includeDeleted: true) { result["\(c)/\(r.id)"] = r.state.canonicalText }
            }
            return result
        }

        func check() throws {
            // 1. Every replica identical.
            let reference = try snapshot(SimulationTests.hub)
            for node in SimulationTests.stations {
                let mine = try snapshot(node)
                for key in Set(reference.keys).union(mine.keys).sorted() where reference[key] != mine[key] {
                    throw SimFailure("divergence: \(key) on hub \(reference[key] ?? "missing") but on \(node) \(mine[key] ?? "missing")")
                }
            }
            if SimulationTests.debug { for (key, text) in reference.sorted(by: { $0.key < $1.key }) { note("final \(key) \(text)") } }
            let states = try Dictionary(
                uniqueKeysWithValues: reference.map { ($0.key, try RecordState(jsonText: $0.value)) })
            let byKey = Dictionary(grouping: writes, by: \.key)
            for (key, keyWrites) in byKey.sorted(by: { $0.key < $1.key }) {
                guard let state = states[key] else { throw SimFailure("lost write: \(key) has \(keyWrites.count) writes but no record") }
                // The clock counts every node's writes exactly.
                var counts: [NodeID: UInt64] = [:]
                for w in keyWrites { counts[w.dot.node, default: 0] += 1 }
                guard state.clock == VectorClock(counts) else {
                    throw SimFailure("lost write: \(key) clock \(state.clock) but writes \(counts)")
                }
                // 2. No write lost: each value it wrote is still held, or a write that had seen it
                //    replaced that register (a later write, a recreate, a resolution).
                for w in keyWrites {
                    guard state.clock.contains(w.dot) else { throw SimFailure("lost write: \(w.description): clock \(state.clock)") }
                    for field in w.wrote.sorted() {
                        let held = field == "_exists" ? state.existence.map(\.dot) : (state.fields[field] ?? []).map(\.dot)
                        if held.contains(w.dot) { continue }
                        let superseded = keyWrites.contains { later in
                            later.dot != w.dot && later.touched.contains(field) && later.clockAfter.contains(w.dot)
                        }
                        if !superseded {
                            throw SimFailure("lost write: \(w.description), field \(field); final \(state.canonicalText)")
                        }
                    }
                }
                // 3. Counters are the sum of every increment made anywhere.
                let c = SimulationTests.schema.collections[String(key.split(separator: "/")[0])]!
                for f in c.fields.keys.sorted() where c.policy(of: f) == .counter {
                    let expected = keyWrites.reduce(Int64(0)) { $0 + ($1.counterDeltas[f] ?? 0) }
                    guard state.counterTotal(f) == expected else {
                        throw SimFailure("counter \(key).\(f): total \(state.counterTotal(f)), increments \(expected)")
                    }
                }
            }
            for key in states.keys where byKey[key] == nil { throw SimFailure("\(key) exists but nobody wrote it") }
            // 4. SQLite's own check of every file.
            for node in SimulationTests.nodes {
                var config = Configuration()
                config.readonly = true
                let queue = try DatabaseQueue(path: path(node), configuration: config)
                let result = try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
                try queue.close()
                guard result == ["ok"] else { throw SimFailure("integrity_check on \(node): \(result)") }
            }
        }

        func close() {
            for store in stores.values { try? store.close() }
        }
    }

    struct SimFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test func randomSchedulesWithFaultsConvergeAndLoseNothing() throws {
        let started = Date()
        let seeds = Self.seedOverride.map { [$0] } ?? (0..<Self.runs).map { Self.baseSeed &+ UInt64($0) }
        var totals = Totals()
        var failures: [String] = []
        var divergences = 0, lost = 0
        for seed in seeds {
            let schedule = try Schedule(seed: seed)
            defer { schedule.close() }
            do {
                try schedule.run()
            } catch {
                let text = "\(error)"
                if text.hasPrefix("divergence") { divergences += 1 }
                if text.hasPrefix("lost write") { lost += 1 }
                failures.append(
                    "seed \(seed) (STATIONSYNC_SIM_SEED=\(seed)): \(text)\n  last steps:\n    "
                        + schedule.log.suffix(12).joined(separator: "\n    "))
            }
            totals.schedules += 1
            totals.steps += schedule.totals.steps
            totals.faults += schedule.totals.faults
            totals.syncs += schedule.totals.syncs
            totals.writes += schedule.totals.writes
            totals.resolutions += schedule.totals.resolutions
            if failures.count >= 3 { break }
        }
        let seconds = Date().timeIntervalSince(started)
        print(
            "simulation: \(totals.schedules) schedules, \(totals.steps) steps, \(totals.faults) faults injected, "
                + "\(divergences) divergences, \(lost) lost writes"
                + " (\(totals.writes) writes, \(totals.resolutions) resolutions, \(totals.syncs) syncs, "
                + String(format: "%.1f s", seconds) + ", \(failures.count) failed schedules)")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
