import Foundation
import GRDB
import Logging
import StationCore

// A restored database is noticed (issue 11): a file put back from a backup, or copied back over a
// newer one, holds fewer changes than this node had already handed out cursors for, and its peers'
// checkpoints run past its feed. A peer that trusted them would skip whatever the file lost and
// never push again what it had pushed since the backup.
//
// Only something outside the file can remember how far the file had got: the watermark, a small
// file beside the database (`PATH.watermark`) holding the database id and the last sequence of
// the change feed, written after every write transaction. On open, a database whose feed ends
// before the watermark's sequence was restored from an earlier copy: it takes a new database id.
// Peers then see a replaced database and start over with it (push and pull everything again,
// which is idempotent), so what the backup lacked comes back from them.
//
// The watermark may lag (a crash before it is written, two processes writing it at once): a lower
// watermark only fails to notice a backup taken after it, it never takes a healthy file for a
// restored one.

extension StationStore {
    /// The watermark file of the database at `path`.
    public static func watermarkPath(for path: String) -> String { path + ".watermark" }

    /// What the watermark says: the database it was written for and how far its feed had got.
    struct Watermark: Equatable {
        var databaseID: String
        var seq: Int64

        init(databaseID: String, seq: Int64) {
            self.databaseID = databaseID
            self.seq = seq
        }

        /// Parses `DATABASE SEQ`; nil for anything else (a missing or torn file says nothing).
        init?(text: String) {
            let parts = text.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, let seq = Int64(parts[1].trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
            databaseID = String(parts[0])
            self.seq = seq
        }

        var text: String { "\(databaseID) \(seq)\n" }
    }

    static func readWatermark(path: String) -> Watermark? {
        guard let data = FileManager.default.contents(atPath: watermarkPath(for: path)) else { return nil }
        return Watermark(text: String(decoding: data, as: UTF8.self))
    }

    /// Writes the watermark (a new file renamed into place, so a reader never sees half of it).
    /// Failing to write it is not an error of the write that came before: it is logged.
    static func writeWatermark(_ mark: Watermark, path: String, logger: Logger?) {
        let target = watermarkPath(for: path)
        let temporary = target + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
        guard FileManager.default.createFile(atPath: temporary, contents: Data(mark.text.utf8)),
            rename(temporary, target) == 0
        else {
            try? FileManager.default.removeItem(atPath: temporary)
            logger?.warning("writing the watermark failed", metadata: ["file": "\(target)"])
            return
        }
    }

    /// At open: whether the database was restored from an earlier copy (its feed ends before the
    /// watermark), and if so, a new database id for it. Returns the database id to use and, when
    /// it changed, the one it had.
    static func checkRestored(_ pool: DatabasePool, path: String, databaseID: String) throws -> (databaseID: String, restoredFrom: String?) {
        let lastSeq = try pool.read { db in try Int64.fetchOne(db, sql: "SELECT max(seq) FROM record") ?? 0 }
        guard let mark = readWatermark(path: path), mark.databaseID == databaseID, mark.seq > lastSeq else {
            writeWatermark(Watermark(databaseID: databaseID, seq: lastSeq), path: path, logger: nil)
            return (databaseID, nil)
        }
        let newID = makeDatabaseID()
        try pool.write { db in
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'databaseID'", arguments: [newID])
            // What `info` shows, and the log says: when, and how far behind the file was.
            try db.execute(
                sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('restoredFrom', ?)",
                arguments: ["\(databaseID) at \(ISO8601DateFormatter().string(from: Date())): the feed ended at \(lastSeq), the watermark said \(mark.seq)"])
        }
        writeWatermark(Watermark(databaseID: newID, seq: lastSeq), path: path, logger: nil)
        return (newID, databaseID)
    }

    /// A random database id: 32 hex digits.
    static func makeDatabaseID() -> String {
        (0..<16).map { _ in
            let s = String(UInt8.random(in: 0...255), radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    /// When this database was found restored from an earlier copy (at which open, from which
    /// database id, how far behind), or nil if it never was.
    public func restoredFrom() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'restoredFrom'") }
    }
}
