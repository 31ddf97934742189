import StationSync
import CStationFile
import Foundation
import GRDB
import Logging
import StationCore

// A restored database is noticed (issue 11): a file put back from a backup, or copied back over a
// newer one, holds fewer changes than this node had already handed out cursors for, and its peers'
// checkpoints run past its feed. A peer that trusted them would skip whatever the file lost and
// never push again what it had pushed since the backup.
//
// A copy is noticed too: the database records the inode of its file, and a file opened as another
// inode than recorded (`cp`, a backup copied back, a file moved to another disk) takes a new
// database id and a new incarnation. Renewing is always safe: it costs its peers one sync of
// everything, and the records a new clock entry when next written.
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
    ///
    /// Plain `open`/`write`/`rename`, never synced to the disk: it runs after every write
    /// transaction, and a watermark that a power cut takes back only lags (which is safe, see
    /// above). (Foundation's `createFile` syncs the file, which cost a disk flush per
    /// transaction: a tenth of a hub's push throughput.)
    static func writeWatermark(_ mark: Watermark, path: String, logger: Logger?) {
        let target = watermarkPath(for: path)
        // Unique per write: two transactions of one process may finish at once.
        let temporary = target + ".tmp-\(ProcessInfo.processInfo.processIdentifier)-\(UInt32.random(in: 0...UInt32.max))"
        let bytes = Array(mark.text.utf8)
        let fd = Glibc.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        var written = false
        if fd >= 0 {
            written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } == bytes.count
            Glibc.close(fd)
        }
        guard written, rename(temporary, target) == 0 else {
            unlink(temporary)
            logger?.warning("writing the watermark failed", metadata: ["file": "\(target)"])
            return
        }
    }

    /// What `open` found about the file's identity: the database id and incarnation to use, and,
    /// when they were renewed, why.
    struct Identity {
        var databaseID: String
        var incarnation: String?
        /// The writer names this database wrote under before, oldest first (see ``StationStore/lineage``).
        var lineage: [NodeID]
        var renewed: String?
    }

    /// At open: whether the database was restored from an earlier copy (its feed ends before the
    /// watermark) or is a copy of another file (its inode is not the one it was last opened as),
    /// and if so a new database id and a new incarnation for it (see ``NodeID``): a copy and its
    /// original, or a restored file and the writes it had made after the backup, must never make
    /// two different writes under one dot.
    static func checkIdentity(_ pool: DatabasePool, path: String, databaseID: String) throws -> Identity {
        // The watermark first, the feed after: another process serving this database writes the
        // watermark after each commit, so what is read first can never be ahead of the feed read
        // next (the other order would take a commit in between for a restore).
        let watermark = readWatermark(path: path)
        let (lastSeq, node, incarnation, fileRecorded, lineageText) = try pool.read { db in
            (
                try Int64.fetchOne(db, sql: StationStore.lastSequenceSQL) ?? 0,
                NodeID(unchecked: try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node'") ?? ""),
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'incarnation'"),
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'file'"),
                try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'lineage'") ?? ""
            )
        }
        let lineage = lineageText.split(separator: " ").map { NodeID(unchecked: String($0)) }.filter { NodeID.isValid($0.rawValue) }
        let file = fileIdentity(path)
        var reason: String?
        if let mark = watermark, mark.databaseID == databaseID, mark.seq > lastSeq {
            reason = "restored from an earlier copy: its change feed ends at \(lastSeq), before the \(mark.seq) it had reached"
        } else if let recorded = fileRecorded, let file, !sameFile(recorded: recorded, now: file) {
            reason = "copied or restored from another file: it was file \(recorded), it is now file \(file)"
        }
        guard let reason else {
            if let file, fileRecorded != file {
                try pool.write { db in try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('file', ?)", arguments: [file]) }
            }
            writeWatermark(Watermark(databaseID: databaseID, seq: lastSeq), path: path, logger: nil)
            return Identity(databaseID: databaseID, incarnation: incarnation, lineage: lineage, renewed: nil)
        }
        var newID = makeDatabaseID()
        var newIncarnation = makeIncarnation()
        // The name it wrote under so far joins its lineage: a peer that knows that name as this
        // node's database follows the new one (see StationStore+Writers.swift).
        var newLineage = Array((lineage + [NodeID(node: node, incarnation: incarnation)]).suffix(PushRequest.maxLineage))
        let renewedHere = try pool.write { db -> Bool in
            // Only if nobody renewed it meanwhile (another process opening the same file).
            try db.execute(sql: "UPDATE meta SET value = ? WHERE key = 'databaseID' AND value = ?", arguments: [newID, databaseID])
            guard db.changesCount > 0 else {
                newID = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'databaseID'") ?? databaseID
                newIncarnation = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'incarnation'") ?? newIncarnation
                let text = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'lineage'") ?? ""
                newLineage = text.split(separator: " ").map { NodeID(unchecked: String($0)) }
                return false
            }
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('incarnation', ?)", arguments: [newIncarnation])
            try db.execute(
                sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('lineage', ?)",
                arguments: [newLineage.map(\.rawValue).joined(separator: " ")])
            if let file { try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('file', ?)", arguments: [file]) }
            // What `info` shows, and the log says: when, from which database, why.
            try db.execute(
                sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('restoredFrom', ?)",
                arguments: ["\(databaseID) at \(ISO8601DateFormatter().string(from: Date())): \(reason)"])
            return true
        }
        guard renewedHere else { return Identity(databaseID: newID, incarnation: newIncarnation, lineage: newLineage, renewed: nil) }
        writeWatermark(Watermark(databaseID: newID, seq: lastSeq), path: path, logger: nil)
        return Identity(databaseID: newID, incarnation: newIncarnation, lineage: newLineage, renewed: reason)
    }

    /// The file's inode number: a copy (or a backup copied back) is another file.
    static func fileNumber(_ path: String) -> UInt64? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return UInt64(info.st_ino)
    }

    /// What makes the file this file: its inode number and, where the file system keeps it, its
    /// birth time (`INODE:SECONDS.NANOSECONDS`). A copy is another file; so is a backup copied
    /// back after the database was deleted, even when the new file reuses the deleted one's
    /// inode number (ext4 does), for it is born at the copy.
    static func fileIdentity(_ path: String) -> String? {
        guard let inode = fileNumber(path) else { return nil }
        var sec: Int64 = 0
        var nsec: UInt32 = 0
        guard stationsync_birth_time(path, &sec, &nsec) == 0 else { return String(inode) }
        return "\(inode):\(sec).\(nsec)"
    }

    /// Whether `now` is the file `recorded` names. A record made before birth times were kept
    /// (the inode alone) matches on the inode.
    static func sameFile(recorded: String, now: String) -> Bool {
        if recorded == now { return true }
        let inode = { (s: String) in s.split(separator: ":", maxSplits: 1).first.map(String.init) ?? s }
        if !recorded.contains(":") || !now.contains(":") { return inode(recorded) == inode(now) }
        return false
    }

    /// A new random incarnation: 8 characters of a-z and 0-9 (about 2.8 × 10^12 of them).
    public static func makeIncarnation() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return String(decoding: (0..<8).map { _ in alphabet.randomElement()! }, as: UTF8.self)
    }

    /// A random database id: 32 hex digits.
    static func makeDatabaseID() -> String {
        (0..<16).map { _ in
            let s = String(UInt8.random(in: 0...255), radix: 16)
            return s.count == 1 ? "0" + s : s
        }.joined()
    }

    /// When this database was last found restored from an earlier copy or copied from another
    /// file (from which database id, when, why), or nil if it never was.
    public func restoredFrom() throws -> String? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'restoredFrom'") }
    }
}
