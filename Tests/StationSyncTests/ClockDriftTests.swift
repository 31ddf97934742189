import Foundation
import GRDB
import StationCore
@testable import StationStore
import Testing
@testable import StationSync

/// Issue 12, finding 3: time cannot be used to win. A pushed write stamped more than a day ahead of
/// the receiver's clock is refused, the receiver's database unchanged (its clock included); the
/// session tells the station how far off its clock is, and the hub notes it.
@Suite struct ClockDriftTests {
    let dir: TemporaryDirectory
    init() throws { dir = try TemporaryDirectory() }

    static let day: UInt64 = 24 * 3600 * 1000

    /// A store whose wall clock runs `ahead` ms ahead of this machine's.
    func store(_ name: String, ahead: UInt64 = 0) throws -> StationStore {
        try StationStore.create(
            path: "\(dir.path)/\(name).sqlite", node: NodeID(validating: name), schema: syncSchema,
            clock: { UInt64(Date().timeIntervalSince1970 * 1000) + ahead })
    }

    func sync(_ client: StationStore, with hub: StationStore, principal: Principal) async throws -> SyncSummary {
        let transport = LoopbackTransport(
            service: SyncService(storage: hub, authentication: .none), principal: principal, caller: client.node.rawValue,
            callerTime: { client.wallTime() })
        return try await SyncEngine(storage: client, transport: transport).run()
    }

    /// Review round 4, F2: a rogue LAN peer served a state that dropped another node's value
    /// under a write in a made-up incarnation of the station; the station took it, and every later
    /// push to its hub was refused (403) for that record. Now the pull leaves it out (`refused`),
    /// and the station's hub sync goes on.
    @Test func aForgedStateFromALANPeerIsNotTaken() async throws {
        let hub = try store("hub")
        let labor = try store("labor")
        try labor.put("cases", "r", ["notes": "labor's note"])
        let laborToken = Principal(station: "labor", read: .all, write: .all, relay: false)
        _ = try await sync(labor, with: hub, principal: laborToken)
        let station = try store("hotline")
        let principal = Principal(station: "hotline", read: .all, write: .all, relay: false)
        _ = try await sync(station, with: hub, principal: principal)  // holds labor's note
        var forged = try #require(try hub.record("cases", "r")).state
        let zzz = NodeID(node: "hotline", incarnation: "zzz")
        let dot = forged.clock.increment(zzz)
        forged.existence = [DottedValue(dot: dot, time: HLCTimestamp(wall: station.wallTime(), logical: 0), value: true)]
        forged.fields["notes"] = nil
        let rogue = try store("rogue")
        try rogue.write { tx in _ = try tx.merge("cases", "r", forged, from: nil) }
        let lan = LoopbackTransport(
            service: SyncService(storage: rogue, authentication: .none), principal: .trustedPeer, caller: station.node.rawValue,
            callerTime: { station.wallTime() })
        let fromPeer = try await SyncEngine(storage: station, transport: lan).run()
        #expect(fromPeer.refused == 1 && fromPeer.refusedRecords == ["cases/r"])
        #expect(try station.record("cases", "r")?.state.fields["notes"] != nil)
        try station.put("cases", "s", ["notes": "the station's own"])
        let toHub = try await sync(station, with: hub, principal: principal)
        #expect(toHub.pushed == 1)
    }

    /// A wall clock a test sets.
    final class SettableClock: @unchecked Sendable {
        var ahead: UInt64 = 0
        var now: UInt64 { UInt64(Date().timeIntervalSince1970 * 1000) + ahead }
    }

    /// A station whose clock ran a year ahead, then was put right, was refused at every push for
    /// a year: its hybrid clock went on from the year-ahead time, and the records it wrote meanwhile
    /// refused every push they were in. Now its clock starts again from the wall clock, and those
    /// records are held back (listed, sent again at every sync) while everything else goes.
    @Test func aStationWhoseClockWasWrongIsNotHeldUpByWhatItWroteThen() async throws {
        let hub = try store("hub")
        let clock = SettableClock()
        clock.ahead = 365 * Self.day
        let station = try StationStore.create(
            path: "\(dir.path)/hotline.sqlite", node: "hotline", schema: syncSchema, clock: { clock.now })
        let principal = Principal(station: "hotline", read: .all, write: .all, relay: false)
        try station.put("cases", "then", ["notes": "written a year ahead"])
        // While the clock is wrong, the hub refuses: the station is told its clock is wrong.
        await #expect { try await sync(station, with: hub, principal: principal) } throws: { ($0 as? SyncError)?.code == .clockDrift }
        clock.ahead = 0
        try station.put("cases", "now", ["notes": "written after the clock was put right"])
        let summary = try await sync(station, with: hub, principal: principal)
        #expect(summary.pushed == 1 && summary.heldBack == 1 && summary.heldBackRecords == ["cases/then"] && summary.waiting == 0)
        #expect(try hub.record("cases", "now") != nil)
        #expect(try hub.record("cases", "then") == nil)
        // The next sync holds it back again, without a refusal first; new writes go.
        try station.put("cases", "later", ["notes": "x"])
        let again = try await sync(station, with: hub, principal: principal)
        #expect(again.pushed == 1 && again.heldBack == 1)
        #expect(try hub.record("cases", "later") != nil)
    }

    /// Everything in the hub's database, its clock (`meta.hlc`) included.
    func dump(_ store: StationStore) throws -> [String] { try store.everyRow() }

    @Test(arguments: [2 * day, 365 * day])
    func aWriteStampedFarAheadIsRefusedAndChangesNothing(ahead: UInt64) async throws {
        let hub = try store("hub")
        try hub.put("cases", "r", ["notes": "the hub's"])
        let station = try store("hotline", ahead: ahead)
        let principal = Principal(station: "hotline", read: .all, write: .all, relay: false)
        _ = try await sync(station, with: hub, principal: principal)  // pulls r
        try station.put("cases", "r", ["notes": "from the future"])
        try station.put("cases", "s", ["notes": "another"])
        try await hub.flushActivity()
        let before = try dump(hub)
        await #expect { try await sync(station, with: hub, principal: principal) } throws: { error in
            guard let e = error as? SyncError, e.code == .clockDrift, e.httpStatus == 400 else { return false }
            return "\(e)".contains("cases/") && "\(e)".contains("ahead of this node's clock") && "\(e)".contains("hotline")
        }
        try await hub.flushActivity()
        let after = try dump(hub)
        // The session noted the station's clock offset (dashboard bookkeeping); nothing else moved.
        #expect(after.filter { !$0.hasPrefix("station_activity") } == before.filter { !$0.hasPrefix("station_activity") })
        let offset = try await #require(try hub.stationActivity().first { $0.station == "hotline" }?.clockOffset)
        #expect(abs(offset - Int64(ahead)) < 60_000)
    }

    /// A station a few hours off is not refused, but told: the summary carries the offset and the
    /// sentence warns.
    @Test func aStationWhoseClockIsOffIsToldSo() async throws {
        let hub = try store("hub")
        let station = try store("hotline", ahead: 3 * 3600 * 1000)
        try station.put("cases", "r", ["notes": "x"])
        let summary = try await sync(station, with: hub, principal: .trustedPeer)
        #expect(summary.pushed == 1)
        let offset = try #require(summary.clockOffset)
        #expect(abs(offset - 3 * 3600 * 1000) < 60_000)
        #expect(ClockOffset.status(3 * 3600 * 1000) == "3 h 0 min ahead")
        let right = try store("labor")
        #expect(abs(try await #require(try sync(right, with: hub, principal: .trustedPeer).clockOffset)) < 60_000)
        #expect(ClockOffset.status(nil) == "unknown" && ClockOffset.status(-59_000) == "ok" && ClockOffset.status(-61_000) == "1 min 1 s behind")
    }

    /// A value the receiver holds already is not refused again (an old far-future write that was
    /// taken before this rule): only writes new to the receiver are checked.
    @Test func onlyNewWritesAreChecked() async throws {
        var state = RecordState()
        let far = HLCTimestamp(wall: UInt64(Date().timeIntervalSince1970 * 1000) + 3 * Self.day, logical: 0)
        try state.put(["notes": "old"], by: "hotline", at: far, in: syncSchema.collections["cases"]!, id: "r")
        let now = UInt64(Date().timeIntervalSince1970 * 1000)
        #expect(throws: SyncError.self) { try SyncService.checkDrift(state, local: nil, now: now, sender: "hotline", collection: "cases", id: "r") }
        try SyncService.checkDrift(state, local: state, now: now, sender: "hotline", collection: "cases", id: "r")
    }

    /// Review of stop 20, F4: the drift rule looked only at writes new to the receiver, so an old
    /// dot (seen, superseded) carrying a time a year ahead, or a clock entry pushed first with no
    /// value and filled in later, won every lww race.
    @Test func anOldDotWithANewTimeIsStillTooFarAhead() async throws {
        let cases = syncSchema.collections["cases"]!
        let now: UInt64 = 1_800_000_000_000
        var held = RecordState()
        try held.put(["notes": "tea"], by: "labor", at: HLCTimestamp(wall: now, logical: 0), in: cases, id: "r")
        try held.put(["status": "open"], by: "evil", at: HLCTimestamp(wall: now, logical: 0), in: cases, id: "r")
        try held.put(["status": "open2"], by: "evil", at: HLCTimestamp(wall: now, logical: 0), in: cases, id: "r")
        var forged = held
        try forged.put(["phone": "1"], by: "evil", at: HLCTimestamp(wall: now, logical: 0), in: cases, id: "r")
        var notes = forged.fields["notes"]!
        notes.append(DottedValue(dot: Dot("evil", 1), time: HLCTimestamp(wall: now + 365 * Self.day, logical: 0), value: "from the future"))
        forged.fields["notes"] = notes
        #expect {
            try SyncService.checkDrift(forged, local: held, now: now, sender: "evil", collection: "cases", id: "r")
        } throws: { ($0 as? SyncError)?.code == .clockDrift && "\($0)".contains("(evil,1)") }
        // Relayed by another node: only this record is left out.
        #expect {
            try SyncService.checkDrift(forged, local: held, now: now, sender: "labor", collection: "cases", id: "r")
        } throws: { ($0 as? SyncError)?.code == .writeAhead && "\($0)".contains("(evil,1)") }
        // What the receiver holds as is passes, however far ahead (it took it when its clock allowed).
        try SyncService.checkDrift(held, local: held, now: now - 2 * Self.day, sender: "evil", collection: "cases", id: "r")
    }

    /// Review round 3, F4b: a LAN peer whose clock is a year ahead (or a rogue one) served a write
    /// a station took; from then on every push of that station to its hub was refused
    /// (`clock_drift` for the whole batch), though the station's own clock was right. Now the
    /// station does not take such a write from a LAN peer (left out, `ahead`), and a hub that
    /// meets one relayed leaves only that record out: the station's own writes go on.
    @Test func aWriteFarAheadFromALANPeerHoldsNobodyUp() async throws {
        let hub = try store("hub")
        let rogue = try store("rogue", ahead: 365 * Self.day)
        let station = try store("hotline")
        try rogue.put("cases", "r", ["notes": "from the future"])
        try rogue.put("cases", "ok", ["notes": "stamped a year ahead too"])
        // The station pulls from the LAN peer (a trusted peer of `station serve`): both left out.
        let lan = LoopbackTransport(
            service: SyncService(storage: rogue, authentication: .none), principal: .trustedPeer, caller: station.node.rawValue,
            callerTime: { station.wallTime() })
        let fromPeer = try await SyncEngine(storage: station, transport: lan).run()
        #expect(fromPeer.ahead == 2 && fromPeer.aheadRecords.sorted() == ["cases/ok", "cases/r"])
        #expect(try station.record("cases", "r") == nil)

        // A relay forwards a year-ahead write of another node to the hub: that record is left out,
        // the relay's own writes are taken.
        let relay = try store("labor")
        let farAhead = try #require(try rogue.record("cases", "r")).state
        try relay.write { tx in _ = try tx.merge("cases", "r", farAhead, from: "rogue") }
        try relay.put("cases", "mine", ["notes": "the relay's own"])
        let relayToken = Principal(station: "labor", read: .all, write: .all, relay: true)
        let pushed = try await sync(relay, with: hub, principal: relayToken)
        #expect(pushed.pushed == 1 && pushed.ahead == 1 && pushed.aheadRecords == ["cases/r"])
        #expect(try hub.record("cases", "r") == nil && hub.record("cases", "mine") != nil)
        // Sent again at the next sync, still left out; nothing else is held up.
        try relay.put("cases", "mine", ["notes": "again"])
        let again = try await sync(relay, with: hub, principal: relayToken)
        #expect(again.pushed == 1 && again.ahead == 1)
        #expect(try hub.record("cases", "mine")?.state.view(in: syncSchema.collections["cases"]!, id: "mine").fields["notes"] == "again")

        // Without relay the hub answers `waiting` (rogue's write is not the station's own).
        let plain = try store("civil")
        try plain.write { tx in _ = try tx.merge("cases", "r", farAhead, from: "rogue") }
        try plain.put("cases", "x", ["notes": "civil's"])
        let waited = try await sync(plain, with: hub, principal: Principal(station: "civil", read: .all, write: .all, relay: false))
        #expect(waited.pushed == 1 && waited.waiting == 1)
    }
}
