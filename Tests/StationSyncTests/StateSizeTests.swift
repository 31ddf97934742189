import Foundation
import StationCore
import StationStore
import StationSync
import Testing
@testable import StationSync

/// Issue 13, finding 4: pages were limited by count, not bytes (five 60 MiB records made every
/// reader's default sync fail), and a record could grow past what any message carries. A state
/// takes at most 16 MiB (checked wherever a state is stored, before it commits), and pages, pulled
/// and pushed, end at 8 MiB of states (a larger state goes alone).
@Suite struct StateSizeTests {
    let net: Network
    init() throws { net = try Network(["hub", "a", "b"]) }

    let asA = Principal(station: "a", read: .all, write: .all, relay: false)
    let asB = Principal(station: "b", read: .all, write: .all, relay: false)

    /// A string of `n` bytes.
    func text(_ n: Int, _ fill: Character = "x") -> JSONValue { .string(String(repeating: fill, count: n)) }

    @Test("A local write that would make a state larger than 16 MiB is refused before it commits")
    func aWritePastTheSizeLimitIsRefused() async throws {
        let a = net["a"]
        try a.put("cases", "big", ["notes": text(Limits.stateBytes / 2)])
        let before = try a.everyRow()
        #expect { try a.put("cases", "big", ["notes": text(Limits.stateBytes + 1)]) } throws: {
            ($0 as? CoreError)?.code == .beyondLimit && "\($0)".contains("cases/big")
        }
        #expect { try a.put("cases", "new", ["notes": text(Limits.stateBytes + 1)]) } throws: { ($0 as? CoreError)?.code == .beyondLimit }
        #expect(try a.everyRow() == before)
    }

    @Test("Pages end at 8 MiB of states, pulled and pushed; every record arrives once")
    func pagesAreCutByBytes() async throws {
        // 12 records of 3 MiB each: pages of three (9 MiB: the third reaches 8 MiB), never 500.
        for i in 0..<12 { try net["a"].put("cases", "r\(i)", ["notes": text(3 << 20, Character(String(i % 10)))]) }
        let page = try net["a"].changes(since: 0, limit: 500)
        #expect(page.changes.count == 3 && page.hasMore)
        let some = try net["a"].changes(since: 0, limit: 500, collections: ["cases", "stock"])
        #expect(some.changes.map(\.seq) == page.changes.map(\.seq) && some.hasMore)
        let pushed = try await net.sync("a", with: "hub", principal: asA)
        #expect(pushed.pushed == 12)
        let pulled = try await net.sync("b", with: "hub", principal: asB)
        #expect(pulled.pulled == 12, "\(pulled)")
        for i in 0..<12 { #expect(try net["b"].record("cases", "r\(i)")?.state == net["a"].record("cases", "r\(i)")?.state) }
        // One state larger than a page goes alone.
        try net["a"].put("cases", "r0", ["notes": text(9 << 20)])
        let first = try net["a"].changes(since: try net["a"].lastSequence() - 1, limit: 500)
        #expect(first.changes.count == 1 && first.changes[0].id == "r0" && !first.hasMore)
    }

    @Test("A received state past 16 MiB is left out (over_limit), the rest of its batch is taken")
    func aReceivedStatePastTheLimitIsLeftOut() async throws {
        try net["a"].put("cases", "ok", ["notes": "fine"])
        var big = RecordState()
        try big.put(
            ["notes": text(Limits.stateBytes)], by: NodeID(node: "a", incarnation: "x"), at: HLCTimestamp(wall: 1, logical: 0),
            in: syncSchema.collections["cases"]!, id: "big")
        let ok = try #require(try net["a"].record("cases", "ok")).state
        let body = PushRequest.encode(
            node: "a", writer: net["a"].writer.rawValue,
            changes: [
                (collection: "cases", id: "big", seq: 1, stateText: big.canonicalText),
                (collection: "cases", id: "ok", seq: 2, stateText: ok.canonicalText),
            ])
        let service = SyncService(storage: net["hub"], authentication: .none)
        let response = try await service.push(body: body, principal: asA)
        #expect(response.results.map(\.result.rawValue) == ["over_limit", "created"])
        #expect(try net["hub"].record("cases", "big") == nil)
    }
}
