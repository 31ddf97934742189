import StationCore

/// Which database writes as a node, as a hub records it.
public struct NodeWriter: Sendable, Equatable {
    /// What the hub does with the writer's pushes.
    public enum Status: String, Sendable {
        /// The node's database: its pushes are taken.
        case live
        /// It was the live one; a restored or copied file of it, or a take-over, replaced it.
        case retired
        /// It tried to push while another database was live, and was never taken.
        case refused
    }

    public var node: String
    /// `NODE.INCARNATION` (or the bare node name, for a database made before incarnations).
    public var writer: String
    public var status: Status
    public var firstSeenAt: String
    /// When its last push was taken.
    public var lastPushAt: String?
    public var retiredAt: String?
    /// The writer that replaced it.
    public var retiredBy: String?
    /// Why it was retired or made live: "restored or copied from …", "took over from …".
    public var reason: String?
    /// How many of its pushes were refused, and when the last was.
    public var refusals: Int
    public var lastRefusedAt: String?

    public init(
        node: String, writer: String, status: Status, firstSeenAt: String, lastPushAt: String? = nil, retiredAt: String? = nil,
        retiredBy: String? = nil, reason: String? = nil, refusals: Int = 0, lastRefusedAt: String? = nil
    ) {
        self.node = node
        self.writer = writer
        self.status = status
        self.firstSeenAt = firstSeenAt
        self.lastPushAt = lastPushAt
        self.retiredAt = retiredAt
        self.retiredBy = retiredBy
        self.reason = reason
        self.refusals = refusals
        self.lastRefusedAt = lastRefusedAt
    }
}

/// What a push says about the database it comes from (see ``WriteTransaction/claimWriter(_:)``).
public struct WriterClaim: Sendable, Equatable {
    public var node: String
    public var writer: String
    /// The names the pushing database wrote under before, oldest first.
    public var lineage: [String]
    /// `station sync --take-over`: make it the node's live database though another one is.
    public var takeOver: Bool

    public init(node: String, writer: String, lineage: [String] = [], takeOver: Bool = false) {
        self.node = node
        self.writer = writer
        self.lineage = lineage
        self.takeOver = takeOver
    }
}

/// A push refused because another database writes as its node (see StationStore+Writers.swift).
public struct WriterRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var claim: WriterClaim
    /// The node's live database.
    public var live: NodeWriter
    /// Whether the pushing database was the live one once and was replaced.
    public var wasRetired: Bool

    public init(claim: WriterClaim, live: NodeWriter, wasRetired: Bool) {
        self.claim = claim
        self.live = live
        self.wasRetired = wasRetired
    }

    public var description: String {
        let when = live.lastPushAt.map { ", last push \($0)" } ?? ""
        let what =
            wasRetired
            ? "node \(claim.node) writes from another database now (\(live.writer)\(when)), which replaced this one (\(claim.writer)): a restored or copied file of it, or a machine that took over"
            : "node \(claim.node) already writes from another database (\(live.writer)\(when)); this one (\(claim.writer)) is not it"
        return what
            + ". Nothing of this push was taken; this database keeps all its writes. If this machine is to be \(claim.node) from now on (a reinstall, a move), run `station sync --take-over` here: the other database is then refused. If both are to sync, give this one its own node name and token (`hub token add NAME`, `station init --node NAME`)."
    }
}

extension NodeWriter {
    /// As `hub info --json` shows it.
    public var json: JSONValue {
        func text(_ s: String?) -> JSONValue { s.map { .string($0) } ?? .null }
        return .object([
            "node": .string(node), "writer": .string(writer), "status": .string(status.rawValue), "firstSeenAt": .string(firstSeenAt),
            "lastPushAt": text(lastPushAt), "retiredAt": text(retiredAt), "retiredBy": text(retiredBy), "reason": text(reason),
            "refusals": .int(Int64(refusals)), "lastRefusedAt": text(lastRefusedAt),
        ])
    }
}

extension WriterClaim {
    /// What a hub does with a push making this claim, given the databases it knows as the node's
    /// (one node name, one live database; see StationStore+Writers.swift for the whole rule):
    /// every backend decides the same way.
    public enum Decision: Sendable, Equatable {
        /// The claiming database is the node's live one.
        case live
        /// It becomes the node's live database, for `reason`; `retiring`, the live one before it
        /// (if any), is retired, replaced by it.
        case becomesLive(reason: String, retiring: NodeWriter?)
    }

    /// Decides on this claim against `writers`, the node's databases as the hub records them.
    /// Throws ``WriterRefusal`` when another database is the node's: the push is refused whole.
    public func decide(against writers: [NodeWriter]) throws(WriterRefusal) -> Decision {
        let live = writers.first { $0.status == .live }
        let own = writers.first { $0.writer.hasSameBytes(as: writer) }
        if let own, own.status == .live { return .live }
        guard let live else { return .becomesLive(reason: "first database of \(node) here", retiring: nil) }
        if own == nil, lineage.contains(where: { $0.hasSameBytes(as: live.writer) }) {
            // Only a file that came from the live database follows it: a copy of one that was
            // replaced (by a take-over, or by another copy) does not take the node back.
            return .becomesLive(reason: "a restored or copied file of \(live.writer)", retiring: live)
        }
        if takeOver { return .becomesLive(reason: "took over from \(live.writer) (station sync --take-over)", retiring: live) }
        throw WriterRefusal(claim: self, live: live, wasRetired: own?.status == .retired)
    }
}

extension NodeWriter {
    /// How many databases a node's history keeps besides its live one (the retired and the
    /// refused, the latest first): a token pushing under ever new database names (each refused,
    /// or each taking over) cannot grow it without end.
    public static let keptPastWriters = 16

    /// When this database was last heard of: its last refusal, its retirement or its first push,
    /// whichever is latest (times as the hub writes them, `YYYY-MM-DD HH:MM:SS`, sort as text).
    public var lastHeardOf: String {
        max(lastRefusedAt ?? "", retiredAt ?? "", firstSeenAt)
    }

    /// The writer names of `writers` (one node's) that its history forgets: the retired and
    /// refused beyond the ``keptPastWriters`` last heard of (ties by writer name, by bytes). A
    /// forgotten one that pushes again is refused like any database the hub does not know.
    public static func forgotten(among writers: [NodeWriter]) -> [String] {
        let past = writers.filter { $0.status != .live }.sorted { a, b in
            if !a.lastHeardOf.hasSameBytes(as: b.lastHeardOf) { return b.lastHeardOf.utf8.lexicographicallyPrecedes(a.lastHeardOf.utf8) }
            return b.writer.utf8.lexicographicallyPrecedes(a.writer.utf8)
        }
        return past.dropFirst(keptPastWriters).map(\.writer)
    }
}
