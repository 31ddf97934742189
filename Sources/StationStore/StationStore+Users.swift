import Foundation
import GRDB
import StationCore
import StationSync

extension StationStore {
    /// What a records-API token starts with: a user's token is never taken for a sync token,
    /// nor one of those for it.
    public static let userTokenPrefix = "user_"

    /// Adds a user of the records API and page and returns their token (shown once; only its hash
    /// is kept). The name is held as ``Person/checked(_:)`` holds it; a name already taken (by
    /// its bytes, in NFC) is refused.
    public func addUser(_ name: String, now: Date = Date()) throws -> (user: LocalUser, token: String) {
        guard let checked = Person.checked(name) else {
            throw StoreError(.invalidInput, "user name \(JSONValue.string(name).canonicalText) must be \(Person.rule)")
        }
        let token = Self.userTokenPrefix + Tokens.randomSecret()
        let user = LocalUser(name: checked, createdAt: ISO8601DateFormatter().string(from: now))
        try write { tx in
            if try String.fetchOne(tx.db, sql: "SELECT name FROM local_user WHERE name = ?", arguments: [checked]) != nil {
                throw StoreError(.invalidInput, "there is already a user \(checked) (station user remove \(checked), then add again for a new token)")
            }
            try tx.db.execute(
                sql: "INSERT INTO local_user (name, tokenHash, createdAt) VALUES (?, ?, ?)",
                arguments: [checked, Self.hex(Tokens.hash(token)), user.createdAt])
        }
        return (user, token)
    }

    /// Every user, by name.
    public func users() throws -> [LocalUser] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, createdAt FROM local_user ORDER BY name").map {
                LocalUser(name: $0["name"], createdAt: $0["createdAt"])
            }
        }
    }

    /// Removes a user (their token stops working); false when there is none of that name.
    @discardableResult
    public func removeUser(_ name: String) throws -> Bool {
        let checked = Person.checked(name) ?? name
        return try write { tx in
            try tx.db.execute(sql: "DELETE FROM local_user WHERE name = ?", arguments: [checked])
            return tx.db.changesCount > 0
        }
    }

    /// The user holding `token`, or nil.
    public func user(holdingToken token: String) throws -> LocalUser? {
        guard token.hasPrefix(Self.userTokenPrefix), token.utf8.count < 256 else { return nil }
        return try read { db in
            try Row.fetchOne(
                db, sql: "SELECT name, createdAt FROM local_user WHERE tokenHash = ?", arguments: [Self.hex(Tokens.hash(token))]
            ).map { LocalUser(name: $0["name"], createdAt: $0["createdAt"]) }
        }
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
}
