import StationCore
import StationHub
import StationSync

// The SQLite store plays every role the sync engine and the hub ask of storage (their ports,
// StationSync/Ports and StationHub). Reads run where they are called: WAL readers never wait for
// a lock, so they only spend the CPU their work takes. Writes that many requests make at once
// (a push's merge, the activity notes) are suspended until GRDB's writer runs them, grouped
// (`GroupCommit`); the others of a sync are one at a time and short.

extension StationStore: SyncStorage {
    public func state(of key: RecordKey) throws -> RecordState? {
        try record(key.collection, key.id)?.state
    }

    public func apply(
        _ changes: [IncomingChange], from peer: NodeID, cursor: FeedCursor?, claim: WriterClaim?,
        check: (@Sendable (IncomingChange, RecordState?) throws -> Void)?
    ) async throws -> [MergeResult] {
        do {
            // Grouped: concurrent pushes at a hub share one commit.
            return try await writeGrouped(durable: cursor == nil) { tx in
                if let claim { try tx.claimWriter(claim) }
                let results = try ReceivedMerge.mergeEach(changes, from: peer) { change in
                    try tx.merge(
                        change.collection, change.id, change.state, from: peer, encoded: change.encoded,
                        check: check.map { check in { local in try check(change, local) } })
                }
                if let cursor { try tx.setPulledCursor(cursor, peer: peer) }
                return results
            }
        } catch let error as StoreError where error.code == .databaseGone {
            throw SyncError(.unavailable, "this node cannot take writes now: its database file was removed or replaced under it; nothing was taken")
        }
    }
}

extension StationStore: HubStorage {}
