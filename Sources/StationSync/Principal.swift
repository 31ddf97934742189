/// Who is calling, as established from the request's bearer token, and what they may do.
public struct Principal: Sendable, Equatable {
    /// The station the token belongs to; nil for a trusted peer of `station serve`, which names
    /// itself in the request.
    public var station: String?
    public var read: AccessList
    public var write: AccessList
    /// Whether this caller may bring writes made by other nodes (a peer or hub forwarding them).
    public var relay: Bool
    /// Whether this caller is an operator of the hub (dashboard, conflict resolution there).
    public var isOperator: Bool
    /// SHA-256 of the secret of the token the caller presented (a stored token's), with which
    /// this node proves at the session that it holds the caller's token (``Tokens/sessionProof``).
    public var secretHash: [UInt8]?

    public init(station: String?, read: AccessList, write: AccessList, relay: Bool, isOperator: Bool = false, secretHash: [UInt8]? = nil) {
        self.station = station
        self.read = read
        self.write = write
        self.relay = relay
        self.isOperator = isOperator
        self.secretHash = secretHash
    }

    /// A peer that presented the server's shared token (or any caller of an open server): reads
    /// and writes everything, may relay.
    public static let trustedPeer = Principal(station: nil, read: .all, write: .all, relay: true)
}
