import Foundation
import StationCore

extension StoredRecord {
    /// The record as JSON (`station get --json`, the records API): `collection`, `id`, `fields`,
    /// `deleted`, `clock`, `conflicted`, `conflicts`, `seq`, `updatedAt`, `source`.
    public var json: JSONValue {
        let r = self
        return
            .object([
                "collection": .string(r.collection),
                "id": .string(r.id),
                "fields": .object(r.view.fields),
                "deleted": .bool(r.view.deleted),
                "clock": Self.clockJSON(r.state.clock),
                "conflicted": .bool(r.view.conflicted),
                "conflicts": .array(r.view.conflicts.map(Self.conflictJSON)),
                "seq": .int(r.seq),
                "updatedAt": .string(Self.isoTime(r.state.latestTime)),
                "source": r.source.map { .string($0) } ?? .null,
            ])
    }

    public static func clockJSON(_ clock: VectorClock) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: clock.sortedEntries.map { ($0.node.rawValue, JSONValue.int(Int64($0.counter))) }))
    }

    /// A conflict: `id`, `collection`, `record`, `field`, `policy`, `automatic`, `rule`, and
    /// `values` in order (the value reads show first), each with its `author` (or null).
    public static func conflictJSON(_ c: Conflict) -> JSONValue {
        .object([
            "id": .string(c.id),
            "collection": .string(c.collection),
            "record": .string(c.recordID),
            "field": .string(c.field),
            "policy": .string(c.policy.rawValue),
            "automatic": .bool(c.automatic),
            "rule": .string(c.rule),
            "values": .array(
                c.values.map { v in
                    .object([
                        "value": v.value,
                        "node": .string(v.dot.node.station),
                        "writer": .string(v.dot.node.rawValue),
                        "counter": .int(Int64(v.dot.counter)),
                        "time": .string(isoTime(v.time)),
                        "author": v.author.map { .string($0) } ?? .null,
                    ])
                }),
        ])
    }

    /// An HLC time as ISO 8601 with milliseconds (UTC).
    public static func isoTime(_ t: HLCTimestamp) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(t.wall) / 1000))
    }

}
