import StationCore
import StationHub
import StationSync

// What a hub keeps beyond syncing (StationHub's port), in memory.

extension MemoryStore: HubStorage {
    public func counts() -> [String: (alive: Int, deleted: Int)] {
        state.withLock { s in
            var result = s.tally.filter { $0.value.alive + $0.value.deleted > 0 }
            for name in s.schema.collectionNames where result[name] == nil { result[name] = (0, 0) }
            return result
        }
    }

    public func stationActivity() -> [StationActivity] {
        state.withLock { s in
            s.activity.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.map { station, row in
                StationActivity(
                    station: station, lastSeenAt: row.lastSeenAt, lastPullAt: row.lastPullAt, pulledThrough: row.pulledThrough ?? 0,
                    lastPushAt: row.lastPushAt, pushedChanges: row.pushed, clockOffset: row.clockOffset)
            }
        }
    }

    public func changeCount(after seq: Int64) -> Int {
        state.withLock { s in s.feedOrder[s.feedIndex(after: seq)...].count { s.feed[$0] != nil } }
    }

    public func tokens() -> [StoredToken] {
        state.withLock { s in
            s.tokens.values.sorted { a, b in
                a.createdAt != b.createdAt
                    ? a.createdAt.utf8.lexicographicallyPrecedes(b.createdAt.utf8) : a.id.utf8.lexicographicallyPrecedes(b.id.utf8)
            }
        }
    }

    /// Stores a new token (its id is new: ``Tokens`` makes them at random).
    public func addToken(_ token: StoredToken) {
        state.withLock { s in
            precondition(s.tokens[token.id] == nil, "token id \(token.id) is taken")
            s.tokens[token.id] = token
        }
    }

    /// Revokes every live token of `station`; returns how many. Their sessions end with them.
    public func revokeTokens(station: String) -> Int {
        let now = StoredTime.now()
        return state.withLock { s in
            var revoked = 0
            for (id, token) in s.tokens where token.station.hasSameBytes(as: station) {
                if token.revokedAt == nil {
                    s.tokens[id]?.revokedAt = now
                    revoked += 1
                }
                s.sessions = s.sessions.filter { !$0.value.tokenID.hasSameBytes(as: id) }
            }
            return revoked
        }
    }

    public func nodeWriters() -> [NodeWriter] {
        func rank(_ status: NodeWriter.Status) -> Int {
            switch status {
            case .live: 0
            case .refused: 1
            case .retired: 2
            }
        }
        return state.withLock { s in
            s.writers.values.sorted { a, b in
                if !a.node.hasSameBytes(as: b.node) { return a.node.utf8.lexicographicallyPrecedes(b.node.utf8) }
                if rank(a.status) != rank(b.status) { return rank(a.status) < rank(b.status) }
                if !a.firstSeenAt.hasSameBytes(as: b.firstSeenAt) { return b.firstSeenAt.utf8.lexicographicallyPrecedes(a.firstSeenAt.utf8) }
                return a.writer.utf8.lexicographicallyPrecedes(b.writer.utf8)
            }
        }
    }

    public func conflictReports(collection: String? = nil, status: ConflictReport.Status? = nil) throws -> [ConflictReport] {
        if let collection { _ = try schema.collection(collection) }
        return state.withLock { s in
            var reports: [ConflictReport] = []
            for key in s.keysWithConflicts {
                if let collection, !key.collection.hasSameBytes(as: collection) { continue }
                guard let record = s.records[key],
                    (status != .resolved && record.conflicts > 0) || (status != .open && !record.state.resolutions.isEmpty),
                    let c = s.schema.collections[key.collection]
                else { continue }
                reports += ConflictReport.reports(of: record.state, in: c, id: key.id, status: status)
            }
            return ConflictReport.newestFirst(reports)
        }
    }

    public func conflictReport(id: String) throws -> ConflictReport? {
        ConflictReport.standing(try conflictReports().filter { $0.id == id })
    }

    @discardableResult
    public func resolveConflict(id: String, _ choice: RecordState.ResolutionChoice, person: String?) throws -> ConflictReport {
        let report = try ConflictReport.checkOpen(try conflictReport(id: id), id: id)
        _ = try write { tx in try tx.resolve(report.collection, report.recordID, conflict: id, choice, person: person) }
        return try conflictReport(id: id) ?? report
    }

    public func createOperatorSession(idHash: String, tokenID: String, csrf: String, lifetime: Int) {
        let now = StoredTime.now()
        state.withLock { s in
            // Expired sessions are removed on the way.
            s.sessions = s.sessions.filter { $0.value.expiresAt > now }
            s.sessions[idHash] = SessionRow(tokenID: tokenID, csrf: csrf, expiresAt: StoredTime.now(plus: lifetime))
        }
    }

    public func operatorSession(idHash: String) -> OperatorSession? {
        let now = StoredTime.now()
        return state.withLock { s in
            guard let row = s.sessions[idHash], row.expiresAt > now, let token = s.tokens[row.tokenID], token.revokedAt == nil,
                token.isOperator
            else { return nil }
            return OperatorSession(tokenID: row.tokenID, csrf: row.csrf, expiresAt: row.expiresAt, flash: row.flash)
        }
    }

    public func setOperatorFlash(idHash: String, _ flash: String?) {
        state.withLock { $0.sessions[idHash]?.flash = flash }
    }

    public func endOperatorSession(idHash: String) {
        state.withLock { $0.sessions[idHash] = nil }
    }
}

extension MemoryStore {
    /// A record, or nil if this node never had it. Throws for an unknown collection.
    public func record(_ collection: String, _ id: String) throws -> StoredRecord? {
        let c = try schema.collection(collection)
        return state.withLock { s in
            s.records[RecordKey(collection, id)].map { r in
                StoredRecord(collection: collection, id: id, seq: r.seq, state: r.state, source: r.source, view: r.state.view(in: c, id: id))
            }
        }
    }

    /// The records of a collection in id order (by bytes).
    public func records(in collection: String, includeDeleted: Bool = false) throws -> [StoredRecord] {
        let c = try schema.collection(collection)
        return state.withLock { s in
            (s.keysByCollection[collection] ?? []).compactMap { key in s.records[key].map { (key, $0) } }
                .filter { includeDeleted || !$0.1.deleted }
                .sorted { $0.0.id.utf8.lexicographicallyPrecedes($1.0.id.utf8) }
                .map { key, r in
                    StoredRecord(
                        collection: collection, id: key.id, seq: r.seq, state: r.state, source: r.source, view: r.state.view(in: c, id: key.id))
                }
        }
    }
}
