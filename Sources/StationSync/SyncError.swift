import StationCore

/// A sync failure: what went wrong, an HTTP-style status and a stable code.
///
/// The server answers with `status` and `{"error": code, "message": message}`; the client raises
/// the same from the answer it gets, so a station's error names the problem the hub found.
public struct SyncError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case badRequest = "bad_request"
        case invalidCursor = "invalid_cursor"
        case invalidState = "invalid_state"
        case unknownCollection = "unknown_collection"
        /// A change holds a counter number (a total, a stocktake's count or what it saw) past
        /// ±(2^53−1): refused, naming the record and the field.
        case counterOverflow = "counter_overflow"
        /// A pushed write is stamped further ahead of the receiver's clock than it accepts.
        case clockDrift = "clock_drift"
        /// A received state holds a write of another node than the sender stamped further ahead
        /// of the receiver's clock than it accepts: that record is left out (merge result
        /// `ahead`), the others go on. Never an answer of its own.
        case writeAhead = "write_ahead"
        /// A state pulled from a LAN peer rewrites, drops or brings back what this node holds of
        /// another node's writes, or holds a history entry that is not the conflict it names
        /// (a forged or broken state): that record is left out (merge result `refused`), the
        /// others go on. Never an answer of its own.
        case refusedChange = "refused_change"
        case unauthorized
        /// The right secret of a token that was revoked.
        case tokenRevoked = "token_revoked"
        case forbidden
        /// A pushed state holds writes of other nodes this node has not seen, from a token that
        /// may not relay: the change waits (push result `waiting`) rather than refusing the push.
        case unseenWrites = "unseen_writes"
        case notFound = "not_found"
        case tooLarge = "too_large"
        case schemaMismatch = "schema_mismatch"
        /// A pushed state holds a write this node has under the same dot with other content.
        case dotCollision = "dot_collision"
        /// Another database writes as the pushing node here (a second device with the same
        /// token, a reinstalled station while the old one is live): `station sync --take-over`.
        case nodeTaken = "node_taken"
        case unavailable
        /// A request body did not arrive whole in the time a node allows (one dripping in).
        case requestTimeout = "request_timeout"
        case `internal`
        case transport
        case protocolError = "protocol_error"
        /// A peer whose session says it knows this node by its token (a hub) did not prove that
        /// it holds the token, or a peer names itself after a hub this node syncs with by its
        /// token without proving it: a peer posing as the hub. Nothing is synced. Never an
        /// answer of a server.
        case unprovenPeer = "unproven_peer"
    }

    public var code: Code
    public var message: String
    /// The records the error is about, when it is about particular ones: for a push refused by
    /// origin binding (`forbidden`), every record of the batch that was refused, so a node that
    /// took a forged state from a LAN peer or a change file can send the rest without them.
    /// Carried in the error body's `records`.
    public var records: [RecordKey]

    public init(_ code: Code, _ message: String, records: [RecordKey] = []) {
        self.code = code
        self.message = message
        self.records = records
    }

    /// The HTTP status the server answers with.
    public var httpStatus: Int {
        switch code {
        case .badRequest, .invalidCursor, .invalidState, .unknownCollection, .counterOverflow, .clockDrift, .writeAhead: return 400
        case .refusedChange: return 403
        case .unauthorized, .tokenRevoked: return 401
        case .forbidden, .unseenWrites: return 403
        case .notFound: return 404
        case .schemaMismatch, .dotCollision, .nodeTaken: return 409
        case .tooLarge: return 413
        case .unavailable: return 503
        case .requestTimeout: return 408
        case .internal, .protocolError, .transport, .unprovenPeer: return 500
        }
    }

    /// Whether trying again later may succeed (the network, an overloaded or restarting peer).
    public var isTransient: Bool { code == .transport || code == .unavailable || code == .requestTimeout }

    public var description: String { message }
}
