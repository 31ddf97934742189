import StationHub
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
                reports += ConflictReport.reports(of: try RecordState(jsonText: row["state"]), in: c, id: id, status: status)
            }
            return ConflictReport.newestFirst(reports)
        }
    }

    /// One conflict by id: open if a record still holds it, else its latest resolution.
    public func conflictReport(id: String) throws -> ConflictReport? {
        ConflictReport.standing(try conflictReports().filter { $0.id == id })
    }

    /// Resolves conflict `id` with one local write; `person` (who resolved it) is recorded in the
    /// record's history. Throws, changing nothing, for an unknown id (or one already resolved) or
    /// an index out of range.
    @discardableResult
    public func resolveConflict(id: String, _ choice: RecordState.ResolutionChoice, person: String? = nil) throws -> ConflictReport {
        let report = try ConflictReport.checkOpen(try conflictReport(id: id), id: id)
        _ = try write { tx in try tx.resolve(report.collection, report.recordID, conflict: id, choice, person: person) }
        return try conflictReport(id: id) ?? report
    }
}
