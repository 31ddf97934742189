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

    public init(pushed: Int64, pulled: String, peerDatabase: String = "", updatedAt: String? = nil, byToken: Bool? = nil) {
        self.pushed = pushed
        self.pulled = pulled
        self.peerDatabase = peerDatabase
        self.updatedAt = updatedAt
        self.byToken = byToken
    }
}
