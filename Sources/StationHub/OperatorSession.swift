/// A signed-in operator on the hub's dashboard: a server-side session.
///
/// The browser holds only the session's random id (in a cookie); the hub stores a hash of it, the
/// token it was opened with, a CSRF token for the session's forms, when it expires, and the next
/// notice to show. A session ends at sign-out, when it expires, and when its token is revoked.
public struct OperatorSession: Sendable, Equatable {
    /// The token the operator signed in with.
    public var tokenID: String
    /// The form token every POST of this session must carry.
    public var csrf: String
    /// When it expires (`YYYY-MM-DD HH:MM:SS`, UTC).
    public var expiresAt: String
    /// A notice to show on the next page (the outcome of the last action), or nil.
    public var flash: String?

    public init(tokenID: String, csrf: String, expiresAt: String, flash: String?) {
        self.tokenID = tokenID
        self.csrf = csrf
        self.expiresAt = expiresAt
        self.flash = flash
    }
}
