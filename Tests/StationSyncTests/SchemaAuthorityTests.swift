import Foundation
import StationCore
import StationStore
import StationSync
import Testing
@testable import StationSync

/// Issue 12, finding 8: the schema has one source of truth. A station takes schema additions from
/// its hub (or a peer the operator trusts with them); what another peer declares beyond that
/// waits, with the records that need it; additions are bounded and never kept from a failed sync;
/// the hub can add a field with any policy.
@Suite struct SchemaAuthorityTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    func store(_ name: String, _ schema: Schema = syncSchema) throws -> StationStore {
        try StationStore.create(path: "\(dir.path)/\(name).sqlite", node: NodeID(validating: name), schema: schema)
    }

    let asStation = Principal(station: "a", read: .all, write: .all, relay: false)

    @discardableResult
    func sync(
        _ client: StationStore, _ server: StationStore, principal: Principal = .trustedPeer, trustSchema: Bool = false
    ) async throws -> SyncSummary {
        let transport = LoopbackTransport(
            service: SyncService(storage: server, authentication: .none), principal: principal, caller: client.node.rawValue)
        var engine = SyncEngine(storage: client, transport: transport)
        engine.trustSchema = trustSchema
        return try await engine.run()
    }

    func extended(_ change: (inout Schema) -> Void) -> Schema {
        var s = syncSchema
        change(&s)
        return s
    }

    @Test("The hub adds a field with a non-default policy: stations take it")
    func theHubCanAddAFieldWithAnyPolicy() async throws {
        let hubSchema = extended { $0.collections["stock"]!.fields["expiry"] = .manual }
        let hub = try store("hub", hubSchema)
        try hub.put("stock", "rice", ["expiry": "2027-01-01"])
        let a = try store("a")
        try await sync(a, hub, principal: asStation)
        #expect(a.schema.collections["stock"]?.fields["expiry"] == .manual)
        #expect(try a.record("stock", "rice")?.view.fields["expiry"] == "2027-01-01")
    }

    @Test("A LAN peer's additions wait, with the records that need them; a trusted peer's are taken")
    func aLANPeersAdditionsWait() async throws {
        let rogueSchema = extended { s in
            s.collections["stock"]!.fields["rationing"] = .counter
            for i in 0..<20 { s.collections["junk\(i)"] = CollectionSchema(name: "junk\(i)") }
        }
        let rogue = try store("rogue", rogueSchema)
        for i in 0..<20 { try rogue.put("junk\(i)", "x", ["a": 1]) }
        try rogue.add("stock", "rice", field: "rationing", amount: 5)
        try rogue.put("stock", "beans", ["name": "Beans"])
        let a = try store("a")
        let before = a.schema
        let summary = try await sync(a, rogue)
        #expect(a.schema == before, "a LAN peer changed the schema")
        #expect(summary.schemaWaiting == 21, "\(summary)")
        #expect(summary.schemaWaitingRecords.contains("stock/rice"))
        #expect(try a.record("stock", "rice") == nil && a.record("stock", "beans") != nil)
        // Then the hub declares rationing as manual: the station takes the hub's, no failure.
        let hub = try store("hub", extended { $0.collections["stock"]!.fields["rationing"] = .manual })
        try await sync(a, hub, principal: asStation)
        #expect(a.schema.collections["stock"]?.fields["rationing"] == .manual)
        await #expect(throws: SyncError.self) { try await sync(a, rogue) }  // now a real disagreement: refused, nothing taken
        // A peer the operator trusts with the schema.
        let b = try store("b")
        try await sync(b, rogue, trustSchema: true)
        #expect(b.schema.collections["junk0"] != nil && b.schema.collections["stock"]?.fields["rationing"] == .counter)
        #expect(try b.record("stock", "rice")?.view.fields["rationing"] == 5)
        // Review: records held back by an untrusted sync arrive once the peer is trusted.
        let c = try store("c")
        #expect(try await sync(c, rogue).schemaWaiting == 21)
        let trusted = try await sync(c, rogue, trustSchema: true)
        #expect(trusted.schemaAdditions.contains("junk0") && trusted.schemaAdditions.contains("stock.rationing"), "\(trusted)")
        #expect(try c.record("junk7", "x") != nil && c.record("stock", "rice")?.view.fields["rationing"] == 5)
    }

    @Test("Additions past the bounds are refused whole")
    func additionsAreBounded() async throws {
        let huge = extended { s in
            for i in 0..<(Schema.maxCollections + 1) { s.collections["c\(i)"] = CollectionSchema(name: "c\(i)") }
        }
        let hub = try store("hub", huge)
        let a = try store("a")
        let before = a.schema
        await #expect { try await sync(a, hub, principal: asStation) } throws: { "\($0)".contains("at most \(Schema.maxCollections)") }
        #expect(a.schema == before)
        #expect(try StationStore.open(path: a.path).schema == before)
    }

    /// A transport whose pulls fail.
    struct FailingPull: SyncTransport {
        var inner: LoopbackTransport
        func session() async throws -> PeerSession { try await inner.session() }
        func schema() async throws -> Schema { try await inner.schema() }
        func pull(cursor: FeedCursor, limit: Int) throws -> PullResponse { throw SyncError(.transport, "the network went away") }
        var preparePush: @Sendable ([UInt8]) throws -> PreparedPush { inner.preparePush }
        func push(_ body: PreparedPush) async throws -> PushResponse { try await inner.push(body) }
    }

    @Test("Additions are not kept from a failed sync that kept nothing needing them")
    func aFailedSyncKeepsNoAdditions() async throws {
        let hub = try store("hub", extended { $0.collections["rationing"] = CollectionSchema(name: "rationing") })
        try hub.put("rationing", "r1", ["a": 1])
        let a = try store("a")
        let before = a.schema
        let transport = FailingPull(
            inner: LoopbackTransport(service: SyncService(storage: hub, authentication: .none), principal: asStation, caller: "a"))
        await #expect(throws: SyncError.self) { try await SyncEngine(storage: a, transport: transport).run() }
        #expect(a.schema == before)
        #expect(try StationStore.open(path: a.path).schema == before)
        // The next sync takes them; `station schema` lists where they came from, and one nobody
        // wrote to can be dropped.
        try await sync(a, hub, principal: asStation)
        #expect(try a.schemaCollections().first { $0.name == "rationing" }?.addedBy == "hub")
        #expect(throws: StoreError.self) { try a.dropAddedCollection("rationing") }  // holds r1
        #expect(throws: StoreError.self) { try a.dropAddedCollection("stock") }  // its own
        let b = try store("b")
        try await sync(b, hub, principal: Principal(station: "b", read: .only(["cases"]), write: .all, relay: false))
        try b.dropAddedCollection("rationing")
        #expect(b.schema.collections["rationing"] == nil)
    }
}
