import StationCore
import StationSync
import GRDB
import GRDBSQLite

/// The statements the write path runs on the `record` table for every write: read a record's
/// state, insert a new record, update an existing one. Driven through SQLite's C interface.
///
/// Through GRDB's general `execute(arguments:)`, the Swift side of a write cost more than SQLite's
/// own work: building `StatementArguments`, converting every value to a `DatabaseValue`, looking
/// the statement up by its SQL text, and the bookkeeping for transaction observers, which this
/// store does not use. Here the statements come from GRDB's statement cache once per transaction,
/// their few values are bound directly, and the state's canonical bytes are read and bound in
/// place: no `String` is made of them.
///
/// Valid only inside the transaction that made it, on its connection.
struct RecordRows {
    private let db: Database
    private let select: Statement
    private let insert: Statement
    private let update: Statement
    private let deleteField: Statement
    private let insertField: Statement
    private let selectDoc: Statement
    private let insertKey: Statement
    private let deleteKey: Statement
    private let deleteText: Statement
    private let insertText: Statement
    private let insertHistory: Statement

    init(_ db: Database) throws {
        self.db = db
        select = try db.cachedStatement(sql: "SELECT state FROM record WHERE collection = ?1 AND id = ?2")
        // Both writes take the same numbered parameters (see `write`). The INSERT does nothing when
        // the record has a row already, so a write can try it without reading first.
        insert = try db.cachedStatement(
            sql: """
                INSERT INTO record (collection, id, seq, state, deleted, conflicted, conflicts, source, resolved)
                VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
                ON CONFLICT (collection, id) DO NOTHING
                """)
        update = try db.cachedStatement(
            sql: """
                UPDATE record SET seq = ?3, state = ?4, deleted = ?5, conflicted = ?6, conflicts = ?7, source = ?8,
                    resolved = ?9
                WHERE collection = ?1 AND id = ?2
                """)
        deleteField = try db.cachedStatement(
            sql: "DELETE FROM record_field WHERE collection = ?1 AND field = ?2 AND kind = ?3 AND value = ?4 AND id = ?5")
        insertField = try db.cachedStatement(sql: "INSERT INTO record_field (collection, field, kind, value, id) VALUES (?1, ?2, ?3, ?4, ?5)")
        selectDoc = try db.cachedStatement(sql: "SELECT docid FROM record_text_key WHERE collection = ?1 AND id = ?2")
        insertKey = try db.cachedStatement(sql: "INSERT INTO record_text_key (collection, id) VALUES (?1, ?2)")
        deleteKey = try db.cachedStatement(sql: "DELETE FROM record_text_key WHERE docid = ?1")
        deleteText = try db.cachedStatement(sql: "DELETE FROM record_text WHERE rowid = ?1")
        insertText = try db.cachedStatement(sql: "INSERT INTO record_text (rowid, collection, body) VALUES (?1, ?2, ?3)")
        insertHistory = try db.cachedStatement(sql: "INSERT INTO record_history (collection, id, at, peer, entry) VALUES (?1, ?2, ?3, ?4, ?5)")
    }

    /// Appends an entry to a record's history: `at` in ms since 1970 (this node's clock), `peer`
    /// the node a merged version came from, `entry` the entry's canonical JSON.
    func writeHistory(_ collection: String, _ id: String, at: UInt64, peer: String?, entry: [UInt8]) throws {
        let statement = insertHistory.sqliteStatement
        defer { finish(statement) }
        Self.bind(collection, at: 1, to: statement)
        Self.bind(id, at: 2, to: statement)
        sqlite3_bind_int64(statement, 3, Int64(clamping: at))
        if let peer { Self.bind(peer, at: 4, to: statement) } else { sqlite3_bind_null(statement, 4) }
        let code = entry.withUnsafeBufferPointer { bytes in
            sqlite3_bind_text(statement, 5, bytes.baseAddress, Int32(bytes.count), nil)
            return sqlite3_step(statement)
        }
        guard code == SQLITE_DONE else { throw error(code, insertHistory) }
    }

    /// The text `station search` finds in a record: the shown strings of its search fields, one
    /// per line; nil for a deleted record or one with none.
    static func searchText(_ collection: CollectionSchema, _ state: RecordState?) -> String? {
        guard let state, !state.isEmpty, !state.isDeleted(in: collection) else { return nil }
        let parts = collection.search.compactMap { state.shown($0, in: collection)?.stringValue }
        guard !parts.isEmpty else { return nil }
        // FTS5's tokenizers stop at U+0000: the index gets a line break there instead (the
        // record keeps its value; a search never holds a control character).
        let text = parts.joined(separator: "\n")
        return text.utf8.contains(0) ? String(decoding: text.utf8.map { $0 == 0 ? 10 : $0 }, as: UTF8.self) : text
    }

    /// Brings a record's search document from what `previous` gave to what `state` gives
    /// (prepared statements bound directly, as the record's own row: this runs on every write).
    func writeSearchText(_ collection: CollectionSchema, _ id: String, state: RecordState?, previous: RecordState?) throws {
        guard !collection.search.isEmpty else { return }
        let before = Self.searchText(collection, previous)
        let after = Self.searchText(collection, state)
        if let before, let after, before.hasSameBytes(as: after) { return }
        if before == nil, after == nil { return }
        var docid: Int64?
        do {
            let statement = selectDoc.sqliteStatement
            defer { finish(statement) }
            Self.bind(collection.name, at: 1, to: statement)
            Self.bind(id, at: 2, to: statement)
            switch sqlite3_step(statement) {
            case SQLITE_ROW: docid = sqlite3_column_int64(statement, 0)
            case SQLITE_DONE: break
            case let code: throw error(code, selectDoc)
            }
        }
        if let docid, before != nil { try run(deleteText, docid) }
        guard let after else {
            if let docid { try run(deleteKey, docid) }
            return
        }
        if docid == nil {
            let statement = insertKey.sqliteStatement
            defer { finish(statement) }
            Self.bind(collection.name, at: 1, to: statement)
            Self.bind(id, at: 2, to: statement)
            let code = sqlite3_step(statement)
            guard code == SQLITE_DONE else { throw error(code, insertKey) }
            docid = sqlite3_last_insert_rowid(db.sqliteConnection)
        }
        let statement = insertText.sqliteStatement
        defer { finish(statement) }
        sqlite3_bind_int64(statement, 1, docid!)
        Self.bind(collection.name, at: 2, to: statement)
        Self.bind(after, at: 3, to: statement)
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw error(code, insertText) }
    }

    /// Runs a statement that takes one integer.
    private func run(_ prepared: Statement, _ value: Int64) throws {
        let statement = prepared.sqliteStatement
        defer { finish(statement) }
        sqlite3_bind_int64(statement, 1, value)
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw error(code, prepared) }
    }

    /// The index rows a record's state gives (`record_field`): none for a deleted record, else
    /// one per field in `collection.indexes`, with what reads show.
    static func indexRows(_ collection: CollectionSchema, _ state: RecordState?) -> [(kind: Int, value: RecordQuery.IndexValue)?] {
        guard let state, !state.isEmpty, !state.isDeleted(in: collection) else { return collection.indexes.map { _ in nil } }
        return collection.indexes.map { RecordQuery.indexKey(state.shown($0, in: collection)) }
    }

    /// Brings a record's index rows from what `previous` gave (nil: the record had no row) to
    /// what `state` gives, writing only the rows that change.
    func writeIndexed(_ collection: CollectionSchema, _ id: String, state: RecordState?, previous: RecordState?) throws {
        guard !collection.indexes.isEmpty else { return }
        let before = Self.indexRows(collection, previous)
        let after = Self.indexRows(collection, state)
        for (i, field) in collection.indexes.enumerated() {
            if let old = before[i], let new = after[i], old.kind == new.kind, old.value == new.value { continue }
            if let old = before[i] { try step(deleteField, collection.name, field, old, id) }
            if let new = after[i] { try step(insertField, collection.name, field, new, id) }
        }
    }

    private func step(
        _ prepared: Statement, _ collection: String, _ field: String, _ row: (kind: Int, value: RecordQuery.IndexValue), _ id: String
    ) throws {
        let statement = prepared.sqliteStatement
        defer { finish(statement) }
        Self.bind(collection, at: 1, to: statement)
        Self.bind(field, at: 2, to: statement)
        sqlite3_bind_int64(statement, 3, Int64(row.kind))
        Self.bind(row.value, at: 4, to: statement)
        Self.bind(id, at: 5, to: statement)
        let code = sqlite3_step(statement)
        guard code == SQLITE_DONE else { throw error(code, prepared) }
    }

    /// Binds an index value with its SQLite type (integer, real or text).
    static func bind(_ value: RecordQuery.IndexValue, at index: Int32, to statement: SQLiteStatement) {
        switch value {
        case .int(let i): sqlite3_bind_int64(statement, index, i)
        case .double(let d): sqlite3_bind_double(statement, index, d)
        case .text(let t): bind(t, at: index, to: statement)
        }
    }

    /// Calls `body` with the stored state of a record (its canonical JSON bytes, valid only during
    /// the call), or returns nil when the record has no row.
    func withState<T>(_ collection: String, _ id: String, _ body: (UnsafeBufferPointer<UInt8>) throws -> T) throws -> T? {
        let statement = select.sqliteStatement
        defer { finish(statement) }
        Self.bind(collection, at: 1, to: statement)
        Self.bind(id, at: 2, to: statement)
        switch sqlite3_step(statement) {
        case SQLITE_DONE:
            return nil
        case SQLITE_ROW:
            // The text first, then its length (the order SQLite documents).
            let text = sqlite3_column_text(statement, 0)
            let count = Int(sqlite3_column_bytes(statement, 0))
            return try body(UnsafeBufferPointer(start: text, count: count))
        case let code:
            throw error(code, select)
        }
    }

    /// The columns of a record's row besides its key (see the `record` table's migration).
    struct Values {
        var seq: Int64
        var deleted: Bool
        var conflicted: Bool
        var conflicts: Int
        var source: String?
        var resolved: Int
    }

    /// Writes a record's row: an INSERT when `isNew`, else an UPDATE of the existing row.
    /// `state` is the state's canonical JSON. Returns false when the INSERT found the record's row
    /// already there and wrote nothing.
    @discardableResult
    func write(_ collection: String, _ id: String, state: [UInt8], _ values: Values, isNew: Bool) throws -> Bool {
        let prepared = isNew ? insert : update
        let statement = prepared.sqliteStatement
        defer { finish(statement) }
        Self.bind(collection, at: 1, to: statement)
        Self.bind(id, at: 2, to: statement)
        sqlite3_bind_int64(statement, 3, values.seq)
        sqlite3_bind_int64(statement, 5, values.deleted ? 1 : 0)
        sqlite3_bind_int64(statement, 6, values.conflicted ? 1 : 0)
        sqlite3_bind_int64(statement, 7, Int64(values.conflicts))
        if let source = values.source { Self.bind(source, at: 8, to: statement) } else { sqlite3_bind_null(statement, 8) }
        sqlite3_bind_int64(statement, 9, Int64(values.resolved))
        let code = state.withUnsafeBufferPointer { bytes in
            // Bound without a copy: SQLite reads the bytes during the step, and `finish` unbinds
            // them before the buffer can go away.
            sqlite3_bind_text(statement, 4, bytes.baseAddress, Int32(bytes.count), nil)
            return sqlite3_step(statement)
        }
        guard code == SQLITE_DONE else { throw error(code, prepared) }
        let changed = sqlite3_changes(db.sqliteConnection) > 0
        // An UPDATE that finds no row would drop the write silently (a record read under another
        // key than the one written, say): never.
        if !isNew, !changed {
            throw StoreError(.sqlite, "\(collection)/\(id): the record's row to update is not there")
        }
        return changed
    }

    /// Resets a statement and clears its bindings, so it can run again and holds no pointer to
    /// memory it does not own.
    private func finish(_ statement: SQLiteStatement) {
        sqlite3_reset(statement)
        sqlite3_clear_bindings(statement)
    }

    /// Binds a string (SQLite copies it) with its length in bytes: a string holding U+0000 (JSON
    /// allows it in a value) is bound whole, not cut at the NUL as a C string would be.
    private static func bind(_ string: String, at index: Int32, to statement: SQLiteStatement) {
        var string = string
        string.withUTF8 { bytes in
            _ = sqlite3_bind_text(statement, index, bytes.baseAddress, Int32(bytes.count), sqliteTransient)
        }
    }

    /// The error SQLite reported for `statement`, as GRDB reports errors.
    private func error(_ code: Int32, _ statement: Statement) -> DatabaseError {
        let message = db.sqliteConnection.map { String(cString: sqlite3_errmsg($0)) }
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }
}

/// SQLite's `SQLITE_TRANSIENT`: "copy the value now" (the C macro does not reach Swift).
private let sqliteTransient = unsafeBitCast(OpaquePointer(bitPattern: -1), to: sqlite3_destructor_type.self)
