import StationCore

/// Sync progress with one peer.
public struct Checkpoint: Sendable, Equatable {
    /// The local sequence up to which changes have been pushed to the peer.
    public var pushed: Int64
    /// The peer's cursor after the last batch pulled from it (``FeedCursor/beginning`` before the first pull).
    public var pulled: FeedCursor
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
        pushed: Int64, pulled: FeedCursor, peerDatabase: String = "", updatedAt: String? = nil, byToken: Bool? = nil,
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
/// reset of the checkpoint replaces it. Syncs change it by ``Update``s, which the backend
/// applies to the stored value in one transaction: two syncs with one peer at once (the
/// `sync --every` service and a clerk's `station sync`) each add and take out their own, and
/// neither writes back a copy read before the other's.
public struct LeftBehind: Sendable, Equatable {
    public var unsent: Set<String> = []
    public var pullWaiting: [String: Set<String>] = [:]
    public var sendsBack = false
    /// The stored value could not be read (edited by hand, or a bug): what it named is not
    /// known, so the next sync starts over with the peer (pushes and pulls everything again,
    /// sending back what came from it), which syncs whatever it named.
    public var unreadable = false

    public init(unsent: Set<String> = [], pullWaiting: [String: Set<String>] = [:], sendsBack: Bool = false) {
        self.unsent = unsent
        self.pullWaiting = pullWaiting
        self.sendsBack = sendsBack
    }

    public var isEmpty: Bool { unsent.isEmpty && pullWaiting.isEmpty && !sendsBack && !unreadable }

    /// A change of what is left behind, as a sync makes it: added and taken out, never the
    /// whole value (see ``LeftBehind``).
    public struct Update: Sendable, Equatable {
        /// Collections whose changes this sync moves past without sending them.
        public var unsent: Set<String> = []
        /// Collections this sync can send now, that earlier syncs could not (the push position
        /// moves back with this update).
        public var sendable: Set<String> = []
        /// What records this sync moves past held that this schema lacks (see ``addPullWaiting(_:)``).
        public var pullWaiting: [String: Set<String>] = [:]
        /// What this schema declares now that records moved past held (the pull position moves
        /// back with this update; see ``removePullWaiting(_:)``).
        public var declared: [String: Set<String>] = [:]
        /// A push of everything to the peer's database with this id finished: what came from
        /// the peer went back to it. (Not to one that replaced it meanwhile, which another sync
        /// started over with: that one's records are still to go back.)
        public var sentBack: String? = nil

        public init(
            unsent: Set<String> = [], sendable: Set<String> = [], pullWaiting: [String: Set<String>] = [:],
            declared: [String: Set<String>] = [:], sentBack: String? = nil
        ) {
            self.unsent = unsent
            self.sendable = sendable
            self.pullWaiting = pullWaiting
            self.declared = declared
            self.sentBack = sentBack
        }

        public var isEmpty: Bool { unsent.isEmpty && sendable.isEmpty && pullWaiting.isEmpty && declared.isEmpty && sentBack == nil }
    }

    /// This with `update` applied, for a checkpoint with the peer's database `peerDatabase`:
    /// taken out first, then added (so what one update both takes out and adds stays).
    public func applying(_ update: Update, peerDatabase: String) -> LeftBehind {
        var next = self
        next.unsent.subtract(update.sendable)
        next.removePullWaiting(update.declared)
        if let sentBack = update.sentBack, sentBack.hasSameBytes(as: peerDatabase) { next.sendsBack = false }
        next.unsent.formUnion(update.unsent)
        next.addPullWaiting(update.pullWaiting)
        return next
    }

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

    /// Reads what ``json`` wrote; nil is nothing left behind (a checkpoint stored before it was
    /// kept). Text that is not what ``json`` writes reads as ``unreadable``.
    public init(jsonText: String?) {
        guard let jsonText else {
            self.init()
            return
        }
        guard let value = try? JSONParser.parse(jsonText), case .object(let o) = value else {
            self.init(unreadable: ())
            return
        }
        func names(_ v: JSONValue?) -> Set<String>? {
            guard case .array(let items)? = v else { return nil }
            let names = items.compactMap(\.stringValue)
            return names.count == items.count ? Set(names) : nil
        }
        var waiting: [String: Set<String>] = [:]
        switch o["pullWaiting"] {
        case .object(let entries)?:
            for (name, fields) in entries {
                guard let fields = names(fields) else {
                    self.init(unreadable: ())
                    return
                }
                waiting[name] = fields
            }
        case nil: break
        default:
            self.init(unreadable: ())
            return
        }
        let sendsBack: Bool?
        switch o["sendsBack"] {
        case nil: sendsBack = false
        case .some(let value): sendsBack = value.boolValue
        }
        let unsent = o["unsent"] == nil ? [] : names(o["unsent"])
        guard let unsent, let sendsBack,
            Set(o.keys).isSubset(of: ["unsent", "pullWaiting", "sendsBack"])
        else {
            self.init(unreadable: ())
            return
        }
        self.init(unsent: unsent, pullWaiting: waiting, sendsBack: sendsBack)
    }

    private init(unreadable: Void) {
        self.init(sendsBack: true)
        self.unreadable = true
    }
}
