import CoreMetrics
import StationSync

extension StationStore: StorageMetrics {
    /// Counts how many writers each group commit takes (a histogram,
    /// `stationsync_group_commit_writers`) into metrics made by `factory`.
    public func countMetrics(into factory: any MetricsFactory) {
        let recorder = Recorder(label: "stationsync_group_commit_writers", aggregate: true, factory: factory)
        groupCommit.sizes.withLock { $0 = recorder }
    }
}
