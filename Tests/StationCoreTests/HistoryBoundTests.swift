import Testing
@testable import StationCore
import StationTestSupport

/// The resolution history's bound (issue 13, finding 3): a record's history keeps its newest
/// ``RecordState/maxResolutions`` entries, on every replica alike, so a join never builds a state
/// past the limit and a write never fails because the history is full.
@Suite struct HistoryBoundTests {
    let cases = Fixtures.cases
    static let max = RecordState.maxResolutions

    /// An entry of a made-up conflict, ranked by `ms` (and the writer, for ties).
    static func entry(_ n: Int, ms: UInt64, by writer: NodeID = "labor") -> Resolution {
        let dot = Dot(writer, UInt64(n + 1))
        return Resolution(
            conflictID: String(format: "%016llx", UInt64(n)), field: "notes", policy: .lww, how: .write, by: dot, time: Fixtures.t(ms),
            values: [DottedValue(dot: dot, time: Fixtures.t(ms), value: "a"), DottedValue(dot: Dot("civil", 1), time: Fixtures.t(0), value: "b")],
            result: "a")
    }

    /// The newest `max` of a set, the way the definition reads (not the way the code does it).
    static func newest(_ entries: Set<Resolution>) -> [Resolution] {
        let ranked = entries.sorted { ($0.time, $0.by, $0.conflictID) > ($1.time, $1.by, $1.conflictID) }
        return Array(ranked.prefix(max)).sorted(by: Resolution.precedes)
    }

    @Test("Keeping the newest 4096 of a union is a join: commutative, associative, idempotent, and the newest of everything seen")
    func theBoundedUnionIsAJoin() async {
        var rng = SeededRandom(seed: 0x4157_0213)
        // A pool of entries with times that often tie (ranked then by writer and conflict id).
        let pool = (0..<(Self.max * 2 + 500)).map { n in
            Self.entry(n, ms: UInt64.random(in: 0...3_000, using: &rng), by: ["labor", "civil", "justice"].randomElement(using: &rng)!)
        }
        for _ in 0..<12 {
            func draw() -> [Resolution] {
                let size = Int.random(in: 0...(Self.max), using: &rng)
                return Resolution.compacted(Array(pool.shuffled(using: &rng).prefix(size)))
            }
            let (a, b, c) = (draw(), draw(), draw())
            let ab = RecordState.union(a, b)
            #expect(ab.count <= Self.max)
            #expect(ab == RecordState.union(b, a))
            #expect(RecordState.union(ab, c) == RecordState.union(a, RecordState.union(b, c)))
            #expect(RecordState.union(ab, ab) == ab && RecordState.union(ab, a) == ab)
            #expect(ab == Self.newest(Set(a).union(b)))
        }
    }

    /// The bound as its definition reads: newest first, an entry kept while fewer than
    /// `bound.entries` are newer and those take at most `bound.bytes`.
    static func bounded(_ entries: Set<Resolution>, _ bound: Resolution.Bound) -> [Resolution] {
        let ranked = entries.sorted { ($0.time, $0.by, $0.conflictID) > ($1.time, $1.by, $1.conflictID) }
        var kept: [Resolution] = []
        var weight = 0
        for r in ranked {
            if kept.count >= bound.entries || weight > bound.bytes { break }
            kept.append(r)
            weight += r.encodedSize
        }
        return kept.sorted(by: Resolution.precedes)
    }

    /// An entry whose values take about `bytes`.
    static func heavyEntry(_ n: Int, ms: UInt64, bytes: Int, by writer: NodeID = "labor") -> Resolution {
        var r = entry(n, ms: ms, by: writer)
        r.values[1].value = .string(String(repeating: "b", count: bytes))
        return r
    }

    @Test("Cutting a union by the bytes of the newer entries is a join too, whatever the entries weigh")
    func theByteBoundedUnionIsAJoin() async {
        var rng = SeededRandom(seed: 0x4157_1313)
        // A small bound, so that thousands of draws cut by bytes, by count and by both.
        let bound = Resolution.Bound(entries: 24, bytes: 3_000)
        let pool = (0..<400).map { n in
            Self.heavyEntry(
                n, ms: UInt64.random(in: 0...300, using: &rng), bytes: [0, 10, 200, 900, 2_500, 4_000].randomElement(using: &rng)!,
                by: ["labor", "civil", "justice"].randomElement(using: &rng)!)
        }
        var cutByBytes = 0
        for _ in 0..<400 {
            func draw() -> [Resolution] {
                Resolution.compacted(Array(pool.shuffled(using: &rng).prefix(Int.random(in: 0...40, using: &rng))), bound: bound)
            }
            let (a, b, c) = (draw(), draw(), draw())
            let ab = RecordState.union(a, b, bound: bound)
            #expect(ab == RecordState.union(b, a, bound: bound))
            #expect(RecordState.union(ab, c, bound: bound) == RecordState.union(a, RecordState.union(b, c, bound: bound), bound: bound))
            #expect(RecordState.union(ab, ab, bound: bound) == ab && RecordState.union(ab, a, bound: bound) == ab)
            #expect(ab == Self.bounded(Set(a).union(b), bound))
            // What is kept: the newer entries of the oldest kept take at most the bound.
            let weights = ab.map(\.encodedSize).reduce(0, +)
            let oldest = Resolution.oldestKept(in: ab, bound: bound)
            #expect(weights - (oldest?.encodedSize ?? 0) <= bound.bytes || oldest == nil && weights <= bound.bytes)
            if ab.count < bound.entries, oldest != nil { cutByBytes += 1 }
        }
        #expect(cutByBytes > 100)
    }

    @Test("An entry's canonical bytes, written straight from it, are its JSON's")
    func anEntryWritesItsJSON() async {
        var rng = SeededRandom(seed: 0x4157_1314)
        for n in 0..<200 {
            var r = Self.heavyEntry(n, ms: UInt64.random(in: 0...UInt64(1) << 40, using: &rng), bytes: n % 7)
            r.values[0].value =
                [.string("caf\u{E9} \"q\"\n\u{1}"), .int(-Int64(n)), .double(1.5), .null, .bool(true), ["k": "v", "\u{4E2D}": 1]][n % 6]
            r.result = r.values[n % 2].value
            if n % 3 == 0 { r.person = "\u{9648} Chen" }
            if n % 4 == 0 { (r.field, r.policy, r.how) = (Conflict.existenceField, .deleteWins, .accept) }
            var direct: [UInt8] = [], viaJSON: [UInt8] = []
            r.write(to: &direct)
            r.json.write(to: &viaJSON)
            #expect(direct == viaJSON)
            #expect(r.encodedSize == viaJSON.count)
        }
    }

    @Test("A record whose replicas hold heavy histories joins within the state limit; a history past the bound reads cut")
    func heavyHistoriesJoinWithinTheStateLimit() async throws {
        var base = RecordState()
        try base.put(["notes": "start"], by: "hub", at: Fixtures.t(0), in: cases, id: "r1")
        var a = base, b = base
        try a.put(["notes": "a"], by: "labor", at: Fixtures.t(1), in: cases, id: "r1")
        try b.put(["notes": "b"], by: "civil", at: Fixtures.t(1), in: cases, id: "r1")
        // Entries a decoder takes: each ends hub's value and a 1 MiB one of another node.
        let mib = 1 << 20
        func heavy(_ n: Int, ms: UInt64, by writer: NodeID, other: NodeID) -> Resolution {
            Resolution(
                conflictID: String(format: "%016llx", UInt64(n)), field: "notes", policy: .lww, how: .write, by: Dot(writer, 1),
                time: Fixtures.t(ms),
                values: [
                    DottedValue(dot: Dot("hub", 1), time: Fixtures.t(0), value: "start"),
                    DottedValue(dot: Dot(other, 1), time: Fixtures.t(1), value: .string(String(repeating: "b", count: mib))),
                ],
                result: "a")
        }
        let labors = (0..<9).map { heavy($0, ms: UInt64(2 * $0 + 2), by: "labor", other: "civil") }
        let civils = (9..<18).map { heavy($0, ms: UInt64(2 * $0 - 15), by: "civil", other: "labor") }
        // Nine entries of 1 MiB on each side: once, each side's 9 MiB of history would have joined
        // to a state past 16 MiB (over_limit: the two replicas of the record never converged).
        a.resolutions = Resolution.compacted(labors)
        b.resolutions = Resolution.compacted(civils)
        for side in [a, b] {
            // The three newest take a bit over 3 MiB, the four newest over 4 MiB: four are kept.
            #expect(side.resolutions.count == 4)
            #expect(side.canonicalBytes.count < Limits.historyBytes + 2 * mib)
        }
        let joined = a.merged(with: b)
        #expect(joined == b.merged(with: a))
        #expect(joined.resolutions == Self.bounded(Set(a.resolutions).union(b.resolutions), .standard))
        #expect(joined.resolutions.count == 4 && joined.canonicalBytes.count < Limits.stateBytes)
        try joined.checkJoinBounds(in: cases, id: "r1")
        // A state written before the byte bound (or by hand) holding all eighteen reads cut, as
        // every replica keeps it.
        var legacy = joined
        legacy.resolutions = (labors + civils).sorted(by: Resolution.precedes)
        #expect(legacy.canonicalBytes.count > Limits.stateBytes)
        #expect(try RecordState(jsonBytes: legacy.canonicalBytes, collection: cases) == joined)
    }

    @Test("Two replicas each near a full history, ending conflicts concurrently, join within the bound whatever the order")
    func concurrentFullHistoriesJoinWithinTheBound() async throws {
        // Shared past: a record whose history holds 4090 entries.
        var base = RecordState()
        try base.put(["notes": "start"], by: "hub", at: Fixtures.t(0), in: cases, id: "r1")
        base.resolutions = Resolution.compacted((0..<(Self.max - 6)).map { Self.entry($0, ms: UInt64($0), by: "hub") })
        // Three replicas, three rounds of concurrent edits each ended by the next write: twelve
        // more entries in all, so the joined history overflows and the oldest must fall off.
        var replicas = [base, base, base]
        let writers: [NodeID] = ["labor", "civil", "justice"]
        var ms: UInt64 = 10_000
        for _ in 0..<4 {
            for i in replicas.indices {
                ms += 1
                try replicas[i].put(["notes": .string("\(writers[i]) \(ms)")], by: writers[i], at: Fixtures.t(ms), in: cases, id: "r1")
            }
            // Everybody meets everybody: each register now holds three concurrent values.
            let joined = replicas.reduce(replicas[0]) { $0.merged(with: $1) }
            replicas = replicas.map { _ in joined }
        }
        for i in replicas.indices {
            ms += 1
            try replicas[i].put(["notes": .string("settled by \(writers[i])")], by: writers[i], at: Fixtures.t(ms), in: cases, id: "r1")
        }
        let orders = [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]]
        let results = orders.map { o in o.dropFirst().reduce(replicas[o[0]]) { $0.merged(with: replicas[$1]) } }
        for r in results {
            #expect(r == results[0])
            #expect(r.resolutions.count == Self.max)
            try r.check(against: cases)
            try r.checkJoinBounds(in: cases, id: "r1")
        }
        // The oldest entries fell off; the newest (the last settling writes') are there.
        #expect(!results[0].resolutions.contains { $0.conflictID == String(format: "%016llx", UInt64(0)) })
        #expect(results[0].resolutions.contains { $0.by.node == "justice" && $0.result == "settled by justice" })
    }

    @Test("A write that ends a conflict on a record whose history is full goes on; the oldest entry falls off")
    func aWriteEndingAConflictOnAFullHistoryGoesOn() async throws {
        var a = try { () throws -> RecordState in
            var s = RecordState()
            try s.put(["notes": "a"], by: "labor", at: Fixtures.t(5_000), in: cases, id: "r1")
            return s
        }()
        var b = RecordState()
        try b.put(["notes": "b"], by: "civil", at: Fixtures.t(5_000), in: cases, id: "r1")
        a.merge(b)
        a.resolutions = Resolution.compacted((0..<Self.max).map { Self.entry($0, ms: UInt64($0), by: "hub") })
        let oldest = a.resolutions.min { Resolution.isNewer($1, than: $0) }!
        try a.put(["notes": "settled"], by: "labor", at: Fixtures.t(9_000), in: cases, id: "r1")
        #expect(a.resolutions.count == Self.max)
        #expect(!a.resolutions.contains(oldest))
        #expect(a.resolutions.contains { $0.result == "settled" && $0.how == .write })
        try a.check(against: cases)
    }

    /// Found trying the bound with the real binaries: a station token filled a record's history
    /// with 4096 entries of its own, each "ending" a conflict between two of its own writes (its
    /// resolving write among them), newer than every honest entry, so every honest entry fell
    /// off. No node ever makes such an entry: every receiver refuses it.
    @Test("An entry that ends a conflict with its own resolving write, or between two values of one node, is refused on arrival")
    func anEntryNoNodeMakesIsRefused() async throws {
        var s = RecordState()
        for (n, v) in ["a", "b", "c"].enumerated() {
            try s.put(["notes": .string(v)], by: "mallory", at: Fixtures.t(UInt64(n + 1)), in: cases, id: "r1")
        }
        var civil = RecordState()
        try civil.put(["phone": "1"], by: "civil", at: Fixtures.t(1), in: cases, id: "r1")
        s.merge(civil)
        func entry(by: Dot, _ dots: [Dot], policy: ConflictPolicy = .lww) -> Resolution {
            Resolution(
                conflictID: String(format: "%016llx", UInt64(7)), field: "notes", policy: policy, how: .write, by: by, time: Fixtures.t(2),
                values: dots.map { DottedValue(dot: $0, time: Fixtures.t(1), value: "x") }, result: "x")
        }
        var forged = s
        forged.resolutions = [entry(by: Dot("mallory", 2), [Dot("mallory", 2), Dot("mallory", 1)])]
        #expect { try RecordState(json: forged.json) } throws: {
            ($0 as? CoreError)?.code == .invalidVersion && "\($0)".contains("no earlier than the resolving write")
        }
        forged = s
        forged.resolutions = [entry(by: Dot("mallory", 3), [Dot("mallory", 2), Dot("mallory", 1)])]
        #expect { try RecordState(json: forged.json) } throws: { "\($0)".contains("two values of mallory") }
        forged = s
        forged.resolutions = [entry(by: Dot("civil", 1), [Dot("mallory", 2), Dot("mallory", 1)])]
        #expect { try RecordState(json: forged.json) } throws: { "\($0)".contains("two values of mallory") }
        // A counter's total and stocktake of one node are two kinds: an entry may list both.
        forged.resolutions = [entry(by: Dot("civil", 1), [Dot("mallory", 2), Dot("mallory", 1)], policy: .counter)]
        _ = try RecordState(json: forged.json)
    }
}
