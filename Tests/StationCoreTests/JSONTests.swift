import Testing
@testable import StationCore

@Suite struct JSONTests {
    @Test func roundTripsCanonically() async throws {
        let text = #"{"b":[1,-2,3.5,true,null],"a":"x\"y\n\u00e9","c":{"z":1,"y":2.0}}"#
        let value = try JSONParser.parse(text)
        #expect(value.canonicalText == #"{"a":"x\"y\né","b":[1,-2,3.5,true,null],"c":{"y":2.0,"z":1}}"#)
        #expect(try JSONParser.parse(value.canonicalText) == value)
    }

    @Test func keepsIntegersExact() async throws {
        #expect(try JSONParser.parse("9223372036854775807") == .int(.max))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(.min))
        #expect(try JSONParser.parse("1.0") == .double(1))
        #expect(try JSONParser.parse("1e2") == .double(100))
    }

    @Test(arguments: [
        ("", "unexpected end of input"),
        ("{", "expected a string key"),
        (#"{"a":1,"a":2}"#, "duplicate key \"a\""),
        ("[1,]", "unexpected character ']'"),
        ("01", "leading zeros"),
        ("1 2", "unexpected content after"),
        ("99999999999999999999", "outside the 64-bit range"),
        ("1e999", "out of range"),
        (#""\x""#, "invalid escape"),
        ("\"a\nb\"", "control character"),
        (#""\ud800""#, "unpaired surrogate"),
        ("nul", "invalid literal"),
    ])
    func rejectsMalformedInputWithAReason(input: String, reason: String) {
        #expect {
            _ = try JSONParser.parse(input)
        } throws: { error in
            "\(error)".contains(reason)
        }
    }

    @Test func reportsLineAndColumn() {
        do {
            _ = try JSONParser.parse("{\n  \"a\": tru\n}")
            Issue.record("should fail")
        } catch {
            #expect(error.line == 2)
            #expect(error.column == 8)
        }
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test func refusesInvalidUTF8() {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes: [34, 0xC3, 0x28, 34]) }
    }
}
