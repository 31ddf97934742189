import StationSync
import Foundation
import GRDB
import StationCore

extension StationStore {
    /// Stores a new token.
    public func addToken(_ token: StoredToken) throws {
        try immediateTransaction { db in
            try db.execute(
                sql: "INSERT INTO token (id, station, secretHash, read, write, relay, operator, createdAt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    token.id, token.station, Data(token.secretHash), token.read.description, token.write.description, token.relay, token.isOperator,
                    token.createdAt,
                ])
        }
    }

    /// The token with this id, revoked or not.
    public func token(id: String) throws -> StoredToken? {
        try read { db in try Row.fetchOne(db, sql: "SELECT * FROM token WHERE id = ?", arguments: [id]).map(Self.token(row:)) }
    }

    /// Every token, oldest first.
    public func tokens() throws -> [StoredToken] {
        try read { db in try Row.fetchAll(db, sql: "SELECT * FROM token ORDER BY createdAt, id").map(Self.token(row:)) }
    }

    /// Revokes every live token of `station`; returns how many.
    public func revokeTokens(station: String) throws -> Int {
        try immediateTransaction { db in
            try db.execute(sql: "UPDATE token SET revokedAt = datetime('now') WHERE station = ? AND revokedAt IS NULL", arguments: [station])
            let revoked = db.changesCount
            // Their dashboard sessions end with them.
            try db.execute(sql: "DELETE FROM operator_session WHERE tokenID IN (SELECT id FROM token WHERE station = ?)", arguments: [station])
            return revoked
        }
    }

    /// Revokes the token with this id (one device's token, the station's others stay); returns
    /// whether a live token was revoked.
    public func revokeToken(id: String) throws -> Bool {
        try immediateTransaction { db in
            try db.execute(sql: "UPDATE token SET revokedAt = datetime('now') WHERE id = ? AND revokedAt IS NULL", arguments: [id])
            let revoked = db.changesCount == 1
            try db.execute(sql: "DELETE FROM operator_session WHERE tokenID = ?", arguments: [id])
            return revoked
        }
    }

    static func token(row: Row) -> StoredToken {
        StoredToken(
            id: row["id"], station: row["station"], secretHash: [UInt8](row["secretHash"] as Data), read: accessList(row["read"]),
            write: accessList(row["write"]), relay: row["relay"], isOperator: row["operator"], createdAt: row["createdAt"],
            revokedAt: row["revokedAt"])
    }

    /// A stored access list (`hub token add` checked it); one that cannot be read allows
    /// nothing: a list garbled in the file fails closed.
    static func accessList(_ text: String) -> AccessList {
        (try? AccessList(parsing: text)) ?? .only([])
    }
}
