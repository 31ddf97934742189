import HTTPTypes
import Hummingbird
import Logging
import StationCore
import StationHub
import StationSync

/// `GET /v1/conflicts?collection=C&status=open|resolved|all` and `GET /v1/conflicts/{id}`: the
/// same data as `conflicts list --json` and `conflicts show --json`, for collections the token
/// may read.
enum ConflictRoutes {
    static func add(to router: RouterGroup<StationRequestContext>, service: SyncService, storage: any HubStorage, limits: SyncServer.Limits) {
        router.get("/v1/conflicts") { request, context in
            let principal = try context.authenticated()
            let query = request.uri.queryParameters
            let collection = query["collection"].map(String.init)
            let status = try parseStatus(query["status"].map(String.init))
            if let collection {
                guard storage.schema.collections[collection] != nil else {
                    throw SyncError(.unknownCollection, "unknown collection \"\(collection)\"")
                }
                guard principal.read.allows(collection) else { throw SyncError(.forbidden, "this token may not read \(collection)") }
            }
            let reports = try await storage.conflictReports(collection: collection, status: status)
                .filter { principal.read.allows($0.collection) }
            return SyncServer.json(.array(reports.map(\.summaryJSON)), request: request, limits: limits)
        }
        router.get("/v1/conflicts/:id") { request, context in
            let principal = try context.authenticated()
            let id = context.parameters.get("id") ?? ""
            guard let report = try await storage.conflictReport(id: id), principal.read.allows(report.collection) else {
                throw SyncError(.notFound, "no conflict \(id.prefix(32)) here")
            }
            return SyncServer.json(report.json, request: request, limits: limits)
        }
    }

    static func parseStatus(_ text: String?) throws(SyncError) -> ConflictReport.Status? {
        switch text {
        case nil, "open": return .open
        case "resolved": return .resolved
        case "all": return nil
        default: throw SyncError(.badRequest, "status must be open, resolved or all")
        }
    }
}
