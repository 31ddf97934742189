import StationCore
import Testing
@testable import StationSync

/// Writers are `NODE.INCARNATION` (issue 11): a node's incarnations are its own writes for origin
/// binding, nobody else's; names that merely start with the node's name are other nodes.
@Suite struct IncarnationTests {
    let cases = CollectionSchema(name: "cases", fields: ["status": .manual, "notes": .lww])
    func t(_ ms: UInt64) -> HLCTimestamp { HLCTimestamp(wall: 1_700_000_000_000 + ms, logical: 0) }

    @Test func writerNames() async throws {
        for valid in ["hotline", "hotline.k3x9a2qd", "a.b", "civil-affairs.000000000000"] { #expect(NodeID.isValid(valid), "\(valid)") }
        for invalid in ["hotline.", ".x", "hotline.K3", "hotline.a.b", "hotline.1234567890123", "hot line", "hotline.é"] {
            #expect(!NodeID.isValid(invalid), "\(invalid)")
        }
        #expect(!NodeID.isValidNode("hotline.x1"))
        #expect(throws: CoreError.self) { try NodeID(validatingNode: "hotline.x1") }
        let w: NodeID = "hotline.k3x9"
        #expect(w.station == "hotline" && w.incarnation == "k3x9")
        #expect(w.isIncarnation(of: "hotline"))
        #expect(NodeID("hotline").isIncarnation(of: "hotline"))
        #expect(!NodeID("hotline-x.k3x9").isIncarnation(of: "hotline"))
        #expect(!NodeID("hotlinex").isIncarnation(of: "hotline"))
        #expect(!NodeID("hot").isIncarnation(of: "hotline"))
        #expect(NodeID(node: "hotline", incarnation: "ab") == "hotline.ab")
        #expect(NodeID(node: "hotline", incarnation: nil) == "hotline")
    }

    @Test func aNodesIncarnationsAreItsOwnWritesAndOnlyItsOwn() async throws {
        // The hub holds what hotline's first database wrote; a later incarnation writes on top
        // (having pulled it) and concurrently (not having pulled it): both pass.
        var held = RecordState()
        try held.put(["notes": "from the first database"], by: "hotline.first", at: t(1), in: cases, id: "r")
        var later = held
        try later.put(["notes": "from the second"], by: "hotline.second", at: t(2), in: cases, id: "r")
        try OriginCheck.verify(later, local: held, caller: "hotline", collection: "cases", id: "r")
        var fresh = RecordState()
        try fresh.put(["notes": "typed before the first sync"], by: "hotline.second", at: t(3), in: cases, id: "r")
        try OriginCheck.verify(fresh, local: held, caller: "hotline", collection: "cases", id: "r")
        // A node whose name starts with "hotline" is somebody else.
        var other = held
        try other.put(["notes": "forged"], by: "hotline-x.abc", at: t(4), in: cases, id: "r")
        #expect(throws: SyncError.self) { try OriginCheck.verify(other, local: held, caller: "hotline", collection: "cases", id: "r") }
        // Another node's token may not bring hotline's incarnations' new writes.
        #expect(throws: SyncError.self) { try OriginCheck.verify(later, local: held, caller: "civil-affairs", collection: "cases", id: "r") }
    }

    @Test func aPushNamesItsWriterAndOnlyAnIncarnationOfItsNode() async throws {
        let body = PushRequest.encode(node: "hotline", writer: "hotline.k3", changes: [])
        #expect(String(decoding: body, as: UTF8.self) == #"{"node":"hotline","writer":"hotline.k3","changes":[]}"#)
        #expect(try PushRequest(bytes: body, maxChanges: 10).writer == "hotline.k3")
        #expect(try PushRequest(bytes: Array(#"{"node":"hotline","changes":[]}"#.utf8), maxChanges: 10).writer == "hotline")
        for bad in [
            #"{"node":"hotline","writer":"civil-affairs.k3","changes":[]}"#, #"{"node":"hotline","writer":"hotline.K","changes":[]}"#,
            #"{"node":"hotline","writer":7,"changes":[]}"#,
        ] {
            #expect(throws: WireError.self) { try PushRequest(bytes: Array(bad.utf8), maxChanges: 10) }
        }
    }
}
