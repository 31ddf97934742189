import Foundation
import Testing
@testable import StationCore

/// Replays the examples in Protocol/examples: they decode, re-encode canonically, and merge as
/// Protocol/record-state.md says.
@Suite struct ProtocolExamplesTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Protocol/examples")

    func load(_ name: String, _ c: CollectionSchema) throws -> RecordState {
        try RecordState(jsonText: String(contentsOf: Self.examples.appendingPathComponent(name), encoding: .utf8), collection: c)
    }

    @Test func theMergeExampleHoldsInEitherOrder() async throws {
        let schema = try Schema(jsonText: String(contentsOf: Self.examples.appendingPathComponent("merge-schema.json"), encoding: .utf8))
        let c = try schema.collection("mediation_cases")
        let base = try load("merge-base.json", c)
        let a = try load("merge-a.json", c)
        let b = try load("merge-b.json", c)
        let result = try load("merge-result.json", c)
        #expect(a.clock.compare(base.clock) == .after && b.clock.compare(base.clock) == .after)
        #expect(a.clock.compare(b.clock) == .concurrent)
        #expect(a.merged(with: b).canonicalText == result.canonicalText)
        #expect(b.merged(with: a).canonicalText == result.canonicalText)
        #expect(result.merged(with: base) == result)
        let view = result.view(in: c, id: "med-0002")
        #expect(view.conflicted)
        #expect(view.fields["sessionsHeld"] == 2)
        #expect(view.conflicts.map(\.field) == ["status"])
    }
}
