import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import StationCore
import StationSeeds
import StationGzip
import StationStore
import StationSync
import Testing
@testable import StationServer

/// The hub reads the next page of the change feed while the station merges the last one: the
/// station gets the same records, and a record changed in between still reaches it in its latest
/// state (with the routes and hub of `SyncServerTests`).
extension SyncServerTests {
    func page(_ client: some TestClientProtocol, since: String) async throws -> PullResponse {
        try await client.execute(
            uri: "/v1/changes?since=\(since)&limit=10", method: .get,
            headers: [.authorization: "Bearer \(token)", .acceptEncoding: "gzip", SyncServer.nodeHeader: "hotline"]
        ) { response in
            #expect(response.status == .ok)
            var bytes = Array(response.body.readableBytesView)
            if response.headers[.contentEncoding] == "gzip" { bytes = try Gzip.decompress(bytes, maxOutput: 1 << 24) }
            return try PullResponse(bytes: bytes)
        }
    }

    @Test func aRecordChangedBetweenReadAheadPagesArrivesInItsLatestState() async throws {
        try hub.write { tx in for i in 0..<35 { try tx.put("residents", String(format: "r%02d", i), ["fullName": "Lin", "notes": "v1"]) } }
        try await app().test(.router) { client in
            var received: [String: RecordState] = [:]
            var cursor = ""
            var pages = 0
            while true {
                let response = try await page(client, since: cursor)
                for change in response.changes {
                    let state = try change.decodeState(collection: try DefaultSchema.schema.collection("residents"))
                    received[change.id, default: RecordState()].merge(state)
                }
                pages += 1
                // After the first page (the second is being read ahead): r15, on the second
                // page, changes at the hub.
                if pages == 1 { try hub.put("residents", "r15", ["notes": "v2"]) }
                cursor = response.next.text
                if !response.more { break }
            }
            #expect(received.count == 35)
            #expect(received["r15"]?.fields["notes"]?.map(\.value) == ["v2"])
            for (id, state) in received {
                #expect(state == (try hub.record("residents", id))?.state, "\(id)")
            }
        }
    }
}

/// A page read ahead is handed out only for the exact request it was read for, once.
@Suite struct PullReadAheadTests {
    @Test func aPageIsOnlyForTheRequestItWasReadFor() async throws {
        let readAhead = PullReadAhead()
        let key = PullReadAhead.Key(authorization: "Bearer a", requester: "hotline", since: "db.10", limit: "10", gzip: true)
        let page = PullReadAhead.Prepared(
            page: SyncService.PullPage(body: Array("{}".utf8), nextSince: 20, next: "db.20", more: true),
            body: SyncServer.EncodedBody(bytes: Array("{}".utf8), gzipped: false))
        readAhead.start(key) { page }
        var other = key
        other.authorization = "Bearer b"
        #expect(await readAhead.take(other) == nil)
        other = key
        other.limit = "20"
        #expect(await readAhead.take(other) == nil)
        #expect(await readAhead.take(key)?.page.next == "db.20")
        #expect(await readAhead.take(key) == nil)  // handed out once
        // Bounded: pages nobody asks for do not pile up.
        for i in 0..<(PullReadAhead.maxPages * 2) {
            var k = key
            k.since = "db.\(i)"
            readAhead.start(k) { page }
        }
        #expect(readAhead.count <= PullReadAhead.maxPages)
    }

    static func page(bytes: Int) -> PullReadAhead.Prepared {
        PullReadAhead.Prepared(
            page: SyncService.PullPage(body: [], nextSince: 20, next: "db.20", more: true),
            body: SyncServer.EncodedBody(bytes: [UInt8](repeating: 0x20, count: bytes), gzipped: false))
    }

    /// Review of issue 14, F6: one token cannot take the read-ahead from the others, and the
    /// pages held ready stay within a byte budget.
    @Test func oneTokenHoldsAtMostItsShareAndPagesStayWithinTheirBytes() async throws {
        // Kept an hour: on a loaded machine this test may take longer than the 30 s pages last.
        let readAhead = PullReadAhead(lifetime: 3_600_000_000_000)
        /// Waits (up to 30 s, however loaded the machine) until no read is running.
        func settled() async throws {
            for _ in 0..<600 where readAhead.reading > 0 { try await Task.sleep(for: .milliseconds(50)) }
            #expect(readAhead.reading == 0)
        }
        let page = Self.page(bytes: 10)
        let greedy = (0..<20).map { PullReadAhead.Key(authorization: "Bearer greedy", requester: "x", since: "db.\($0)", limit: nil, gzip: false) }
        for key in greedy { readAhead.start(key) { page } }
        #expect(readAhead.count == PullReadAhead.maxPerCaller)
        let honest = PullReadAhead.Key(authorization: "Bearer honest", requester: "hotline", since: "db.1", limit: nil, gzip: false)
        readAhead.start(honest) { page }
        #expect(await readAhead.take(honest)?.page.next == "db.20")
        for key in greedy.prefix(PullReadAhead.maxPerCaller) { #expect(await readAhead.take(key) != nil) }
        #expect(readAhead.count == 0 && readAhead.bytesHeld == 0)

        // Pages past the byte budget are not held: their requests read them themselves.
        let big = Self.page(bytes: PullReadAhead.maxBytes / 2 + 1)
        let keys = (0..<2).map { PullReadAhead.Key(authorization: "Bearer t\($0)", requester: nil, since: "db.1", limit: nil, gzip: false) }
        for key in keys { readAhead.start(key) { big } }
        try await settled()
        #expect(readAhead.count == 1 && readAhead.bytesHeld == big.body.bytes.count)
        let served = await [readAhead.take(keys[0]), readAhead.take(keys[1])].compactMap { $0 }
        #expect(served.count == 1)
        #expect(readAhead.count == 0 && readAhead.bytesHeld == 0)
    }

    /// Review 15, R1: many requests at once (each reading the clock) never trap, and every page
    /// goes to its own request.
    @Test func manyRequestsAtOnce() async throws {
        let readAhead = PullReadAhead(lifetime: 1)  // everything expires at once: the subtraction runs every time
        await withTaskGroup(of: Void.self) { group in
            for t in 0..<16 {
                group.addTask {
                    for i in 0..<300 {
                        let key = PullReadAhead.Key(authorization: "Bearer \(t)", requester: nil, since: "db.\(i)", limit: nil, gzip: false)
                        readAhead.start(key) { Self.page(bytes: i) }
                        if let page = await readAhead.take(key) { #expect(page.body.bytes.count == i) }
                    }
                }
            }
        }
        #expect(readAhead.reading >= 0)
    }

    /// The share is the token's, however the header spells it.
    @Test func oneTokenIsOneCallerHoweverSpelled() {
        let readAhead = PullReadAhead(lifetime: 3_600_000_000_000)
        for (i, header) in ["Bearer X", "bearer X", "Bearer  X", "BEARER X"].enumerated() {
            readAhead.start(PullReadAhead.Key(authorization: header, requester: nil, since: "db.\(i)", limit: nil, gzip: false)) {
                Self.page(bytes: 1)
            }
        }
        #expect(readAhead.count == PullReadAhead.maxPerCaller)
    }

    /// What a read captured (in the hub: the page before it) is released once the read is done,
    /// not kept for the page's lifetime (a 1M-record pull held every page it served: 349 MB).
    @Test func nothingAReadCapturedOutlivesIt() async throws {
        final class Marker: Sendable {}
        let readAhead = PullReadAhead(lifetime: 3_600_000_000_000)
        let key = PullReadAhead.Key(authorization: "Bearer a", requester: nil, since: "db.1", limit: nil, gzip: false)
        weak var released: Marker?
        do {
            let marker = Marker()
            released = marker
            readAhead.start(key) {
                _ = marker
                return Self.page(bytes: 1)
            }
        }
        for _ in 0..<600 where readAhead.reading > 0 { try await Task.sleep(for: .milliseconds(20)) }
        for _ in 0..<100 where released != nil { try await Task.sleep(for: .milliseconds(20)) }
        #expect(released == nil)
        #expect(await readAhead.take(key) != nil)
    }

    /// A page nobody takes is dropped after its lifetime, even with no pull coming.
    @Test func aPageNobodyTakesIsDropped() async throws {
        let readAhead = PullReadAhead(lifetime: 50_000_000)
        readAhead.start(PullReadAhead.Key(authorization: "Bearer a", requester: nil, since: "db.1", limit: nil, gzip: false)) { Self.page(bytes: 5) }
        for _ in 0..<600 where readAhead.count > 0 { try await Task.sleep(for: .milliseconds(50)) }
        #expect(readAhead.count == 0 && readAhead.bytesHeld == 0)
    }

    /// A request waiting for a page still being read gets it when the read ends.
    @Test func aRequestWaitsForThePageBeingRead() async throws {
        let readAhead = PullReadAhead(lifetime: 3_600_000_000_000)
        let key = PullReadAhead.Key(authorization: "Bearer a", requester: "hotline", since: "db.1", limit: nil, gzip: false)
        readAhead.start(key) {
            try? await Task.sleep(for: .milliseconds(100))
            return Self.page(bytes: 3)
        }
        #expect(await readAhead.take(key)?.body.bytes.count == 3)
        #expect(readAhead.count == 0 && readAhead.bytesHeld == 0)
    }
}
