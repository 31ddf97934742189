import StationHub
import StationSync
import Foundation
import GRDB

extension StationStore {
    /// Opens a session for `tokenID` lasting `lifetime` seconds, stored under `idHash` (a hash of
    /// the id the browser holds); expired sessions are removed on the way.
    public func createOperatorSession(idHash: String, tokenID: String, csrf: String, lifetime: Int) throws {
        try immediateTransaction { db in
            try db.execute(sql: "DELETE FROM operator_session WHERE expiresAt <= datetime('now')")
            try db.execute(
                sql: """
                    INSERT INTO operator_session (idHash, tokenID, csrf, createdAt, expiresAt)
                    VALUES (?, ?, ?, datetime('now'), datetime('now', ?))
                    """,
                arguments: [idHash, tokenID, csrf, "+\(lifetime) seconds"])
        }
    }

    /// The live session stored under `idHash`: not expired, its token not revoked; nil otherwise.
    public func operatorSession(idHash: String) throws -> OperatorSession? {
        try read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT s.tokenID, s.csrf, s.expiresAt, s.flash FROM operator_session s JOIN token t ON t.id = s.tokenID
                    WHERE s.idHash = ? AND s.expiresAt > datetime('now') AND t.revokedAt IS NULL AND t.operator = 1
                    """,
                arguments: [idHash]
            ).map { OperatorSession(tokenID: $0["tokenID"], csrf: $0["csrf"], expiresAt: $0["expiresAt"], flash: $0["flash"]) }
        }
    }

    /// Sets (or, with nil, clears) the notice the session's next page shows.
    public func setOperatorFlash(idHash: String, _ flash: String?) throws {
        try immediateTransaction { db in
            try db.execute(sql: "UPDATE operator_session SET flash = ? WHERE idHash = ?", arguments: [flash, idHash])
        }
    }

    /// Ends a session (sign-out).
    public func endOperatorSession(idHash: String) throws {
        try immediateTransaction { db in try db.execute(sql: "DELETE FROM operator_session WHERE idHash = ?", arguments: [idHash]) }
    }

    /// How many sessions are open (not expired).
    public func operatorSessionCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM operator_session WHERE expiresAt > datetime('now')") ?? 0 }
    }
}
