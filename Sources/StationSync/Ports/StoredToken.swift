/// A bearer token as stored: who it is for and what it allows; only a hash of its secret.
public struct StoredToken: Sendable, Equatable {
    public var id: String
    public var station: String
    public var secretHash: [UInt8]
    /// What the token may read and write (stored as `*` or comma-separated collection names).
    public var read: AccessList
    public var write: AccessList
    public var relay: Bool
    /// Whether it opens the hub's dashboard.
    public var isOperator: Bool
    public var createdAt: String
    public var revokedAt: String?

    public init(
        id: String, station: String, secretHash: [UInt8], read: AccessList, write: AccessList, relay: Bool, isOperator: Bool = false,
        createdAt: String, revokedAt: String? = nil
    ) {
        self.id = id
        self.station = station
        self.secretHash = secretHash
        self.read = read
        self.write = write
        self.relay = relay
        self.isOperator = isOperator
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}
