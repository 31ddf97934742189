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
        try hub.write { tx in for i in 0..<35 { try tx.put("residents", String(format: "r%02d", i), ["notes": "v1"]) } }
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
                cursor = response.next
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
}
