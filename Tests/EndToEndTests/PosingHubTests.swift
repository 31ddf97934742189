import Foundation
import Testing

/// Review round 7, F2a, with the real executables: a LAN peer (`station serve`) whose node is
/// named after the hub cannot pass for it. The hub proves at every session that it holds the
/// station's token; the posing peer cannot, and the station refuses to sync with it, changing
/// nothing.
@Suite("A peer posing as the hub")
struct PosingHubTests {
    @Test("station sync refuses a LAN peer named after its hub and changes nothing; the hub's syncs go on")
    func aPeerNamedAfterTheHubIsRefused() async throws {
        try await withCluster(["alpha"]) { cluster in
            let alpha = cluster["alpha"]
            try await alpha.put("residents", "r1", ["fullName": "Li Lei"])
            try await alpha.sync()
            let rogue = Station(cluster: cluster, name: "hub", db: cluster.path("rogue.sqlite"))
            try await rogue.ok(["init", "--node", "hub"])
            try await rogue.put("residents", "junk", ["fullName": "junk"])
            let lan = try await rogue.serve(token: "lan.secret-0123456789")
            let before = try await alpha.changes()
            let posing = try await alpha.trySync(peer: lan.url, token: "lan.secret-0123456789")
            #expect(!posing.succeeded && posing.stderr.contains("did not prove that it holds this node's token"), "\(posing)")
            #expect(try await alpha.changes() == before)
            #expect(try await alpha.find("residents", "junk") == nil)
            // The real hub: its next writes arrive as ever.
            let civil = try await cluster.addStation("civil")
            try await civil.put("residents", "c1", ["fullName": "Wang Fang"])
            try await civil.sync()
            #expect(try await alpha.sync().pulled == 1)
            #expect(try await alpha.find("residents", "c1") != nil)
        }
    }
}
