import CoreMetrics
import Foundation
import Hummingbird
import Logging
import Prometheus
import StationHub
import StationSync
import Synchronization

/// A node's metrics in one Prometheus registry, served at `GET /metrics` in the text format:
/// requests by route and status with their durations, changes pushed and pulled and what became
/// of each pushed change (``SyncMetrics``, through swift-metrics), records with open conflicts,
/// and at a hub each station's lag (how far behind the feed's last sequence its last pull was)
/// and its clock offset. One registry per server, so servers in one process count apart.
public final class NodeMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    /// What the protocol's handlers count into.
    public let sync: SyncMetrics
    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5), .seconds(5), .seconds(10), .seconds(30),
    ]

    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    /// Makes metrics into this registry (for what a backend counts, see ``StorageMetrics``).
    public let factory: any MetricsFactory

    public init() {
        factory = PrometheusMetricsFactory(registry: registry)
        sync = SyncMetrics(factory: factory)
    }

    /// Counts one answered request of `route` (the route's pattern, e.g. `/v1/changes`).
    func recordRequest(method: String, route: String, status: Int, duration: Duration) {
        // A client chooses the method's text: only the methods a node serves are labels of their
        // own, so that made-up ones cannot grow the registry without bound (as `route` is the
        // route's pattern, or `unmatched`).
        let method = Self.methods.contains(method) ? method : "other"
        let labels = [("method", method), ("route", route), ("status", String(status))]
        registry.makeCounter(name: "stationsync_http_requests_total", labels: labels).increment()
        registry.makeDurationHistogram(
            name: "stationsync_http_request_duration_seconds", labels: [("method", method), ("route", route)], buckets: Self.durationBuckets
        ).record(duration)
    }

    /// The text format, with the gauges read now from `service`'s storage (and `hub`'s).
    func render(service: SyncService, hub: (any HubStorage)?) async -> [UInt8] {
        if let open = try? await service.storage.conflictedRecordCount() {
            registry.makeGauge(name: "stationsync_conflicted_records").set(Double(open))
        }
        if let last = try? await service.storage.lastSequence() {
            registry.makeGauge(name: "stationsync_feed_last_sequence").set(Double(last))
            if let hub, let activity = try? await hub.stationActivity() {
                for a in activity {
                    registry.makeGauge(name: "stationsync_station_lag_sequences", labels: [("station", a.station)]).set(
                        Double(max(0, last - a.pulledThrough)))
                    if let offset = a.clockOffset {
                        registry.makeGauge(name: "stationsync_station_clock_offset_ms", labels: [("station", a.station)]).set(Double(offset))
                    }
                }
            }
        }
        return registry.emitToBuffer()
    }
}

/// What the request log learns during a request: the station it came from (its token's, set by
/// ``BearerAuthentication``) and how many changes it carried (set by the push and pull handlers).
/// Bound for each request by ``RequestLogMiddleware``.
final class RequestNote: Sendable {
    @TaskLocal static var current: RequestNote?
    private let state = Mutex<(station: String?, changes: Int?)>((nil, nil))

    func set(changes: Int) {
        state.withLock { $0.changes = changes }
    }

    func set(station: String) {
        state.withLock { $0.station = station }
    }

    var noted: (station: String?, changes: Int?) { state.withLock { $0 } }
}

/// One log line per request (method, route, status, station, changes, ms), at info for the
/// protocol's routes and debug for health checks and scrapes; and the request counted in
/// ``NodeMetrics``. Outermost, so it sees the status the error middleware gave.
struct RequestLogMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: NodeMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let note = RequestNote()
        var status = 500
        defer {
            let elapsed = ContinuousClock.now - start
            // The route's pattern (ids and query left out), so metrics stay few.
            let route = context.endpointPath ?? "unmatched"
            metrics.recordRequest(method: request.method.rawValue, route: route, status: status, duration: elapsed)
            let noted = note.noted
            let quiet = route == "/v1/health" || route == "/metrics"
            var metadata: Logger.Metadata = [
                "method": "\(request.method)", "route": "\(route)", "status": "\(status)",
                "ms": "\(String(format: "%.1f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000))",
            ]
            // `station`: the token's, once it authenticated; `node`: what the request's header
            // names (not checked: a refused request is not logged under a station it names).
            if let station = noted.station {
                metadata["station"] = "\(station)"
            } else if let node = request.headers[SyncServer.nodeHeader] {
                metadata["node"] = "\(node.prefix(80))"
            }
            if let changes = noted.changes { metadata["changes"] = "\(changes)" }
            logger.log(level: quiet ? .debug : .info, "request", metadata: metadata)
        }
        let response = try await RequestNote.$current.withValue(note) { try await next(request, context) }
        status = response.status.code
        return response
    }
}
