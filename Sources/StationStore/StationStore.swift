import StationSync
import Foundation
import GRDB
import Logging
import StationCore
import Synchronization

/// A station's local database: records with their versions, the change feed, per-peer
/// checkpoints, and the schema, in one SQLite file (WAL mode, GRDB over the system libsqlite3).
///
/// What a database was made for: `hub init` makes a hub's, `station init` a station's. Each
/// program refuses to change the other's (reading is fine); a database made before roles has none.
public enum DatabaseRole: String, Sendable {
    case hub, station
}

/// Every local write is one IMMEDIATE transaction (or one per batch, for imports); every change,
/// local or merged from a peer, gets the next value of a per-node sequence, so "all changes since
/// S" is an index range.
public final class StationStore: Sendable {
    /// The database file.
    public let path: String
    /// The file this store opened (its device and inode), to notice it removed or replaced.
    let openedFile: FileKey?
    /// This node's name, fixed at init.
    public let node: NodeID
    /// The name this database writes under: ``node`` and this database's incarnation
    /// (`NODE.INCARNATION`, see ``NodeID``), or the bare node name for a database made before
    /// incarnations. Every local write's dot names it.
    public let writer: NodeID
    /// The writer names this database wrote under before, oldest first: each time it was found
    /// restored from a backup or copied, it took a new incarnation and its old name joined this
    /// list. Sent with pushes, so a hub that knows one of them as this node's database follows
    /// the new name (see StationStore+Writers.swift); empty for a database never renewed.
    public let lineage: [NodeID]
    /// The collections and their policies, stored in the database at init and extended by
    /// ``extendSchema(with:)``.
    public var schema: Schema { schemaBox.withLock { $0 } }
    /// A random id made when the database was created; peers use it to notice a replaced database.
    public let databaseID: String

    let schemaBox: Mutex<Schema>

    let pool: DatabasePool
    /// Shares transactions between concurrent ``writeGrouped(_:)`` calls.
    let groupCommit = GroupCommit()
    /// Station activity not yet written (see ``noteActivity(station:pulledThrough:pushed:)``).
    let activityNotes = ActivityNotes()
    let physicalClock: @Sendable () -> UInt64
    /// Whether this database keeps its records' histories (`station history`): a station's
    /// does; a hub's does not (it answers syncs, and every station keeps its own).
    public let keepsHistory: Bool
    /// When the histories were last pruned to their collections' `historyDays` (ms since 1970).
    let historyPrunedAt = Mutex<UInt64>(0)
    let logger: Logger

    /// Milliseconds since 1970 from the system clock.
    public static let systemClock: @Sendable () -> UInt64 = {
        UInt64(max(0, Date().timeIntervalSince1970 * 1000))
    }

    /// Creates a new station database at `path`. Refuses to overwrite an existing file.
    ///
    /// The file appears only once it is complete: it is built beside `path` and renamed into place.
    ///
    /// `incarnation` names the writes this database makes (`NODE.INCARNATION`); `station init`
    /// and `hub init` give a new random one (``makeIncarnation()``), so a station made again
    /// under an old name (a reinstall) never writes under the dots of the one before it. Nil
    /// writes under the bare node name.
    public static func create(
        path: String, node: NodeID, schema: Schema, incarnation: String? = nil, role: DatabaseRole? = nil,
        clock: @escaping @Sendable () -> UInt64 = systemClock
    ) throws -> StationStore {
        if let incarnation, !NodeID.isValidIncarnation(incarnation) {
            throw StoreError(.invalidInput, "incarnation \"\(incarnation)\" must be 1-12 characters of a-z and 0-9")
        }
        let fm = FileManager.default
        guard !fm.fileExists(atPath: path) else {
            throw StoreError(.databaseExists, "a database already exists at \(path); refusing to overwrite it")
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !fm.fileExists(atPath: directory) {
            throw StoreError(.databaseMissing, "directory \(directory) does not exist")
        }
        let temporary = path + ".init-\(ProcessInfo.processInfo.processIdentifier)"
        try? fm.removeItem(atPath: temporary)
        do {
            let queue = try DatabaseQueue(path: temporary)
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
            }
            try StationStore.migrator.migrate(queue)
            try queue.write { db in
                try db.execute(
                    sql: "INSERT INTO meta (key, value) VALUES ('node', ?), ('hlc', '0'), ('createdAt', ?)",
                    arguments: [node.rawValue, ISO8601DateFormatter().string(from: Date())])
                if let incarnation {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('incarnation', ?)", arguments: [incarnation])
                }
                if let role {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('role', ?)", arguments: [role.rawValue])
                }
                // The file's inode, recorded in the file itself (renaming keeps it): a copy of the
                // file alone, made before its first write-ahead log was checkpointed, is still
                // known for a copy (see StationStore+Watermark.swift).
                if let file = fileIdentity(temporary) {
                    try db.execute(sql: "INSERT INTO meta (key, value) VALUES ('file', ?)", arguments: [file])
                }
                for name in schema.collectionNames {
                    let definition = try schema.collection(name)
                    try db.execute(
                        sql: "INSERT INTO collection (name, definition) VALUES (?, ?)",
                        arguments: [name, Schema.definitionJSON(definition).canonicalText])
                }
            }
            try queue.close()
            for suffix in ["-wal", "-shm"] { try? fm.removeItem(atPath: temporary + suffix) }
            guard !fm.fileExists(atPath: path) else {
                throw StoreError(.databaseExists, "a database already exists at \(path); refusing to overwrite it")
            }
            try fm.moveItem(atPath: temporary, toPath: path)
        } catch {
            for suffix in ["", "-wal", "-shm"] { try? fm.removeItem(atPath: temporary + suffix) }
            throw StationStore.wrap(error, path: path)
        }
        return try open(path: path, clock: clock)
    }

    /// Opens an existing station database.
    public static func open(path: String, clock: @escaping @Sendable () -> UInt64 = systemClock) throws -> StationStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.databaseMissing, "no station database at \(path) (create one with: station init --db \(path) --node NAME)")
        }
        // A hard link is a second name for the same file: opened under both names, each keeps its
        // own write-ahead log, watermark and file identity, the two write under one writer name and
        // committed writes are lost (rsnapshot and `cp -al` make such links).
        var info = stat()
        if stat(path, &info) == 0, info.st_nlink > 1 {
            throw StoreError(
                .hardLinked,
                "\(path) has \(info.st_nlink) names (hard links, as `cp -al` or rsnapshot make): a database opened under two names loses writes; "
                    + "remove the other names, or copy the file with cp to make a separate database (nothing was changed)")
        }
        do {
            var config = Configuration()
            config.busyMode = .timeout(10)
            config.label = "station"
            let pool = try DatabasePool(path: path, configuration: config)
            // Check that this is ours before migrating anything in it.
            try pool.read { db in
                guard try db.tableExists("meta"), try db.tableExists("collection"),
                    let name = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node'"),
                    NodeID.isValidNode(name)
                else {
                    throw StoreError(.notAStationDatabase, "\(path) is not a station database")
                }
            }
            if try pool.read({ try StationStore.migrator.hasBeenSuperseded($0) }) {
                throw StoreError(
                    .newerDatabase,
                    "\(path) was last used by a newer version of StationSync; upgrade this one to open it (nothing was changed)")
            }
            try StationStore.migrator.migrate(pool)
            // GRDB opens WAL databases with `synchronous = NORMAL`: a commit would then not wait
            // for the disk, and a power cut could take writes already confirmed (a clerk's
            // record, a push the hub acknowledged and the station will not send again). Commits
            // here are durable unless a transaction says otherwise (see `immediateTransaction`).
            try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            let (node, schema, databaseID, role) = try pool.read { db -> (NodeID, Schema, String, DatabaseRole?) in
                let node = NodeID(unchecked: try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node'") ?? "")
                var collections: [String: CollectionSchema] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT name, definition FROM collection") {
                    let name: String = row["name"]
                    collections[name] = try Schema.collection(named: name, definitionText: row["definition"])
                }
                let databaseID = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'databaseID'") ?? ""
                let role = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'role'").flatMap(DatabaseRole.init(rawValue:))
                return (node, Schema(collections: collections), databaseID, role)
            }
            let identity = try checkIdentity(pool, path: path, databaseID: databaseID)
            let store = StationStore(
                path: path, node: node, writer: NodeID(node: node, incarnation: identity.incarnation), lineage: identity.lineage, schema: schema,
                databaseID: identity.databaseID, pool: pool, keepsHistory: role != .hub, clock: clock)
            if let reason = identity.renewed {
                store.logger.warning(
                    "\(reason): this database takes a new database id and writes under a new incarnation (\(store.writer)); its peers push and pull everything again with it",
                    metadata: ["file": "\(path)", "previousDatabase": "\(databaseID)", "database": "\(identity.databaseID)"])
            }
            return store
        } catch {
            throw StationStore.wrap(error, path: path)
        }
    }

    /// Opens an existing database for reading only, where it cannot be written (read-only media,
    /// a file or folder without write permission): nothing is migrated, no identity is renewed,
    /// every write fails. Where the write-ahead log's shared-memory file can be neither found nor
    /// made (read-only media), the file is read as it is (SQLite's `immutable`): writes still in
    /// a write-ahead log beside it are then not seen, and a warning says so.
    public static func openReadOnly(path: String, clock: @escaping @Sendable () -> UInt64 = systemClock) throws -> StationStore {
        guard FileManager.default.fileExists(atPath: path) else {
            throw StoreError(.databaseMissing, "no station database at \(path) (create one with: station init --db \(path) --node NAME)")
        }
        var config = Configuration()
        config.readonly = true
        config.busyMode = .timeout(10)
        config.label = "station.readonly"
        func load(_ pool: DatabasePool) throws -> StationStore {
            let (node, schema, databaseID, incarnation, lineageText, current, role) = try pool.read { db in
                guard try db.tableExists("meta"), try db.tableExists("collection"),
                    let name = try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'node'"), NodeID.isValidNode(name)
                else {
                    throw StoreError(.notAStationDatabase, "\(path) is not a station database")
                }
                var collections: [String: CollectionSchema] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT name, definition FROM collection") {
                    let name: String = row["name"]
                    collections[name] = try Schema.collection(named: name, definitionText: row["definition"])
                }
                return (
                    NodeID(unchecked: name), Schema(collections: collections),
                    try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'databaseID'") ?? "",
                    try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'incarnation'"),
                    try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'lineage'") ?? "",
                    try StationStore.migrator.hasCompletedMigrations(db),
                    try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'role'").flatMap(DatabaseRole.init(rawValue:))
                )
            }
            guard current else {
                throw StoreError(
                    .newerDatabase,
                    "\(path) was made by another version of StationSync and cannot be read where it cannot be written: open it once where it can be (nothing was changed)"
                )
            }
            let lineage = lineageText.split(separator: " ").map { NodeID(unchecked: String($0)) }.filter { NodeID.isValid($0.rawValue) }
            return StationStore(
                path: path, node: node, writer: NodeID(node: node, incarnation: incarnation), lineage: lineage, schema: schema,
                databaseID: databaseID, pool: pool, keepsHistory: role != .hub, clock: clock)
        }
        do {
            return try load(try DatabasePool(path: path, configuration: config))
        } catch let error as DatabaseError where error.resultCode == .SQLITE_CANTOPEN || error.resultCode == .SQLITE_READONLY {
            // No shared-memory file and none can be made: read the file as it is.
            let logger = Logger(label: "stationsync.store")
            if let size = (try? FileManager.default.attributesOfItem(atPath: path + "-wal"))?[.size] as? Int, size > 0 {
                logger.warning(
                    "reading \(path) as it is: its write-ahead log (\(path)-wal) cannot be read on this read-only medium, so the latest writes may not show"
                )
            }
            let uri = "file:" + (path.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? path) + "?immutable=1"
            do {
                return try load(try DatabasePool(path: uri, configuration: config))
            } catch {
                throw StationStore.wrap(error, path: path)
            }
        } catch {
            throw StationStore.wrap(error, path: path)
        }
    }

    private init(
        path: String, node: NodeID, writer: NodeID, lineage: [NodeID], schema: Schema, databaseID: String, pool: DatabasePool,
        keepsHistory: Bool, clock: @escaping @Sendable () -> UInt64
    ) {
        self.keepsHistory = keepsHistory
        self.path = path
        var info = stat()
        openedFile = stat(path, &info) == 0 ? FileKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) : nil
        self.node = node
        self.writer = writer
        self.lineage = lineage
        self.schemaBox = Mutex(schema)
        self.databaseID = databaseID
        self.pool = pool
        self.physicalClock = clock
        var logger = Logger(label: "stationsync.store")
        logger[metadataKey: "node"] = "\(node.rawValue)"
        self.logger = logger
    }

    /// What the database was made for (nil: made before roles were recorded).
    public func role() throws -> DatabaseRole? {
        try read { db in try String.fetchOne(db, sql: "SELECT value FROM meta WHERE key = 'role'").flatMap(DatabaseRole.init(rawValue:)) }
    }

    /// Throws ``StoreError/Code/databaseGone`` when the file at ``path`` is no longer the one this
    /// store opened (removed, or replaced by another file): every write transaction checks it
    /// before it commits, so a node whose database was removed under it stops taking writes
    /// (a push would otherwise be acknowledged into a file nobody will open again).
    func checkFileIsOurs() throws {
        guard let opened = openedFile else { return }
        var info = stat()
        let now = stat(path, &info) == 0 ? FileKey(device: UInt64(info.st_dev), inode: UInt64(info.st_ino)) : nil
        guard now != opened else { return }
        logger.critical("the database file was removed or replaced while this node had it open; no write is taken", metadata: ["file": "\(path)"])
        throw StoreError(
            .databaseGone,
            "\(path) was \(now == nil ? "removed" : "replaced by another file") while this node had it open: nothing more is written "
                + "(it would go into a file nobody opens again); put the database back or stop this node and open the file that is there now")
    }

    /// Writes what is pending and closes the database; the store is unusable afterwards.
    public func close() throws {
        try flushActivityNow()
        try pool.close()
    }

    /// Maps SQLite and core errors to errors that say which database they concern.
    static func wrap(_ error: any Error, path: String) -> any Error {
        switch error {
        case is StoreError, is CoreError: return error
        case let e as DatabaseError where e.resultCode == .SQLITE_NOTADB:
            return StoreError(.notAStationDatabase, "\(path) is not a station database (not SQLite)")
        case let e as DatabaseError:
            return StoreError(.sqlite, "\(path): SQLite error \(e.resultCode.rawValue): \(e.message ?? "\(e)")")
        default: return error
        }
    }

    /// Runs `body` in one IMMEDIATE write transaction, mapping errors.
    ///
    /// A `durable` transaction's commit waits until the disk has it (`synchronous = FULL`: the
    /// WAL is synced). One that is not (`NORMAL`) commits as soon as the WAL is written: after a
    /// crash of the process it is there all the same, and after a power cut it may be missing,
    /// but the database is consistent either way, and the next durable commit syncs it too. Only
    /// for what can be had again: a batch pulled from a peer (lost together with its cursor, and
    /// pulled again), a push checkpoint (the batches after it pushed again).
    func immediateTransaction<T>(durable: Bool = true, _ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.writeWithoutTransaction { db in try Self.transaction(db, durable: durable, checking: self, body) }
        } catch {
            throw StationStore.wrap(error, path: path)
        }
    }

    /// ``immediateTransaction(durable:_:)`` from a task: suspended until GRDB's writer (its own
    /// serial queue) runs it, holding no thread of the caller's.
    func immediateTransactionSuspending<T: Sendable>(
        durable: Bool = true, _ body: @escaping @Sendable (Database) throws -> T
    ) async throws
        -> T
    {
        do {
            return try await pool.writeWithoutTransaction { db in try Self.transaction(db, durable: durable, checking: self, body) }
        } catch {
            throw StationStore.wrap(error, path: path)
        }
    }

    private static func transaction<T>(_ db: Database, durable: Bool, checking store: StationStore, _ body: (Database) throws -> T) throws -> T {
        if !durable { try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        let outcome = Result {
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                // Last, before the commit: the file is still the one this node opened.
                try store.checkFileIsOurs()
                return .commit
            }
            return result!
        }
        if !durable { try db.execute(sql: "PRAGMA synchronous = FULL") }
        return try outcome.get()
    }

    /// Runs `body` on a read snapshot, mapping errors.
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw StationStore.wrap(error, path: path)
        }
    }
}

extension Schema {
    /// One collection's definition as stored in the `collection` table.
    static func definitionJSON(_ c: CollectionSchema) -> JSONValue {
        guard case .object(let collections) = Schema(collections: [c.name: c]).json.objectValue?["collections"] ?? .null,
            let definition = collections[c.name]
        else { return .null }
        return definition
    }

    /// Reads one stored collection definition back.
    static func collection(named name: String, definitionText: String) throws -> CollectionSchema {
        let definition = try JSONParser.parse(definitionText)
        return try Schema(json: .object(["collections": .object([name: definition])])).collection(name)
    }
}

/// A file's identity: its device and inode numbers.
struct FileKey: Equatable, Sendable {
    var device: UInt64
    var inode: UInt64
}
