import Foundation
import GRDB
import StationCore
import StationMemory
import StationStore
import Testing
import StationSync
import StationTestSupport

/// A deterministic, seeded simulation of sync (in the spirit of FoundationDB's simulator): stores
/// (a hub and four stations) make random local writes and sync in random pairs
/// through ``LoopbackTransport`` while the transport loses requests and responses, duplicates
/// requests and crashes the client mid-sync. Stations are restored from backups of their files,
/// made again under their names, moved to a new file, and (with trusted peers) joined by a second
/// database under one name; ids come from look-alike pairs. Half the schedules sync with the hub
/// through ordinary station tokens (no relay: the origin check runs on every push, LAN-synced
/// records wait, a reinstalled station is refused until it takes over), the other half as trusted
/// peers. After a fault-free round, every replica must be identical and agree with
/// ``HistoryModel``, the tests' own model of what was asked; every write not lost with a restored
/// or deleted file must be there; every database must pass SQLite's integrity check. A hostile
/// node with an ordinary token forges pushes at random steps (HostileNode.swift): each must be
/// refused and change nothing at the hub. It also hands stations crafted change files (refused,
/// nothing changes) and, on the LAN, serves forged records: a station with no copy to check one
/// against takes it; the hub must never take it from anybody, and nothing else may be held up
/// (every other record converges with nothing lost, every sync completes).
///
/// It runs on both backends (``Backend``): real SQLite files, where backups, moves and second
/// databases are copies of the files, a crash closes the store and opens the file again, and
/// SQLite's integrity check runs at the end; and the in-memory store, where they are
/// ``MemoryStore/copy(renewing:clock:)`` (a restored or copied store renews itself, as a file found
/// restored or copied does) and a crash keeps what was committed. Change files are merged into the
/// SQLite stations only (`station merge` is the SQLite store's). In memory, many more schedules run in
/// the same time.
///
/// Every schedule is a function of its seed (the wall clocks are simulated too):
/// `STATIONSYNC_SIM_SEED=<seed> swift test --filter SimulationTests` replays one;
/// `STATIONSYNC_SIM_RUNS=N` sets how many run on SQLite (default 30),
/// `STATIONSYNC_SIM_MEMORY_RUNS=N` in memory (default 120); `tools/soak` runs many in release.
@Suite struct SimulationTests {
    static let environment = ProcessInfo.processInfo.environment
    static let runs = Int(environment["STATIONSYNC_SIM_RUNS"] ?? "") ?? 30
    static let memoryRuns = Int(environment["STATIONSYNC_SIM_MEMORY_RUNS"] ?? "") ?? 120
    static let seedOverride = UInt64(environment["STATIONSYNC_SIM_SEED"] ?? "")
    static let baseSeed: UInt64 = 0x51A7_0000
    static let debug = environment["STATIONSYNC_SIM_DEBUG"] != nil

    static let hub = "hub"
    static let stations = ["hotline", "civil-affairs", "charity", "justice"]
    static let nodes = [hub] + stations
    /// `cases`: manual + lww + counter, update-wins; `stock`: counter + lww, delete-wins; plus an
    /// undeclared field (default policy, lww) now and then.
    static let schema = syncSchema
    static let sharedValues: [JSONValue] = ["same", "caf\u{E9}", "cafe\u{301}", .double(0.0), .double(-0.0)]

    struct Totals {
        var schedules = 0, relaySchedules = 0
        var steps = 0
        var faults = 0
        var syncs = 0
        var writes = 0, unchanged = 0, refused = 0
        var resolutions = 0
        var restores = 0, reinits = 0, moves = 0, secondDatabases = 0, takeOvers = 0, waitingSeen = 0
        var lostWithFiles = 0, operatorRelays = 0
        /// The hostile node's forging attempts (see HostileNode.swift), all refused, by kind.
        var hostileAttempts = 0
        var hostileRefused: [String: Int] = [:]
        /// Forged records a station took from mallory on the LAN (no copy to check them against).
        var forgeriesTaken = 0
        /// Forgeries the hub holds the effect of after the full round (see ``Schedule/check()``).
        var forgeriesLaundered = 0
        /// Stations' copies still forged after the full round: named at their last sync with the hub, or not.
        var forgedCopiesListed = 0, forgedCopiesUnlisted = 0

        mutating func add(_ o: Totals) {
            schedules += o.schedules; relaySchedules += o.relaySchedules; steps += o.steps; faults += o.faults; syncs += o.syncs
            writes += o.writes; unchanged += o.unchanged; refused += o.refused; resolutions += o.resolutions
            restores += o.restores; reinits += o.reinits; moves += o.moves; secondDatabases += o.secondDatabases
            takeOvers += o.takeOvers; waitingSeen += o.waitingSeen; lostWithFiles += o.lostWithFiles; operatorRelays += o.operatorRelays
            hostileAttempts += o.hostileAttempts
            forgeriesTaken += o.forgeriesTaken
            forgeriesLaundered += o.forgeriesLaundered
            forgedCopiesListed += o.forgedCopiesListed
            forgedCopiesUnlisted += o.forgedCopiesUnlisted
            hostileRefused.merge(o.hostileRefused, uniquingKeysWith: +)
        }
    }

    /// One schedule. Returns nil when every check holds, else what failed.
    final class Schedule {
        let seed: UInt64
        var rng: SimRandom
        let dir: TemporaryDirectory
        /// Replicas by slot: the hub, the stations, and second databases ("hotline#2").
        var slots: [String] = []
        let backend: Backend
        var stores: [String: any TestBackendStore] = [:]
        /// SQLite: each slot's file.
        var files: [String: String] = [:]
        var clocks: [String: SimClock] = [:]
        var skew: [String: Int64] = [:]
        var time: UInt64 = 1_790_000_000_000
        var model = HistoryModel()
        /// Writes lost with a file (made after its backup and never synced, or made in a file deleted before it was synced).
        var lostWithFiles: Set<HistoryModel.WriteID> = []
        /// SQLite: the backup file of a slot.
        var backups: [String: String] = [:]
        /// In memory: the copy a slot was backed up to.
        var memoryBackups: [String: MemoryStore] = [:]
        var takeOverNext: Set<String> = []
        /// Stations the operator gave a relay token at the end (see ``run()``).
        var operatorRelay: Set<String> = []
        var fileNumber = 0
        /// Records some station took a forgery of from mallory on the LAN (HostileNode.swift): the
        /// stations' copies of them are not held to the model, but the hub's is.
        var poisoned: Set<RecordKey> = []
        /// Each station's last sync summary with the hub.
        var lastHubSync: [String: SyncSummary] = [:]
        var log: [String] = []
        var totals = Totals()
        /// Ordinary station tokens at the hub (no relay), or trusted peers.
        let relay: Bool
        let recordIDs: [String]

        init(seed: UInt64, backend: Backend) throws {
            self.seed = seed
            self.backend = backend
            rng = SimRandom(seed: seed)
            dir = try TemporaryDirectory()
            relay = rng.chance(0.5)
            var ids = Array(LookAlikeIDs.all.shuffled(using: &rng).prefix(2))
            ids += [["caf\u{E9}", "cafe\u{301}"], ["\u{C5}sa", "\u{212B}sa"], ["\u{F900}", "\u{8C48}"]].randomElement(using: &rng)!
            recordIDs = ids
            for node in SimulationTests.nodes {
                skew[node] = Int64.random(in: -3_000...3_000, using: &rng)
                clocks[node] = SimClock(start: time)
                try create(slot: node, node: node)
            }
            totals.schedules = 1
            totals.relaySchedules = relay ? 1 : 0
        }

        func newFile() -> String {
            fileNumber += 1
            return "\(dir.path)/db\(fileNumber).sqlite"
        }

        func node(of slot: String) -> String { String(slot.split(separator: "#")[0]) }
        func index(_ slot: String) -> Int { slots.firstIndex(of: slot)! }

        /// `station init` of a new database for `slot` (a new incarnation), at a new file on SQLite.
        func create(slot: String, node: String) throws {
            let clock = clocks[node]!
            if !slots.contains(slot) { slots.append(slot) }
            switch backend {
            case .sqlite:
                let path = newFile()
                files[slot] = path
                stores[slot] = try StationStore.create(
                    path: path, node: NodeID(validating: node), schema: SimulationTests.schema, incarnation: StationStore.makeIncarnation(),
                    clock: { clock.now })
            case .memory:
                stores[slot] = try MemoryStore(
                    node: NodeID(validating: node), schema: SimulationTests.schema, incarnation: StationStore.makeIncarnation(), clock: { clock.now })
            }
        }

        /// SQLite: opens `slot`'s file.
        func open(slot: String) throws {
            let clock = clocks[node(of: slot)]!
            stores[slot] = try StationStore.open(path: files[slot]!, clock: { clock.now })
        }

        /// SQLite: closes `slot`'s store.
        func closeFile(_ slot: String) throws { try sqlite(slot).close() }

        func sqlite(_ slot: String) -> StationStore { stores[slot] as! StationStore }
        func memory(_ slot: String) -> MemoryStore { stores[slot] as! MemoryStore }

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

        func randomTarget() -> (CollectionSchema, String) {
            let name = SimulationTests.schema.collectionNames.sorted().randomElement(using: &rng)!
            return (SimulationTests.schema.collections[name]!, recordIDs.randomElement(using: &rng)!)
        }

        /// The model's check of `state` at `slot`; nil (holds) for a station's copy of a record
        /// mallory's LAN forgery reached (see ``poisoned``).
        func modelCheck(_ state: RecordState?, _ key: RecordKey, _ c: CollectionSchema, at slot: String) -> String? {
            guard slot == SimulationTests.hub || !poisoned.contains(key) else { return nil }
            return model.check(state, key: key, collection: c, replica: index(slot))
        }

        /// What the model knows `slot` holds of `key`: the writes its stored clock has seen.
        func learn(_ slot: String, _ key: RecordKey) throws -> RecordState? {
            let state = try stores[slot]!.record(key.collection, key.id)?.state
            model.learn(index(slot), key, clock: state?.clock)
            return state
        }

        // MARK: Local writes

        func randomValue(_ writer: NodeID) -> JSONValue {
            // Now and then a value nested as deeply as a value may (Limits.valueDepth): it must
            // travel through every push, pull and history entry like any other.
            if rng.chance(0.03) { return ValueDepthTests.nested(Limits.valueDepth, leaf: .string("deep from \(writer.station)")) }
            // Now and then a large one (up to 1 MiB): several of them fill a page past its 8 MiB of
            // states (Limits.pageBytes) and a conflict between them a history entry of megabytes,
            // while every state stays under its 16 MiB (Limits.stateBytes).
            if rng.chance(0.01) {
                return .string("\(writer.station)-" + String(repeating: "l", count: Int.random(in: (256 << 10)...(1 << 20), using: &rng)))
            }
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: return .null
            case 1...3: return SimulationTests.sharedValues.randomElement(using: &rng)!
            default: return .string("\(writer.station)-\(Int.random(in: 0..<100, using: &rng))")
            }
        }

        /// One local write at `slot`: predicted by the model (a write, unchanged, refused), made
        /// through the store, and checked against the model before and after.
        func localWrite(at slot: String) throws {
            let store = stores[slot]!
            let (c, id) = randomTarget()
            let key = RecordKey(c.name, id)
            let before = try learn(slot, key)
            if let failure = modelCheck(before, key, c, at: slot) {
                throw SimFailure("before a write at \(store.writer): \(failure)")
            }
            let request: HistoryModel.Request
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<5:
                var values: [String: JSONValue] = [:]
                for f in c.fields.keys.sorted() where Int.random(in: 0..<2, using: &rng) == 0 {
                    values[f] = c.policy(of: f) == .counter ? .int(Int64.random(in: -3...20, using: &rng)) : randomValue(store.writer)
                }
                if Int.random(in: 0..<6, using: &rng) == 0 { values["extra"] = .int(Int64.random(in: 0..<9, using: &rng)) }
                request = .put(values)
            case 5..<8:
                request = .add(field: c.fields.keys.sorted().first { c.policy(of: $0) == .counter }!, amount: Int64.random(in: -5...5, using: &rng))
            default:
                request = .delete
            }
            let expected = model.outcome(of: request, at: index(slot), key: key, collection: c)
            var actual = HistoryModel.Outcome.write
            var refusal: (any Error)?
            do {
                switch request {
                case .put(let values): if try !store.put(c.name, id, values).changed { actual = .unchanged }
                case .add(let field, let amount): try store.add(c.name, id, field: field, amount: amount)
                case .delete: if try store.delete(c.name, id) == nil { actual = .unchanged }
                default: break
                }
            } catch let e as CoreError where e.code == .recordDeleted || e.code == .recordNotFound {
                (actual, refusal) = (.refused, e)
            }
            guard actual == expected else {
                throw SimFailure(
                    "\(key): \(request) at \(store.writer) was \(actual)\(refusal.map { " (\($0))" } ?? ""), the model expected \(expected)")
            }
            switch actual {
            case .refused: totals.refused += 1
            case .unchanged:
                totals.unchanged += 1
                guard try store.record(c.name, id)?.state == before else { throw SimFailure("\(key): an unchanged \(request) changed it") }
            case .write: try track(slot, key, c, request, before: before)
            }
        }

        /// Resolves a random open conflict at `slot` with `resolveConflict(id:_:)`.
        func resolve(at slot: String) async throws -> Bool {
            let store = stores[slot]!
            guard let report = try await store.conflictReports(collection: nil, status: .open).randomElement(using: &rng) else { return false }
            let c = SimulationTests.schema.collections[report.collection]!
            let key = RecordKey(report.collection, report.recordID)
            let before = try learn(slot, key)
            if let failure = modelCheck(before, key, c, at: slot) {
                throw SimFailure("before a resolution at \(store.writer): \(failure)")
            }
            let pick: JSONValue
            let choice: RecordState.ResolutionChoice
            switch Int.random(in: 0..<3, using: &rng) {
            case 0:
                let i = Int.random(in: 0..<report.values.count, using: &rng)
                (choice, pick) = (.choose(i), report.values[i].value)
            case 1:
                (choice, pick) = (.accept, report.values[0].value)
            default:
                pick =
                    report.field == Conflict.existenceField
                    ? .bool(Bool.random(using: &rng))
                    : report.policy == .counter ? .int(Int64.random(in: 0...30, using: &rng)) : .string("fixed by \(slot)")
                choice = .value(pick)
            }
            try await store.resolveConflict(id: report.id, choice, person: nil)
            let request: HistoryModel.Request =
                report.field == Conflict.existenceField
                ? .resolveExistence(deleted: pick.boolValue!) : .resolveField(field: report.field, value: pick)
            try track(slot, key, c, request, before: before)
            totals.resolutions += 1
            return true
        }

        func track(_ slot: String, _ key: RecordKey, _ c: CollectionSchema, _ request: HistoryModel.Request, before: RecordState?) throws {
            let store = stores[slot]!
            guard let after = try store.record(key.collection, key.id)?.state else { throw SimFailure("\(key): gone right after a write at \(slot)") }
            let writer = store.writer
            let dot = Dot(writer, after.clock[writer])
            guard after.clock[writer] == (before?.clock[writer] ?? 0) + 1, after.existence.map(\.dot) == [dot] else {
                throw SimFailure("\(key): a write at \(writer) did not make exactly one dot: \(before?.clock ?? VectorClock()) -> \(after.clock)")
            }
            guard !model.isIssued(dot, in: key) else { throw SimFailure("\(key): dot \(dot) issued twice (a reused write name)") }
            model.record(request, at: index(slot), key: key, collection: c, writer: writer, dot: dot)
            totals.writes += 1
            note("\(writer) \(request) on \(key) at \(dot)")
            if let failure = modelCheck(after, key, c, at: slot) {
                throw SimFailure("after \(request) at \(writer): \(failure)")
            }
        }

        // MARK: Syncs

        /// `client` syncs with `server`; with `faults`, the transport may fail in planned ways.
        /// Returns the faults injected. Only injected faults may make a sync fail, and, with
        /// station tokens, a `node_taken` refusal (the client then takes over next time).
        @discardableResult
        func sync(_ client: String, with server: String, faults: Bool) async throws -> [SimFaultKind] {
            var plan: [Int: SimFaultKind] = [:]
            if faults, rng.chance(0.45) {
                for _ in 0..<Int.random(in: 1...2, using: &rng) {
                    plan[Int.random(in: 1...10, using: &rng)] = SimFaultKind.allCases.randomElement(using: &rng)!
                }
            }
            let batch = Int.random(in: 1...50, using: &rng)
            let service = SyncService(storage: stores[server]!, authentication: .none)
            // The hub knows stations by their tokens; stations serve each other as trusted peers.
            let principal =
                !relay && server == SimulationTests.hub
                ? Principal(station: node(of: client), read: .all, write: .all, relay: operatorRelay.contains(client)) : .trustedPeer
            let transport = FaultyTransport(
                inner: LoopbackTransport(service: service, principal: principal, caller: stores[client]!.writer.rawValue), plan: plan)
            var engine = SyncEngine(storage: stores[client]!, transport: transport, batchSize: batch)
            engine.takeOver = takeOverNext.contains(client)
            totals.syncs += 1
            do {
                let summary = try await engine.run()
                if engine.takeOver {
                    takeOverNext.remove(client)
                    totals.takeOvers += 1
                }
                totals.waitingSeen += summary.waiting
                if server == SimulationTests.hub { lastHubSync[client] = summary }
                note(
                    "sync \(client) with \(server) (batch \(batch)): pushed \(summary.pushed), pulled \(summary.pulled), waiting \(summary.waiting)"
                        + (transport.injected.isEmpty ? "" : ", survived \(transport.injected.map(\.rawValue))"))
            } catch let fault as SimFault {
                note("sync \(client) with \(server) (batch \(batch)): \(fault) at call \(transport.calls)")
                if fault.kind.isCrash { try restart(client) }
            } catch let error as SyncError where error.code == .nodeTaken && !relay {
                // Another database is this node at the hub: the clerk runs `station sync --take-over`.
                note("sync \(client) with \(server): refused, node taken; takes over next time")
                takeOverNext.insert(client)
            } catch {
                throw SimFailure("sync \(client) with \(server) (batch \(batch), faults \(plan)) failed: \(error)")
            }
            totals.faults += transport.injected.count
            return transport.injected
        }

        /// The client process died: close its store and open the file again (in memory: what it
        /// committed stays, as a file's would, in a new store object).
        func restart(_ slot: String) throws {
            switch backend {
            case .sqlite:
                try closeFile(slot)
                try open(slot: slot)
            case .memory:
                stores[slot] = memory(slot).copy()
            }
            note("restart \(slot)")
        }

        // MARK: Files

        /// Every write some replica other than `slot` holds, and those `file` holds.
        func writesHeld(exceptIn slot: String) throws -> Set<HistoryModel.WriteID> {
            var held = Set<HistoryModel.WriteID>()
            for other in slots where other != slot {
                for key in model.writtenKeys {
                    _ = try learn(other, key)
                    held.formUnion(model.knowledge(index(other), key))
                }
            }
            return held
        }

        func writesIn(_ slot: String) throws -> Set<HistoryModel.WriteID> {
            var held = Set<HistoryModel.WriteID>()
            for key in model.writtenKeys {
                _ = try learn(slot, key)
                held.formUnion(model.knowledge(index(slot), key))
            }
            return held
        }

        /// A backup of `slot`'s file (the store closed and opened again around the copy); in
        /// memory, a copy of the store as it is.
        func backUp(_ slot: String) throws {
            switch backend {
            case .sqlite:
                try closeFile(slot)
                let copy = newFile()
                try FileManager.default.copyItem(atPath: files[slot]!, toPath: copy)
                backups[slot] = copy
                try open(slot: slot)
            case .memory:
                memoryBackups[slot] = memory(slot).copy()
            }
            note("backup of \(slot)")
        }

        /// The backup is put back in place of the file (its watermark stays): the store opens
        /// it as restored, under a new incarnation.
        func restore(_ slot: String) throws {
            guard backups[slot] != nil || memoryBackups[slot] != nil else { return }
            let current = try writesIn(slot)
            let before = stores[slot]!.writer
            switch backend {
            case .sqlite:
                try closeFile(slot)
                let path = files[slot]!
                for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
                try FileManager.default.copyItem(atPath: backups[slot]!, toPath: path)
                try open(slot: slot)
            case .memory:
                // What the SQLite store does when its watermark finds the file restored.
                stores[slot] = memoryBackups[slot]!.copy(renewing: StationStore.makeIncarnation())
            }
            guard stores[slot]!.writer != before else { throw SimFailure("\(slot): restored from a backup but still writes as \(before)") }
            let lost = current.subtracting(try writesIn(slot)).subtracting(try writesHeld(exceptIn: slot))
            lostWithFiles.formUnion(lost)
            totals.restores += 1
            totals.lostWithFiles += lost.count
            note("restore \(slot) from its backup: now \(stores[slot]!.writer), \(lost.count) unsynced writes gone with the newer file")
        }

        /// The database is deleted and made again under its name (a reinstall).
        func reinit(_ slot: String) throws {
            let current = try writesIn(slot)
            let lost = current.subtracting(try writesHeld(exceptIn: slot))
            if backend == .sqlite {
                try closeFile(slot)
                for suffix in ["", "-wal", "-shm", ".watermark"] { try? FileManager.default.removeItem(atPath: files[slot]! + suffix) }
            }
            try create(slot: slot, node: node(of: slot))
            backups[slot] = nil
            memoryBackups[slot] = nil
            model.learnNothing(index(slot))
            lostWithFiles.formUnion(lost)
            totals.reinits += 1
            totals.lostWithFiles += lost.count
            note("reinit \(slot): now \(stores[slot]!.writer), \(lost.count) unsynced writes gone with the old file")
        }

        /// The database file is copied to a new place and used from there (a move to another
        /// machine): the copy takes a new incarnation and, at the hub, follows its original.
        func move(_ slot: String) throws {
            let before = stores[slot]!.writer
            switch backend {
            case .sqlite:
                try closeFile(slot)
                let path = newFile()
                for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: files[slot]! + suffix) {
                    try FileManager.default.copyItem(atPath: files[slot]! + suffix, toPath: path + suffix)
                }
                files[slot] = path
                try open(slot: slot)
            case .memory:
                stores[slot] = memory(slot).copy(renewing: StationStore.makeIncarnation())
            }
            guard stores[slot]!.writer != before, stores[slot]!.lineage.last == before else {
                throw SimFailure("\(slot): a copied file writes as \(stores[slot]!.writer) with lineage \(stores[slot]!.lineage)")
            }
            totals.moves += 1
            note("move \(slot): now \(stores[slot]!.writer)")
        }

        /// A second database under one name (trusted peers only): a copy of `slot`'s file that
        /// goes on beside it.
        func secondDatabase(_ slot: String) throws {
            let second = node(of: slot) + "#2"
            guard relay, !slots.contains(second) else { return }
            switch backend {
            case .sqlite:
                try closeFile(slot)
                let path = newFile()
                for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: files[slot]! + suffix) {
                    try FileManager.default.copyItem(atPath: files[slot]! + suffix, toPath: path + suffix)
                }
                try open(slot: slot)
                slots.append(second)
                files[second] = path
                try open(slot: second)
            case .memory:
                slots.append(second)
                stores[second] = memory(slot).copy(renewing: StationStore.makeIncarnation())
            }
            totals.secondDatabases += 1
            note("second database \(second): \(stores[second]!.writer)")
        }

        // MARK: The schedule

        func run() async throws {
            let steps = Int.random(in: 40...120, using: &rng)
            for _ in 0..<steps {
                tick()
                totals.steps += 1
                let slot = slots.randomElement(using: &rng)!
                let isStation = slot != SimulationTests.hub
                switch Int.random(in: 0..<45, using: &rng) {
                case 0..<18:
                    try localWrite(at: slot)
                case 18..<22:
                    if try await !resolve(at: slot) { try localWrite(at: slot) }
                case 22:
                    try backUp(slot)
                case 23 where isStation:
                    try restore(slot)
                case 24 where isStation && rng.chance(0.5):
                    try reinit(slot)
                case 25 where isStation:
                    if rng.chance(0.5) { try move(slot) } else { try secondDatabase(slot) }
                case 40..<43:
                    try await hostileMove()
                case 43:
                    try await hostileChangeFile()
                case 44:
                    try await hostileLANPeer()
                default:
                    // Station with the hub (either way round) or station with station.
                    var pair: (String, String)
                    let stations = slots.filter { $0 != SimulationTests.hub }
                    if rng.chance(0.6) {
                        let s = stations.randomElement(using: &rng)!
                        pair = rng.chance(0.8) ? (s, SimulationTests.hub) : (SimulationTests.hub, s)
                    } else {
                        // Two databases of one node do not sync with each other (each is the node).
                        let a = stations.randomElement(using: &rng)!
                        let b = stations.filter { node(of: $0) != node(of: a) }.randomElement(using: &rng)!
                        pair = (a, b)
                    }
                    let injected = try await sync(pair.0, with: pair.1, faults: true)
                    // Sometimes the client tries again at once, as a retrying transport would.
                    if !injected.isEmpty, rng.chance(0.5) { try await sync(pair.0, with: pair.1, faults: true) }
                }
            }
            // A full round until quiet, no faults: every station with the hub, every station with
            // every other (what waits at the hub goes once its writers' own databases bring it),
            // and with the hub again.
            let stations = slots.filter { $0 != SimulationTests.hub }
            for s in stations { try await sync(s, with: SimulationTests.hub, faults: false) }
            for a in stations { for b in stations where node(of: a) != node(of: b) { try await sync(a, with: b, faults: false) } }
            for _ in 0..<3 { for s in stations { try await sync(s, with: SimulationTests.hub, faults: false) } }
            // What still waits holds writes no database of their own node can bring any more
            // (its only copies are mixed with others' writes after a re-init or a restore): the
            // operator gives the station a relay token, as the sync summary advises.
            var relayed = false
            // Not for records the hub refuses from a station (mallory's LAN forgeries: the station
            // that took one lists it as refused, those it spread to on the LAN as waiting for it):
            // relaying would vouch for them.
            // (The sim knows which records mallory forged; an operator cannot tell a forgery waiting
            // for the station that took it from honest writes waiting for a database gone: a relay
            // token vouches for what it relays.)
            for s in stations where try await stores[s]!.waitingCount(peer: NodeID(unchecked: SimulationTests.hub)) > 0 {
                // First the operator forgets, with `station forget`, the forged records waiting
                // there that hold none of the station's own writes (junk a rogue peer brought).
                var waiting = try await stores[s]!.waitingChanges(peer: NodeID(unchecked: SimulationTests.hub), after: nil, limit: 1000).map {
                    RecordKey($0.collection, $0.id)
                }
                for key in waiting where poisoned.contains(key) {
                    if (try? stores[s]!.forget([key])) != nil { note("\(s): the operator forgets the forged \(key)") }
                }
                waiting = try await stores[s]!.waitingChanges(peer: NodeID(unchecked: SimulationTests.hub), after: nil, limit: 1000).map {
                    RecordKey($0.collection, $0.id)
                }
                guard !waiting.isEmpty, lastHubSync[s].map({ $0.refusedByPeer == 0 }) ?? true, !waiting.contains(where: poisoned.contains) else {
                    continue
                }
                note("\(s): \(waiting.count) records still wait; the operator gives it a relay token")
                operatorRelay.insert(s)
                totals.operatorRelays += 1
                relayed = true
            }
            if relayed { for _ in 0..<2 { for s in stations { try await sync(s, with: SimulationTests.hub, faults: false) } } }
            try check()
        }

        // MARK: Checks

        func snapshot(_ slot: String) throws -> [String: String] {
            var result: [String: String] = [:]
            for c in stores[slot]!.schema.collectionNames {
                for r in try stores[slot]!.records(in: c, includeDeleted: true) { result["\(c)/\(r.id)"] = r.state.canonicalText }
            }
            return result
        }

        func check() throws {
            // 1. Every replica identical.
            // Mallory's LAN forgeries aside (below).
            let forged = Set(poisoned.map(\.description))
            let reference = try snapshot(SimulationTests.hub)
            for slot in slots where slot != SimulationTests.hub {
                let mine = try snapshot(slot)
                for key in Set(reference.keys).union(mine.keys).sorted() where reference[key] != mine[key] && !forged.contains(key) {
                    throw SimFailure("divergence: \(key) on hub \(reference[key] ?? "missing") but on \(slot) \(mine[key] ?? "missing")")
                }
            }
            // 2. Every replica as the model says, and every write there but those lost with a file.
            for slot in slots {
                var held = Set<HistoryModel.WriteID>()
                for key in model.writtenKeys.sorted(by: { "\($0)".utf8.lexicographicallyPrecedes("\($1)".utf8) }) {
                    let c = SimulationTests.schema.collections[key.collection]!
                    let state = try learn(slot, key)
                    if let failure = model.check(state, key: key, collection: c, replica: index(slot)) {
                        // A station's copy of a record mallory forged on the LAN may stay forged
                        // (it had nothing to check it against); the hub never takes it. Most such
                        // copies are named at every sync with the hub (refused, or waiting for
                        // the station that took the forgery); a copy that a pull made on top of
                        // the record deleted there is not (a relayed state may leave out a deleted
                        // record's fields: recreates before protocol 2 did), counted.
                        guard poisoned.contains(key) else { throw SimFailure("after the full round, at \(slot): \(failure)") }
                        if slot == SimulationTests.hub {
                            // A known limit: a station that took the forgery and had written the
                            // record concurrently holds a state whose one clock says its write
                            // saw the value left out, which the hub cannot tell from a write that
                            // did (a state does not say which values each write saw).
                            totals.forgeriesLaundered += 1
                            note("mallory's forgery of \(key) reached the hub through a concurrent write: \(failure)")
                            continue
                        }
                        if let last = lastHubSync[slot],
                            last.refusedByPeerRecords.contains(key.description) || last.waitingRecords.contains(key.description)
                        {
                            totals.forgedCopiesListed += 1
                        } else {
                            totals.forgedCopiesUnlisted += 1
                        }
                        continue
                    }
                    held.formUnion(model.knowledge(index(slot), key))
                }
                // Writes on a forged record confined to stations holding the forgery are listed
                // there (above), not lost silently.
                let missing = Set(model.writes.filter { !poisoned.contains($0.key) }.map(\.id)).subtracting(held).subtracting(lostWithFiles)
                if let id = missing.min() {
                    let w = model.writes[id]
                    throw SimFailure("lost write: \(w.dot) (\(w.request)) on \(w.key) is missing at \(slot) (\(missing.count) missing)")
                }
            }
            for (key, _) in reference where !model.writtenKeys.contains(where: { "\($0)" == key }) {
                throw SimFailure("\(key) exists but nobody wrote it")
            }
            // 3. SQLite's own check of every file.
            for slot in slots where backend == .sqlite {
                var config = Configuration()
                config.readonly = true
                let queue = try DatabaseQueue(path: files[slot]!, configuration: config)
                let result = try queue.read { try String.fetchAll($0, sql: "PRAGMA integrity_check") }
                try queue.close()
                guard result == ["ok"] else { throw SimFailure("integrity_check on \(slot): \(result)") }
            }
        }

        func close() {
            for store in stores.values { try? (store as? StationStore)?.close() }
        }
    }

    struct SimFailure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    @Test(arguments: Backend.allCases)
    func randomSchedulesWithFaultsConvergeAndLoseNothing(on backend: Backend) async throws {
        let started = Date()
        let runs = backend == .memory ? Self.memoryRuns : Self.runs
        let seeds = Self.seedOverride.map { [$0] } ?? (0..<runs).map { Self.baseSeed &+ UInt64($0) }
        var totals = Totals()
        var failures: [String] = []
        var divergences = 0, lost = 0
        for seed in seeds {
            let schedule = try Schedule(seed: seed, backend: backend)
            defer { schedule.close() }
            do {
                try await schedule.run()
            } catch {
                let text = "\(error)"
                if text.hasPrefix("divergence") { divergences += 1 }
                if text.hasPrefix("lost write") { lost += 1 }
                failures.append(
                    "seed \(seed) (STATIONSYNC_SIM_SEED=\(seed)): \(text)\n  last steps:\n    "
                        + schedule.log.suffix(12).joined(separator: "\n    "))
            }
            totals.add(schedule.totals)
            if failures.count >= 3 { break }
        }
        let seconds = Date().timeIntervalSince(started)
        print(
            "simulation (\(backend.rawValue)): \(totals.schedules) schedules from seed \(seeds.first ?? 0) (\(totals.relaySchedules) with trusted peers, "
                + "\(totals.schedules - totals.relaySchedules) with station tokens), \(totals.steps) steps, \(totals.faults) faults injected, "
                + "\(divergences) divergences, \(lost) lost writes; \(totals.writes) writes (\(totals.resolutions) resolutions), "
                + "\(totals.unchanged) unchanged, \(totals.refused) refused as predicted, \(totals.syncs) syncs; \(totals.restores) restores, "
                + "\(totals.reinits) re-inits, \(totals.moves) moves, \(totals.secondDatabases) second databases, \(totals.takeOvers) take-overs, "
                + "\(totals.waitingSeen) waiting, \(totals.operatorRelays) stations given a relay token for records no own database could bring, "
                + "\(totals.lostWithFiles) unsynced writes gone with restored or deleted files; "
                + "hostile node: \(totals.hostileAttempts) forging attempts, all refused ("
                + totals.hostileRefused.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ") + "), "
                + "\(totals.forgeriesTaken) LAN forgeries taken by stations without a copy to check them against, refused by the hub "
                + "(\(totals.forgedCopiesListed + totals.forgedCopiesUnlisted) copies still forged after the full round, \(totals.forgedCopiesListed) of them named at each sync with the hub; "
                + "\(totals.forgeriesLaundered) reached the hub through a concurrent write of a station that took one); "
                + String(format: "%.1f s, %.0f schedules per minute", seconds, Double(totals.schedules) * 60 / max(seconds, 0.001))
                + ", \(failures.count) failed schedules")
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }
}
