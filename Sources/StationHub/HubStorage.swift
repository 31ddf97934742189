import StationCore
import StationSync

/// What the hub keeps beyond syncing, for its operator: the stations and their tokens, what each
/// station did, which database writes as each node, the conflicts and their resolution, and the
/// dashboard's signed-in sessions. The SQLite `StationStore` conforms; the hub's PostgreSQL store
/// implements the same, without anything of SQLite.
public protocol HubStorage: SyncStorage {
    /// Records per collection: alive and deleted.
    func counts() async throws -> [String: (alive: Int, deleted: Int)]
    /// What each station was last seen doing here, by station name.
    func stationActivity() async throws -> [StationActivity]
    /// How many records changed after feed sequence `seq` (a station's lag).
    func changeCount(after seq: Int64) async throws -> Int
    /// Every token, revoked ones included, oldest first.
    func tokens() async throws -> [StoredToken]
    /// Which databases pushed (or tried to) as each node.
    func nodeWriters() async throws -> [NodeWriter]
    /// The conflicts held, of one collection or all, open or resolved or both.
    func conflictReports(collection: String?, status: ConflictReport.Status?) async throws -> [ConflictReport]
    /// One conflict, by its id.
    func conflictReport(id: String) async throws -> ConflictReport?
    /// Resolves a conflict as `choice` says, as `person` did it; returns the conflict as it is now.
    @discardableResult func resolveConflict(id: String, _ choice: RecordState.ResolutionChoice, person: String?) async throws -> ConflictReport
    /// Opens an operator session stored under `idHash`, for `lifetime` seconds.
    func createOperatorSession(idHash: String, tokenID: String, csrf: String, lifetime: Int) async throws
    /// The session stored under `idHash`, unless it expired or its token was revoked.
    func operatorSession(idHash: String) async throws -> OperatorSession?
    /// Sets the notice the session's next page shows.
    func setOperatorFlash(idHash: String, _ flash: String?) async throws
    /// Ends a session (sign-out).
    func endOperatorSession(idHash: String) async throws
}
