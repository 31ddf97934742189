import Foundation
import StationCore
import StationStore
import StationSync
import Testing
@testable import StationSync

/// Issue 13, finding 1 and 2: nesting depth differed between storage and the wire. A local `put`
/// took values nested 58-60 deep, which every push then refused (the envelope adds levels to the
/// 64-level document limit): nothing else of that station was pushed again. A put of a value
/// nested 61 deep failed and was committed all the same. Now a value nests at most
/// ``Limits/valueDepth`` (32) levels, checked before a write commits and on every state received,
/// and whatever is stored travels in every message.
@Suite struct ValueDepthTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    let t = HLCTimestamp(wall: UInt64(Date().timeIntervalSince1970 * 1000), logical: 0)

    func store(_ name: String) throws -> StationStore {
        try StationStore.create(path: "\(dir.path)/\(name).sqlite", node: NodeID(validating: name), schema: syncSchema)
    }

    func sync(_ client: StationStore, with server: StationStore, principal: Principal = .trustedPeer) async throws -> SyncSummary {
        let transport = LoopbackTransport(
            service: SyncService(storage: server, authentication: .none), principal: principal, caller: client.node.rawValue,
            callerTime: { client.wallTime() })
        return try await SyncEngine(storage: client, transport: transport).run()
    }

    /// `[[…[leaf]…]]`: `depth` levels of arrays (objects every other level).
    static func nested(_ depth: Int, leaf: JSONValue = "x") -> JSONValue {
        var v = leaf
        for level in 0..<depth { v = level % 2 == 0 ? .array([v]) : .object(["k": v]) }
        return v
    }

    @Test("Nesting is counted in levels of arrays and objects")
    func nestingIsCounted() async {
        #expect(JSONValue.string("a").nesting() == 0)
        #expect(JSONValue.array([]).nesting() == 1)
        #expect(Self.nested(7).nesting() == 7)
        #expect(Self.nested(Limits.valueDepth).nestsWithinLimit)
        #expect(!Self.nested(Limits.valueDepth + 1).nestsWithinLimit)
        #expect(Self.nested(200).nesting() > Limits.valueDepth)
    }

    @Test("A value at the limit is stored and travels: push, pull and a second hop")
    func aValueAtTheLimitTravels() async throws {
        let hub = try store("hub"), labor = try store("labor"), civil = try store("civil")
        let deep = Self.nested(Limits.valueDepth)
        try labor.put("cases", "deep", ["notes": deep])
        // Resolutions copy values two levels deeper into the history: a conflict on it, resolved.
        try civil.put("cases", "deep", ["notes": "civil's"])
        _ = try await sync(labor, with: hub, principal: Principal(station: "labor", read: .all, write: .all, relay: false))
        _ = try await sync(civil, with: hub, principal: Principal(station: "civil", read: .all, write: .all, relay: false))
        let conflict = try #require(try civil.conflictReports(status: .open).first { $0.recordID == "deep" })
        try civil.resolveConflict(id: conflict.id, .value(Self.nested(Limits.valueDepth, leaf: "settled")))
        let pushed = try await sync(civil, with: hub, principal: Principal(station: "civil", read: .all, write: .all, relay: false))
        #expect(pushed.pushed == 1)
        let pulled = try await sync(labor, with: hub, principal: Principal(station: "labor", read: .all, write: .all, relay: false))
        #expect(pulled.overLimit == 0)
        #expect(try labor.record("cases", "deep")?.state == hub.record("cases", "deep")?.state)
        #expect(try labor.record("cases", "deep")?.state.resolutions.count == 1)
    }

    @Test("A put or a resolution of a value past the limit is refused, names the field, and commits nothing")
    func aWritePastTheLimitCommitsNothing() async throws {
        let labor = try store("labor")
        try labor.put("cases", "r", ["notes": "a"])
        let before = try labor.everyRow()
        for depth in [Limits.valueDepth + 1, 61, 64] {
            #expect { try labor.put("cases", "r", ["title": Self.nested(depth)]) } throws: {
                ($0 as? CoreError)?.code == .beyondLimit && "\($0)".contains("cases/r") && "\($0)".contains("\"title\"")
                    && "\($0)".contains("at most \(Limits.valueDepth)")
            }
            #expect { try labor.put("cases", "new", ["title": Self.nested(depth)]) } throws: { ($0 as? CoreError)?.code == .beyondLimit }
        }
        var other = RecordState()
        try other.put(["notes": "b"], by: "civil", at: t, in: syncSchema.collection("cases"), id: "r")
        try labor.write { tx in _ = try tx.merge("cases", "r", other, from: "civil") }
        let conflicted = try labor.everyRow()
        let conflict = try #require(try labor.conflictReports(status: .open).first)
        #expect { try labor.resolveConflict(id: conflict.id, .value(Self.nested(40))) } throws: { ($0 as? CoreError)?.code == .beyondLimit }
        #expect(try labor.everyRow() == conflicted)
        #expect(try labor.record("cases", "new") == nil)
        _ = before
    }

    @Test("A received state past the limit is left out (over_limit), and the others of the push are taken")
    func aReceivedStatePastTheLimitIsLeftOut() async throws {
        let hub = try store("hub")
        var deep = RecordState()
        // Made by hand, as an older node could have stored it.
        deep.clock = VectorClock()
        let dot = deep.clock.increment("labor")
        deep.existence = [DottedValue(dot: dot, time: t, value: true)]
        deep.fields["notes"] = [DottedValue(dot: dot, time: t, value: Self.nested(40))]
        #expect { try deep.check(against: syncSchema.collection("cases")) } throws: { ($0 as? CoreError)?.code == .beyondLimit }
        var fine = RecordState()
        try fine.put(["notes": "fine"], by: "labor", at: t, in: syncSchema.collection("cases"), id: "ok")
        let body = PushRequest.encode(
            node: "labor",
            changes: [("cases", "deep", 1, deep.canonicalText), ("cases", "ok", 2, fine.canonicalText)])
        let response = try await SyncService(storage: hub, authentication: .none)
            .push(body: body, principal: Principal(station: "labor", read: .all, write: .all, relay: false))
        #expect(response.results.map(\.result.rawValue) == [MergeResult.overLimit.rawValue, MergeResult.created.rawValue])
        #expect(try hub.record("cases", "deep") == nil)
        #expect(try hub.record("cases", "ok") != nil)

        // One served by an older node: a pull leaves it out and lists it, and the sync completes.
        let station = try store("civil")
        let peer = SimulationTests.Schedule.RoguePeer(
            database: "old", schema: syncSchema,
            change: WireChange(collection: "cases", id: "deep", seq: 1, stateBytes: ArraySlice(deep.canonicalBytes)))
        let pulled = try await SyncEngine(storage: station, transport: peer).run()
        #expect(pulled.overLimit == 1 && pulled.overLimitRecords == ["cases/deep"])
        #expect(try station.record("cases", "deep") == nil)
    }
}
