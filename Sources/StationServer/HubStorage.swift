import StationCore
import StationStore
import StationSync

/// What the hub's conflict API and dashboard need from storage, beyond syncing. The SQLite
/// ``StationStore`` implements it; a PostgreSQL hub store would implement the same.
public protocol HubStorage: SyncStorage {
    func counts() throws -> [String: (alive: Int, deleted: Int)]
    func stationActivity() throws -> [StationActivity]
    func changeCount(after seq: Int64) throws -> Int
    func tokens() throws -> [StoredToken]
    /// Which databases pushed (or tried to) as each node (see ``StationStore/nodeWriters()``).
    func nodeWriters() throws -> [NodeWriter]
    func conflictReports(collection: String?, status: ConflictReport.Status?) throws -> [ConflictReport]
    func conflictReport(id: String) throws -> ConflictReport?
    func createOperatorSession(idHash: String, tokenID: String, csrf: String, lifetime: Int) throws
    func operatorSession(idHash: String) throws -> OperatorSession?
    func setOperatorFlash(idHash: String, _ flash: String?) throws
    func endOperatorSession(idHash: String) throws
    @discardableResult func resolveConflict(id: String, _ choice: RecordState.ResolutionChoice, person: String?) throws -> ConflictReport
}

extension StationStore: HubStorage {}
