import Foundation
import StationCore
import StationStore
import StationSync
import Testing
@testable import StationSync

/// Issue 13, finding 7: after `rm` of the database while `station serve` ran, peers' pushes still
/// got 200 and moved their checkpoints, and the data went into the unlinked file. Every write
/// transaction now checks, before it commits, that the file is still the one the node opened.
@Suite struct DatabaseGoneTests {
    let net: Network
    init() throws { net = try Network(["hub", "a"]) }

    let asA = Principal(station: "a", read: .all, write: .all, relay: false)

    @Test("A database removed under a running node takes no write: local writes fail, pushes are 503 and move no checkpoint")
    func aRemovedDatabaseTakesNoWrite() async throws {
        try net["hub"].put("cases", "before", ["notes": "x"])
        try net["a"].put("cases", "c1", ["notes": "mine"])
        try FileManager.default.removeItem(atPath: net["hub"].path)
        #expect { try net["hub"].put("cases", "after", ["notes": "x"]) } throws: { ($0 as? StoreError)?.code == .databaseGone }
        await #expect { try await net.sync("a", with: "hub", principal: asA) } throws: {
            ($0 as? SyncError)?.code == .unavailable && "\($0)".contains("removed or replaced")
        }
        #expect(try net["a"].checkpoint(peer: "hub").pushed == 0)
    }

    @Test("A database replaced by another file under a running node takes no write")
    func aReplacedDatabaseTakesNoWrite() async throws {
        let path = net["hub"].path
        try FileManager.default.removeItem(atPath: path)
        try FileManager.default.copyItem(atPath: net["a"].path, toPath: path)
        #expect { try net["hub"].put("cases", "after", ["notes": "x"]) } throws: {
            ($0 as? StoreError)?.code == .databaseGone && "\($0)".contains("replaced")
        }
    }
}
