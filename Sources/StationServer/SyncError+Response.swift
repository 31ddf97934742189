import HTTPTypes
import Hummingbird
import NIOCore
import StationCore
import StationSync

/// A sync error renders itself: its status (``SyncError/httpStatus``) and the protocol's JSON error
/// body, `{"error": CODE, "message": TEXT, "records": […]}` (Protocol/http.md, "Errors"), wherever
/// it is thrown in a route.
extension SyncError: HTTPResponseError {
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: httpStatus) }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        SyncServer.errorResponse(status: httpStatus, code: code.rawValue, message: message, records: records)
    }
}

extension SyncServer {
    /// The protocol's JSON error body with its status.
    static func errorResponse(status: Int, code: String, message: String, records: [RecordKey] = []) -> Response {
        let body = Array(ErrorBody(error: code, message: message, records: records).json.canonicalText.utf8)
        return Response(
            status: HTTPResponse.Status(code: status),
            headers: [.contentType: "application/json", .contentLength: String(body.count)],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: body)))
    }
}
