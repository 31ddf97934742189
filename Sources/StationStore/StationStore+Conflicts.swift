import StationSync
import GRDB
import StationCore

extension StationStore {
    /// Conflicts, open and resolved, newest first, read through the small partial indexes of
    /// records that hold conflicts or a resolution history.
    public func conflictReports(collection: String? = nil, status: ConflictReport.Status? = nil) throws -> [ConflictReport] {
        if let collection { _ = try schema.collection(collection) }
        let schema = self.schema
        return try read { db in
            var reports: [ConflictReport] = []
            var filters: [String] = []
            if status != .resolved { filters.append("conflicts > 0") }
            if status != .open { filters.append("resolved > 0") }
            let sql =
                "SELECT collection, id, state FROM record WHERE (\(filters.joined(separator: " OR ")))"
                + (collection == nil ? "" : " AND collection = ?")
            let rows = try Row.fetchAll(db, sql: sql, arguments: collection.map { [$0] } ?? [])
            for row in rows {
                let name: String = row["collection"]
                let id: String = row["id"]
                guard let c = schema.collections[name] else { continue }
                let state = try RecordState(jsonText: row["state"])
                if status != .resolved {
                    reports += state.view(in: c, id: id).conflicts.map(ConflictReport.init(open:))
                }
                if status != .open {
                    reports += state.resolutions.map { ConflictReport(resolved: $0, collection: name, recordID: id) }
                }
            }
            return reports.sorted { ($0.since, $0.id) > ($1.since, $1.id) }
        }
    }

    /// One conflict by id: open if a record still holds it, else its latest resolution.
    public func conflictReport(id: String) throws -> ConflictReport? {
        let all = try conflictReports().filter { $0.id == id }
        return all.first { $0.status == .open } ?? all.max { ($0.resolution?.time ?? .zero) < ($1.resolution?.time ?? .zero) }
    }

    /// Resolves an open conflict with one local write. Throws, changing nothing, for an unknown id
    /// (or one already resolved) or an index out of range.
    @discardableResult
    /// Resolves conflict `id` with one local write; `person` (who resolved it) is recorded in the
    /// record's history.
    public func resolveConflict(id: String, _ choice: RecordState.ResolutionChoice, person: String? = nil) throws -> ConflictReport {
        guard let report = try conflictReport(id: id) else {
            throw CoreError(.conflictNotFound, "no conflict \(id) here (station conflicts list shows the ids)")
        }
        guard report.status == .open else {
            let r = report.resolution!
            throw CoreError(.conflictNotFound, "conflict \(id) was already resolved (\(r.how.rawValue) by \(r.by.node))")
        }
        _ = try write { tx in try tx.resolve(report.collection, report.recordID, conflict: id, choice, person: person) }
        return try conflictReport(id: id) ?? report
    }
}
