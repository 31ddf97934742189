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
