import StationCore
import Testing

/// A cursor is checked when it is received, names a sequence only in its own database, and is
/// compared by its bytes.
@Suite struct FeedCursorTests {
    @Test func whatANodeGivesOutIsReadBack() throws {
        let cursor = FeedCursor(database: "db7", seq: 42)
        #expect(cursor.text == "db7.42")
        #expect(try FeedCursor(checking: cursor.text) == cursor)
        #expect(cursor.seq(in: "db7") == 42)
        #expect(try FeedCursor(checking: "").isBeginning && FeedCursor.beginning.seq(in: "db7") == 0)
    }

    @Test func anotherDatabasesCursorIsTheBeginning() {
        #expect(FeedCursor(database: "old", seq: 9).seq(in: "new") == 0)
        // Look-alike database ids are two databases.
        #expect(FeedCursor(database: "caf\u{E9}", seq: 3).seq(in: "cafe\u{301}") == 0)
        #expect(FeedCursor(database: "caf\u{E9}", seq: 3) != FeedCursor(database: "cafe\u{301}", seq: 3))
    }

    @Test func textThatIsNotACursorIsRefused() {
        for text in ["db", "db.", "db.-1", "db.1x", "db.99999999999999999999", String(repeating: "d", count: 130) + ".1"] {
            #expect(throws: WireError.self, "\(text.prefix(20))") { try FeedCursor(checking: text) }
        }
    }

    @Test func aPullResponseWithABadNextIsRefused() {
        let body = #"{"node":"hub","changes":[],"next":"nonsense","more":false}"#
        #expect(throws: WireError.self) { try PullResponse(bytes: Array(body.utf8)) }
        let push = #"{"node":"hub","results":[],"cursor":"db.x"}"#
        #expect(throws: WireError.self) { try PushResponse(bytes: Array(push.utf8)) }
    }

    @Test func aPushResponseWithAResultThisBuildDoesNotKnowIsRefused() throws {
        let known = #"{"node":"hub","results":[{"collection":"cases","id":"a","result":"over_limit"}],"cursor":"db.3"}"#
        #expect(try PushResponse(bytes: Array(known.utf8)).results.map(\.result) == [.overLimit])
        let unknown = #"{"node":"hub","results":[{"collection":"cases","id":"a","result":"postponed"}],"cursor":"db.3"}"#
        #expect(throws: WireError.self) { try PushResponse(bytes: Array(unknown.utf8)) }
    }
}
