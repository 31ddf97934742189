import Testing
@testable import StationCore

/// Authors in the state: who made each write travels with its values, decodes the same on both
/// paths, is held in NFC, and takes part in what makes two writes the same.
@Suite struct AuthorTests {
    @Test func authorsTravelWithTheirValuesBothWays() throws {
        var s = RecordState()
        try s.put(["notes": "first", "visits": 3], by: "hotline", at: Fixtures.t(1), in: Fixtures.cases, id: "r", author: "Li Na")
        try s.add(2, to: "visits", by: "civil-affairs", at: Fixtures.t(2), in: Fixtures.cases, id: "r", author: "\u{9648}\u{6770}")
        try s.put(["status": "open"], by: "hotline", at: Fixtures.t(3), in: Fixtures.cases, id: "r")
        let text = s.canonicalText
        #expect(text.contains(#"["hotline",1,"#) && text.contains(#""first","Li Na"]"#))
        #expect(text.contains("2,\"\u{9648}\u{6770}\"]"))
        #expect(text.contains(#""open"]"#))  // no author: the value as before
        let fast = try #require(Array(text.utf8).withUnsafeBufferPointer { RecordState.decodeCanonical($0) })
        #expect(fast == s && fast.canonicalText == text)
        let general = try RecordState(json: try JSONParser.parse(bytes: Array(text.utf8)), collection: Fixtures.cases)
        #expect(general == s && general.canonicalText == text)
        #expect(s.fields["notes"]![0].author == "Li Na")
        #expect(s.fields["visits"]!.first { $0.dot.node == "civil-affairs" }?.author == "\u{9648}\u{6770}")
    }

    @Test func namesAreHeldInNFCAndTrimmed() throws {
        var s = RecordState()
        try s.put(["notes": "x"], by: "hotline", at: Fixtures.t(1), in: Fixtures.cases, id: "r", author: "  Jose\u{301} ")
        let author = try #require(s.fields["notes"]![0].author)
        #expect(Array(author.utf8) == Array("Jos\u{E9}".utf8))
    }

    @Test(arguments: [
        "", "   ", "a\u{0}b", "line\nbreak", "tab\tin", "bidi\u{202E}x", "sep\u{2028}x", "zero\u{200B}width", "\u{FEFF}bom",
        "\u{3164}", "\u{200D}\u{200C}", String(repeating: "x", count: 129),
    ])
    func aNameThatIsNotOneIsRefusedChangingNothing(name: String) {
        var s = RecordState()
        #expect {
            try s.put(["notes": "x"], by: "hotline", at: Fixtures.t(1), in: Fixtures.cases, id: "r", author: name)
        } throws: { ($0 as? CoreError)?.code == .invalidPerson }
        #expect(s == RecordState())
    }

    @Test(arguments: [#""Jose\u0301""#, #"" Li""#, #""a\nb""#, "1", #""""#, #""\u202Ex""#])
    func aReceivedAuthorNotInItsRecordedFormIsRefused(author: String) {
        let text = "{\"clock\":{\"a\":1},\"exists\":[[\"a\",1,0,true," + author + "]],\"fields\":{}}"
        #expect {
            _ = try RecordState(jsonText: text, collection: Fixtures.cases)
        } throws: { error in
            (error as? CoreError)?.code == .invalidVersion && "\(error)".contains("the author of a:1 must be a person's name")
        }
    }

    @Test func escapedAuthorsDecodeAsTheGeneralDecoderSays() throws {
        // `\u0041` for A: valid JSON, not the canonical bytes; the general decoder reads it and
        // the state re-encodes canonically.
        let text = #"{"clock":{"a":1},"exists":[["a",1,0,true,"\u0041nn"]],"fields":{"notes":[["a",1,0,"x","Ann"],["a",1,0,"y"]]}}"#
        let state = try? RecordState(jsonText: text, collection: Fixtures.cases)
        // Two values of one dot in one register: refused whichever way it is read.
        #expect(state == nil)
        let good = #"{"clock":{"a":1},"exists":[["a",1,0,true,"\u0041nn"]],"fields":{"notes":[["a",1,0,"x","Ann"]]}}"#
        let decoded = try RecordState(jsonText: good, collection: Fixtures.cases)
        #expect(decoded.existence[0].author == "Ann")
        #expect(decoded.canonicalText == #"{"clock":{"a":1},"exists":[["a",1,0,true,"Ann"]],"fields":{"notes":[["a",1,0,"x","Ann"]]}}"#)
        #expect(Array(good.utf8).withUnsafeBufferPointer { RecordState.decodeCanonical($0) } == nil)
    }

    @Test(arguments: ["\u{645}\u{200C}\u{62D}", "\u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}", "\u{1F469}\u{200D}\u{1F467}"])
    func namesThatNeedJoinersOrTagsAreTaken(name: String) throws {
        #expect(Person.checked(name).map { Array($0.utf8) } == Array(name.utf8))
    }

    @Test func aWriteNamingTwoAuthorsIsRefusedBothWays() {
        let text = #"{"clock":{"a":1},"exists":[["a",1,0,true,"Alice"]],"fields":{"notes":[["a",1,0,"x","Bob"]]}}"#
        let unnamed = #"{"clock":{"a":1},"exists":[["a",1,0,true,"Alice"]],"fields":{"notes":[["a",1,0,"x"]]}}"#
        for t in [text, unnamed] {
            #expect(Array(t.utf8).withUnsafeBufferPointer { RecordState.decodeCanonical($0) } == nil)
            #expect {
                _ = try RecordState(jsonText: t, collection: Fixtures.cases)
            } throws: { error in
                (error as? CoreError)?.code == .invalidVersion && "\(error)".contains("name different authors")
            }
        }
    }

    @Test func oneDotWithAnotherAuthorIsACollision() throws {
        var a = RecordState()
        try a.put(["notes": "x"], by: "hotline", at: Fixtures.t(1), in: Fixtures.cases, id: "r", author: "Li Na")
        var b = RecordState()
        try b.put(["notes": "x"], by: "hotline", at: Fixtures.t(1), in: Fixtures.cases, id: "r", author: "Wang Fang")
        var c = RecordState()
        try c.put(["notes": "x"], by: "hotline", at: Fixtures.t(1), in: Fixtures.cases, id: "r")
        #expect(a.collidingDot(with: b) == Dot("hotline", 1))
        #expect(a.collidingDot(with: c) == Dot("hotline", 1))
        var d = a
        #expect(d.merge(b) == .collision(Dot("hotline", 1)))
        #expect(d == a)
    }

    @Test func aConflictShowsTheAuthorOfEachSide() throws {
        var base = RecordState()
        try base.put(["status": "open"], by: "hotline", at: Fixtures.t(1), in: Fixtures.cases, id: "r", author: "Li Na")
        var x = base
        var y = base
        try x.put(["status": "closed"], by: "hotline", at: Fixtures.t(2), in: Fixtures.cases, id: "r", author: "Li Na")
        try y.put(["status": "waiting"], by: "civil-affairs", at: Fixtures.t(3), in: Fixtures.cases, id: "r", author: "\u{5F20}\u{4F1F}")
        x.merge(y)
        let conflict = try #require(x.conflict(onField: "status", in: Fixtures.cases, id: "r"))
        #expect(conflict.values.map(\.author) == ["\u{5F20}\u{4F1F}", "Li Na"])
        let dot = try x.resolve(conflict.id, .choose(1), by: "hotline", at: Fixtures.t(4), in: Fixtures.cases, id: "r", person: "Zhou")
        #expect(x.fields["status"]! == [DottedValue(dot: dot, time: Fixtures.t(4), value: "closed", author: "Zhou")])
        let entry = try #require(x.resolutions.first)
        #expect(entry.person == "Zhou" && entry.values.map(\.author) == ["\u{5F20}\u{4F1F}", "Li Na"])
        // The entry's values keep their authors through the codec.
        #expect(try RecordState(jsonText: x.canonicalText, collection: Fixtures.cases) == x)
    }
}
