import Hummingbird
import StationSync

/// The request context of a node's routes: Hummingbird's core context and, for the routes behind
/// ``BearerAuthentication``, who the request is from.
public struct StationRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The token's principal, set by ``BearerAuthentication``; nil on the routes outside it
    /// (health, metrics, the dashboard's own cookie sign-in).
    public var principal: Principal?
    /// The records API's user, set by ``UserAuthentication``; nil elsewhere.
    public var user: LocalUser?

    public init(source: Source) {
        coreContext = .init(source: source)
        principal = nil
        user = nil
    }

    /// The user of a route behind ``UserAuthentication``.
    func signedInUser() throws(APIError) -> LocalUser {
        guard let user else { throw APIError(status: 401, code: "unauthorized", message: "this route needs a user's token") }
        return user
    }

    /// The principal of a route behind ``BearerAuthentication``.
    func authenticated() throws(SyncError) -> Principal {
        guard let principal else { throw SyncError(.unauthorized, "this route needs a bearer token (Authorization: Bearer TOKEN)") }
        return principal
    }
}

/// Checks the bearer token of every request to the routes behind it, before anything else of the
/// request is read (its body included), and puts the principal in the context: a refused token is
/// 401 and costs the node nothing more.
struct BearerAuthentication: RouterMiddleware {
    typealias Context = StationRequestContext
    let service: SyncService

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let principal = try await service.authenticate(authorization: request.headers[.authorization])
        context.principal = principal
        if let station = principal.station { RequestNote.current?.set(station: station) }
        return try await next(request, context)
    }
}
