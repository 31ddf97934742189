import StationCore

extension ConflictReport {
    /// The conflicts one record holds, open and resolved, as `status` asks (nil: both): what
    /// every hub backend reports of a record that holds conflicts or a resolution history.
    public static func reports(of state: RecordState, in collection: CollectionSchema, id: String, status: Status?) -> [ConflictReport] {
        var reports: [ConflictReport] = []
        if status != .resolved { reports += state.view(in: collection, id: id).conflicts.map(ConflictReport.init(open:)) }
        if status != .open { reports += state.resolutions.map { ConflictReport(resolved: $0, collection: collection.name, recordID: id) } }
        return reports
    }

    /// `reports` newest first (by the time the conflict began, then by id), as every backend lists them.
    public static func newestFirst(_ reports: [ConflictReport]) -> [ConflictReport] {
        reports.sorted { ($0.since, $0.id) > ($1.since, $1.id) }
    }

    /// Of every report under one conflict id, the one that stands for it: open if a record still
    /// holds it, else its latest resolution.
    public static func standing(_ reports: [ConflictReport]) -> ConflictReport? {
        reports.first { $0.status == .open } ?? reports.max { ($0.resolution?.time ?? .zero) < ($1.resolution?.time ?? .zero) }
    }

    /// Checks that this report is an open conflict that may be resolved; throws `conflict_not_found`
    /// otherwise (an unknown id, or one already resolved).
    public static func checkOpen(_ report: ConflictReport?, id: String) throws(CoreError) -> ConflictReport {
        guard let report else { throw CoreError(.conflictNotFound, "no conflict \(id) here (station conflicts list shows the ids)") }
        guard report.status == .open else {
            let r = report.resolution!
            throw CoreError(.conflictNotFound, "conflict \(id) was already resolved (\(r.how.rawValue) by \(r.by.node))")
        }
        return report
    }
}
