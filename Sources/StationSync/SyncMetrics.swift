import CoreMetrics
import StationCore

/// What the serving side of the protocol counts, through swift-metrics: changes pushed and pulled
/// and what became of each pushed change. The backend is the node's (a Prometheus registry for
/// `hub serve` and `station serve`, see StationServer's `NodeMetrics`); by default nothing is
/// recorded.
public struct SyncMetrics: Sendable {
    let pushedChanges: Counter
    let pulledChanges: Counter
    let pushes: Counter
    let pulls: Counter
    let factory: any MetricsFactory

    /// A storage call of the protocol's handlers that failed (answered 500), by what it did.
    func recordStoreError(_ operation: String) {
        Counter(label: "stationsync_store_errors_total", dimensions: [("operation", operation)], factory: factory).increment()
    }

    /// Metrics made by `factory` (default: swift-metrics' no-op handlers, nothing recorded).
    public init(factory: any MetricsFactory = NOOPMetricsHandler.instance) {
        self.factory = factory
        pushedChanges = Counter(label: "stationsync_pushed_changes_total", factory: factory)
        pulledChanges = Counter(label: "stationsync_pulled_changes_total", factory: factory)
        pushes = Counter(label: "stationsync_pushes_total", factory: factory)
        pulls = Counter(label: "stationsync_pulls_total", factory: factory)
    }

    /// A push answered with `results` (one per change).
    func recordPush(_ results: [MergeResult]) {
        pushes.increment()
        pushedChanges.increment(by: results.count)
        var byResult: [MergeResult: Int] = [:]
        for r in results { byResult[r, default: 0] += 1 }
        for (result, n) in byResult {
            Counter(label: "stationsync_merge_outcomes_total", dimensions: [("result", result.rawValue)], factory: factory).increment(by: n)
        }
    }

    /// A page of `count` changes served (counted when it is answered: pages read ahead may never be).
    public func recordPull(_ count: Int) {
        pulls.increment()
        pulledChanges.increment(by: count)
    }
}

/// A backend that counts its own work into a node's metrics (the SQLite store: how many writers
/// each group commit took).
public protocol StorageMetrics: Sendable {
    /// Counts from now on into metrics made by `factory`.
    func countMetrics(into factory: any MetricsFactory)
}
