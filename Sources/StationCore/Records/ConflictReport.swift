/// A conflict as the conflict tools show it: open (still held by the record) or resolved (kept
/// in the record's history), with its competing values, the automatic decision and, once
/// resolved, who resolved it, when and how.
public struct ConflictReport: Sendable, Equatable {
    public enum Status: String, Sendable { case open, resolved }

    public var id: String
    public var collection: String
    public var recordID: String
    public var field: String
    public var policy: ConflictPolicy
    public var status: Status
    /// Whether the policy decides on its own (`lww`, delete policies) or waits for a person.
    public var automatic: Bool
    /// The competing values, the automatic decision first.
    public var values: [DottedValue<JSONValue>]
    /// The rule that picked `values[0]`.
    public var rule: String
    /// How it ended, for a resolved conflict.
    public var resolution: Resolution?

    /// From a conflict a record holds now.
    public init(open c: Conflict) {
        id = c.id
        collection = c.collection
        recordID = c.recordID
        field = c.field
        policy = c.policy
        status = .open
        automatic = c.automatic
        values = c.values
        rule = c.rule
        resolution = nil
    }

    /// From a record's resolution history.
    public init(resolved r: Resolution, collection: String, recordID: String) {
        id = r.conflictID
        self.collection = collection
        self.recordID = recordID
        field = r.field
        policy = r.policy
        status = .resolved
        automatic = r.policy.isAutomatic
        values = r.values
        rule = Self.rule(policy: r.policy)
        resolution = r
    }

    /// The rule that decides what a conflict under `policy` shows, in words: the one place it is
    /// worded (conflicts and their history entries alike).
    static func rule(policy: ConflictPolicy) -> String {
        switch policy {
        case .lww: return "lww: the latest write wins (HLC time, then node name); the others are kept here"
        case .manual: return "manual: every value is kept; reads show the latest until a person resolves it"
        case .counter:
            return
                "counter: stocktakes made without seeing each other disagree; reads show the latest (HLC time, then node) plus the increments it has not seen, until a person sets the count"
        case .updateWins: return "update-wins: an update concurrent with a delete keeps the record alive"
        case .deleteWins: return "delete-wins: a delete concurrent with an update keeps the record deleted; the update's values stay in the tombstone"
        }
    }

    /// The rule of a counter whose reading passes 64 bits (RecordState+Counter.swift).
    static let counterOverflowRule =
        "counter: the totals and stocktakes held read as a number past 64 bits; reads show the nearest one until a person sets the count (a stocktake)"

    /// The nodes whose writes compete, in order of `values`.
    public var origins: [String] { values.map(\.dot.node.station) }

    /// When the earliest competing write happened.
    public var since: HLCTimestamp { values.map(\.time).min() ?? .zero }

    /// The one-line form (`list --json`): `id`, `collection`, `record`, `field`, `policy`,
    /// `status`, `automatic`, `origins`, `since` (ms since 1970).
    public var summaryJSON: JSONValue {
        .object([
            "id": .string(id), "collection": .string(collection), "record": .string(recordID), "field": .string(field),
            "policy": .string(policy.rawValue), "status": .string(status.rawValue), "automatic": .bool(automatic),
            "origins": .array(origins.map { .string($0) }), "since": .int(Int64(since.wall)),
        ])
    }

    /// The full form (`show --json`): the summary plus `values` (the array `--choose` indexes:
    /// each `value`, `node`, `counter`, `time` in ms, `author` or null), `decision` and, once resolved, `resolution`.
    public var json: JSONValue {
        var o = summaryJSON.objectValue!
        o["values"] = .array(
            values.map { v in
                .object([
                    "value": v.value, "node": .string(v.dot.node.station), "writer": .string(v.dot.node.rawValue),
                    "counter": .int(Int64(v.dot.counter)), "time": .int(Int64(v.time.wall)),
                    "author": v.author.map { .string($0) } ?? .null,
                ])
            })
        o["decision"] = .object(["index": 0, "value": values.first?.value ?? .null, "rule": .string(rule)])
        if let r = resolution {
            o["resolution"] = .object([
                "how": .string(r.how.rawValue), "by": .string(r.by.node.station), "writer": .string(r.by.node.rawValue),
                "counter": .int(Int64(r.by.counter)),
                "time": .int(Int64(r.time.wall)), "result": r.result, "person": r.person.map { .string($0) } ?? .null,
            ])
        } else {
            o["resolution"] = .null
        }
        return .object(o)
    }
}
