import GRDB

extension StationStore {
    /// Named, append-only migrations. Never edit one that has shipped: add the next.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-records-feed-checkpoints") { db in
            // node, hlc (last issued timestamp), createdAt
            try db.execute(sql: "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID")
            // The schema: one row per collection with its definition as JSON.
            try db.execute(sql: "CREATE TABLE collection (name TEXT PRIMARY KEY, definition TEXT NOT NULL) WITHOUT ROWID")
            // One row per record: its latest state, stamped with the change-feed sequence of its
            // latest change. `deleted`, `conflicted` and `conflicts` are what reads show, kept for
            // listing without decoding; `source` is the peer a merged change came from (NULL: local).
            try db.execute(
                sql: """
                    CREATE TABLE record (
                        collection TEXT NOT NULL,
                        id TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        state TEXT NOT NULL,
                        deleted INTEGER NOT NULL,
                        conflicted INTEGER NOT NULL,
                        conflicts INTEGER NOT NULL,
                        source TEXT,
                        PRIMARY KEY (collection, id)
                    ) WITHOUT ROWID
                    """)
            // "Changes since S" is a range scan of this index: O(changes), not O(records).
            try db.execute(sql: "CREATE UNIQUE INDEX record_seq ON record(seq)")
            // Records holding conflicts, for the conflict tools; small because conflicts are rare.
            try db.execute(sql: "CREATE INDEX record_with_conflicts ON record(collection, id) WHERE conflicts > 0")
            // Per-peer sync progress: the local sequence pushed to the peer, and the peer's own
            // cursor after the last batch pulled from it.
            try db.execute(
                sql: """
                    CREATE TABLE checkpoint (
                        peer TEXT PRIMARY KEY,
                        pushed INTEGER NOT NULL DEFAULT 0,
                        pulled TEXT NOT NULL DEFAULT '',
                        updatedAt TEXT
                    ) WITHOUT ROWID
                    """)
        }
        return migrator
    }
}
