import StationSync
import Foundation
import GRDB
import StationCore

// One node name, one live database (issue 11). A hub records which database writes as each node
// (by its writer name, `NODE.INCARNATION`, see `NodeID`). Two databases writing as one node (a
// token on two devices, a station made again while the old one still runs) would each go on
// under their own incarnation without colliding, but the node's records would then be edited
// from two places that never see each other's work in time, and the node's name on the
// dashboard would stand for two machines. So the hub keeps one database live per node:
//
// - the first database that pushes as a node becomes its live one;
// - a database whose lineage (the names it wrote under before it was restored from a backup or
//   copied, see `StationStore.lineage`) holds the node's live database follows it: the restored
//   or copied file is the node's database from now on, the one it came from is retired. A file
//   that came from a retired database (an old copy found on a USB stick after a take-over, a
//   backup restored a second time after its first restore took over) does not: it is refused;
// - any other database pushing as the node is refused (`node_taken`), and so is a retired one,
//   with a message that says what to do: `station sync --take-over` makes it the live one (a
//   reinstalled laptop, a station moved to a new machine on purpose), the one before it is
//   retired.
//
// A refused push changes nothing; the refused database keeps all its writes and pushes them once
// it takes over. Writes that retired databases made before are kept: they are ordinary writes
// under their own dots. Pulls are never refused.

extension WriteTransaction {
    /// Checks that `claim`'s database may push as its node here and records it (see
    /// StationStore+Writers.swift); throws ``WriterRefusal`` when another database is the node's.
    /// Runs in the push's transaction: a push refused for anything else leaves this unchanged.
    public func claimWriter(_ claim: WriterClaim) throws {
        let rows = try Row.fetchAll(db, sql: "SELECT * FROM node_writer WHERE node = ?", arguments: [claim.node]).map(StationStore.nodeWriter(row:))
        // Times as SQLite writes them (UTC), like the station activity the dashboard shows beside
        // them: no date formatter on every push.
        let now = try String.fetchOne(db, sql: "SELECT datetime('now')") ?? ""
        // The rule every backend applies (WriterClaim.decide).
        guard case .becomesLive(let reason, let live) = try claim.decide(against: rows) else {
            try db.execute(sql: "UPDATE node_writer SET lastPushAt = ? WHERE writer = ?", arguments: [now, claim.writer])
            return
        }
        if let live {
            try db.execute(
                sql: "UPDATE node_writer SET status = 'retired', retiredAt = ?, retiredBy = ? WHERE writer = ?",
                arguments: [now, claim.writer, live.writer])
        }
        try db.execute(
            sql: """
                INSERT INTO node_writer (writer, node, status, firstSeenAt, lastPushAt, reason) VALUES (?, ?, 'live', ?, ?, ?)
                ON CONFLICT(writer) DO UPDATE SET status = 'live', lastPushAt = excluded.lastPushAt, reason = excluded.reason,
                    retiredAt = NULL, retiredBy = NULL
                """,
            arguments: [claim.writer, claim.node, now, now, reason])
        try StationStore.pruneWriters(of: claim.node, in: db)
        store.logger.notice(
            "\(claim.writer) is the database of node \(claim.node) now: \(reason)",
            metadata: ["node": "\(claim.node)", "writer": "\(claim.writer)", "previous": "\(live?.writer ?? "none")"])
    }
}

extension StationStore {
    /// Records that a push of `refusal`'s database was refused (for `hub info` and the
    /// dashboard). Its own small transaction, after the push's rolled back, suspended until
    /// the writer runs it.
    public func noteRefusedWriter(_ refusal: WriterRefusal) async {
        do {
            try await immediateTransactionSuspending { db in
                try db.execute(
                    sql: """
                        INSERT INTO node_writer (writer, node, status, firstSeenAt, refusals, lastRefusedAt)
                        VALUES (?, ?, 'refused', datetime('now'), 1, datetime('now'))
                        ON CONFLICT(writer) DO UPDATE SET refusals = refusals + 1, lastRefusedAt = excluded.lastRefusedAt
                        """,
                    arguments: [refusal.claim.writer, refusal.claim.node])
                try StationStore.pruneWriters(of: refusal.claim.node, in: db)
            }
        } catch {
            logger.warning("recording a refused push failed", metadata: ["writer": "\(refusal.claim.writer)", "error": "\(error)"])
        }
        logger.warning(
            "push refused: \(refusal.claim.writer) is not the database of node \(refusal.claim.node) (\(refusal.live.writer) is)",
            metadata: ["node": "\(refusal.claim.node)", "writer": "\(refusal.claim.writer)", "live": "\(refusal.live.writer)"])
    }

    /// Forgets the oldest of `node`'s retired and refused databases beyond
    /// ``NodeWriter/keptPastWriters`` (the query of ``NodeWriter/forgotten(among:)``).
    static func pruneWriters(of node: String, in db: Database) throws {
        try db.execute(
            sql: """
                DELETE FROM node_writer WHERE node = ? AND status <> 'live' AND writer NOT IN (
                    SELECT writer FROM node_writer WHERE node = ? AND status <> 'live'
                    ORDER BY max(coalesce(lastRefusedAt, ''), coalesce(retiredAt, ''), firstSeenAt) DESC, writer DESC LIMIT ?)
                """,
            arguments: [node, node, NodeWriter.keptPastWriters])
    }

    /// Every database that pushed (or tried to) as a node here, by node, the live one first.
    public func nodeWriters() throws -> [NodeWriter] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM node_writer
                    ORDER BY node, CASE status WHEN 'live' THEN 0 WHEN 'refused' THEN 1 ELSE 2 END, firstSeenAt DESC, writer
                    """
            ).map(Self.nodeWriter(row:))
        }
    }

    static func nodeWriter(row: Row) -> NodeWriter {
        NodeWriter(
            node: row["node"], writer: row["writer"], status: NodeWriter.Status(rawValue: row["status"]) ?? .refused,
            firstSeenAt: row["firstSeenAt"], lastPushAt: row["lastPushAt"], retiredAt: row["retiredAt"], retiredBy: row["retiredBy"],
            reason: row["reason"], refusals: row["refusals"], lastRefusedAt: row["lastRefusedAt"])
    }
}
