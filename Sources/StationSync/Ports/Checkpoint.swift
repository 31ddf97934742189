import StationCore

/// Sync progress with one peer.
public struct Checkpoint: Sendable, Equatable {
    /// The local sequence up to which changes have been pushed to the peer.
    public var pushed: Int64
    /// The peer's cursor after the last batch pulled from it ("" before the first pull).
    public var pulled: String
    /// The peer's database id these positions refer to ("" before the first sync).
    public var peerDatabase: String = ""
    /// When the checkpoint last moved (SQLite `datetime('now')`, UTC), or nil.
    public var updatedAt: String? = nil
    /// Whether the peer proved at its sessions that it holds this node's token (a hub this node
    /// syncs with by its token), or not; nil when it last synced before this was noted.
    public var byToken: Bool? = nil
    /// What the positions moved past without syncing (see ``LeftBehind``).
    public var leftBehind = LeftBehind()

    public init(
        pushed: Int64, pulled: String, peerDatabase: String = "", updatedAt: String? = nil, byToken: Bool? = nil,
        leftBehind: LeftBehind = LeftBehind()
    ) {
        self.pushed = pushed
        self.pulled = pulled
        self.peerDatabase = peerDatabase
        self.updatedAt = updatedAt
        self.byToken = byToken
        self.leftBehind = leftBehind
    }
}

/// What a checkpoint's positions moved past without syncing it, so that it is synced once it
/// can be: a cursor never leaves a change behind for good.
///
/// - `unsent`: collections whose local changes were not pushed, because the peer lacked them or
///   the token may not write them. When one of them can be sent (the token was widened, the
///   peer's schema gained it), the next sync pushes everything again (idempotent).
/// - `pullWaiting`: what the peer declares and this schema lacked, that records pulled from it
///   held (they were not merged): per collection, the fields (none: the whole collection). Once
///   this schema declares one of them (the hub brought it), the next sync pulls everything again
///   from that peer.
/// - `sendsBack`: the peer's database was replaced (restored from a backup, made again) and the
///   records it had sent are still to go back to it (so that what the backup lacked comes back
///   from its peers); kept until a push of everything has finished.
///
/// A backend stores it with the checkpoint before the position moves past what it names; a
/// reset of the checkpoint clears it.
public struct LeftBehind: Sendable, Equatable {
    public var unsent: Set<String> = []
    public var pullWaiting: [String: Set<String>] = [:]
    public var sendsBack = false

    public init(unsent: Set<String> = [], pullWaiting: [String: Set<String>] = [:], sendsBack: Bool = false) {
        self.unsent = unsent
        self.pullWaiting = pullWaiting
        self.sendsBack = sendsBack
    }

    public var isEmpty: Bool { unsent.isEmpty && pullWaiting.isEmpty && !sendsBack }

    /// What of `pullWaiting` `schema` declares now.
    public func declared(in schema: Schema) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for (name, fields) in pullWaiting {
            guard let collection = schema.collections[name] else { continue }
            let now = fields.filter { collection.fields[$0] != nil }
            if fields.isEmpty || !now.isEmpty { result[name] = fields.isEmpty ? [] : now }
        }
        return result
    }

    /// Adds `waiting` to ``pullWaiting``.
    public mutating func addPullWaiting(_ waiting: [String: Set<String>]) {
        for (name, fields) in waiting {
            if let known = pullWaiting[name] {
                // An empty set stands for the whole collection.
                pullWaiting[name] = known.isEmpty || fields.isEmpty ? [] : known.union(fields)
            } else {
                pullWaiting[name] = fields
            }
        }
    }

    /// Takes out of ``pullWaiting`` what ``declared(in:)`` found declared (pulled again since).
    public mutating func removePullWaiting(_ declared: [String: Set<String>]) {
        for (name, fields) in declared {
            guard let known = pullWaiting[name] else { continue }
            let rest = known.subtracting(fields)
            pullWaiting[name] = known.isEmpty || rest.isEmpty ? nil : rest
        }
    }

    /// As stored: canonical JSON, `{"pullWaiting":{COLLECTION:[FIELD…]},"sendsBack":true,"unsent":[COLLECTION…]}`.
    public var json: JSONValue {
        func sorted(_ names: Set<String>) -> JSONValue { .array(names.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { .string($0) }) }
        var o: [String: JSONValue] = ["unsent": sorted(unsent), "pullWaiting": .object(pullWaiting.mapValues(sorted))]
        if sendsBack { o["sendsBack"] = true }
        return .object(o)
    }

    /// Reads what ``json`` wrote; nil or unreadable text is nothing left behind.
    public init(jsonText: String?) {
        guard let jsonText, let value = try? JSONParser.parse(jsonText), case .object(let o) = value else { return }
        func names(_ v: JSONValue?) -> Set<String> {
            guard case .array(let items)? = v else { return [] }
            return Set(items.compactMap(\.stringValue))
        }
        unsent = names(o["unsent"])
        if case .object(let waiting)? = o["pullWaiting"] { pullWaiting = waiting.mapValues { names($0) } }
        sendsBack = o["sendsBack"]?.boolValue ?? false
    }
}
