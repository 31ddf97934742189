import StationSync
import GRDB
import StationCore

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
        migrator.registerMigration("v2-database-id-tokens-peer-database") { db in
            // A random id for this database file, so peers notice when it is replaced.
            let id = (0..<16).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
            try db.execute(sql: "INSERT OR IGNORE INTO meta (key, value) VALUES ('databaseID', ?)", arguments: [id])
            // The peer database id that the checkpoint's positions refer to.
            try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN peerDatabase TEXT NOT NULL DEFAULT ''")
            // Bearer tokens of the stations allowed to sync with this node (a hub). Only a hash of
            // each token's secret is stored. `read` and `write` are '*' or comma-separated collections.
            try db.execute(
                sql: """
                    CREATE TABLE token (
                        id TEXT PRIMARY KEY,
                        station TEXT NOT NULL,
                        secretHash BLOB NOT NULL,
                        read TEXT NOT NULL,
                        write TEXT NOT NULL,
                        relay INTEGER NOT NULL,
                        createdAt TEXT NOT NULL,
                        revokedAt TEXT
                    ) WITHOUT ROWID
                    """)
            try db.execute(sql: "CREATE INDEX token_station ON token(station)")
        }
        migrator.registerMigration("v3-resolved-conflicts") { db in
            // How many resolved conflicts a record's history holds, for listing them without a scan.
            try db.execute(sql: "ALTER TABLE record ADD COLUMN resolved INTEGER NOT NULL DEFAULT 0")
            try db.execute(sql: "CREATE INDEX record_with_resolutions ON record(collection, id) WHERE resolved > 0")
        }
        migrator.registerMigration("v4-station-activity-operators") { db in
            // What each station was last seen doing here (a hub's dashboard shows it).
            try db.execute(
                sql: """
                    CREATE TABLE station_activity (
                        station TEXT PRIMARY KEY,
                        lastSeenAt TEXT NOT NULL,
                        lastPullAt TEXT,
                        pulledThrough INTEGER NOT NULL DEFAULT 0,
                        lastPushAt TEXT,
                        pushedChanges INTEGER NOT NULL DEFAULT 0
                    ) WITHOUT ROWID
                    """)
            // Operator tokens open the hub's dashboard and may resolve conflicts there.
            try db.execute(sql: "ALTER TABLE token ADD COLUMN operator INTEGER NOT NULL DEFAULT 0")
        }
        migrator.registerMigration("v5-collection-feed") { db in
            // The change feed of one collection: a station whose token reads some collections only
            // pulls them as index ranges (the cost follows the changes it receives, not the
            // size of those collections or the changes of the others).
            try db.execute(sql: "CREATE INDEX record_collection_seq ON record(collection, seq)")
        }
        migrator.registerMigration("v6-equal-values-are-no-conflict") { db in
            // Concurrent writes of the same value no longer count as a conflict (see
            // `RecordState.conflict(onField:in:id:)`): the status columns of rows that held one are
            // computed again. The states do not change, so no change is made in the feed.
            var collections: [String: CollectionSchema] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT name, definition FROM collection") {
                let name: String = row["name"]
                collections[name] = try Schema.collection(named: name, definitionText: row["definition"])
            }
            let rows = try Row.fetchAll(db, sql: "SELECT collection, id, state FROM record WHERE conflicts > 0")
            for row in rows {
                let name: String = row["collection"]
                guard let c = collections[name] else { continue }
                let state = try RecordState(jsonBytes: Array((row["state"] as String).utf8))
                let status = state.status(in: c)
                try db.execute(
                    sql: "UPDATE record SET deleted = ?, conflicted = ?, conflicts = ? WHERE collection = ? AND id = ?",
                    arguments: [status.deleted, status.conflicted, status.conflicts, name, row["id"] as String])
            }
        }
        migrator.registerMigration("v7-push-waiting") { db in
            // Records a peer answered `waiting` for, sent again at every push to it until it takes
            // them (see StationStore+Waiting.swift).
            try db.execute(
                sql: """
                    CREATE TABLE push_waiting (
                        peer TEXT NOT NULL,
                        collection TEXT NOT NULL,
                        id TEXT NOT NULL,
                        PRIMARY KEY (peer, collection, id)
                    ) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v8-node-writers") { db in
            // Which database writes as each node here (see StationStore+Writers.swift).
            try db.execute(
                sql: """
                    CREATE TABLE node_writer (
                        writer TEXT PRIMARY KEY,
                        node TEXT NOT NULL,
                        status TEXT NOT NULL,
                        firstSeenAt TEXT NOT NULL,
                        lastPushAt TEXT,
                        retiredAt TEXT,
                        retiredBy TEXT,
                        reason TEXT,
                        refusals INTEGER NOT NULL DEFAULT 0,
                        lastRefusedAt TEXT
                    ) WITHOUT ROWID
                    """)
            try db.execute(sql: "CREATE INDEX node_writer_node ON node_writer(node)")
        }
        migrator.registerMigration("v9-own-versions") { db in
            // Versions of records as this node wrote them, kept when a peer's version was merged
            // on top before every peer had them (see StationStore+Waiting.swift).
            try db.execute(
                sql: """
                    CREATE TABLE own_version (
                        n INTEGER PRIMARY KEY,
                        collection TEXT NOT NULL,
                        id TEXT NOT NULL,
                        state TEXT NOT NULL
                    )
                    """)
            try db.execute(sql: "CREATE INDEX own_version_record ON own_version(collection, id, n)")
            // Whether a peer lets this node bring others' writes (its session said `relay`); 0 for a
            // hub that knows this node by an ordinary station token, NULL before the first sync.
            try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN mayRelay INTEGER")
        }
        migrator.registerMigration("v10-counter-stocktakes") { db in
            // Counters may now hold stocktakes (RecordState+Counter.swift). Every state stored so
            // far holds totals only and reads the same under the new rule: nothing to rewrite.
            // The migration marks the database, so a build that does not know stocktakes refuses
            // to open it (see `open`), instead of adding them up.
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('stateVersion', '2')")
        }
        migrator.registerMigration("v11-station-clock-offset") { db in
            // How far off each station's clock was at its last session (ms; positive: ahead).
            try db.execute(sql: "ALTER TABLE station_activity ADD COLUMN clockOffset INTEGER")
        }
        migrator.registerMigration("v12-operator-sessions") { db in
            // Signed-in operators of the dashboard (see StationStore+OperatorSessions.swift): the
            // browser holds a random id, this a hash of it.
            try db.execute(
                sql: """
                    CREATE TABLE operator_session (
                        idHash TEXT PRIMARY KEY,
                        tokenID TEXT NOT NULL,
                        csrf TEXT NOT NULL,
                        createdAt TEXT NOT NULL,
                        expiresAt TEXT NOT NULL,
                        flash TEXT
                    ) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v13-schema-additions") { db in
            // Where a collection came from: NULL for this database's own (init), else the peer
            // whose schema added it (see `station schema`).
            try db.execute(sql: "ALTER TABLE collection ADD COLUMN addedBy TEXT")
        }
        migrator.registerMigration("v14-peer-proven-by-token") { db in
            // Whether the peer proved at its last session that it holds this node's token (a hub
            // this node syncs with by its token): 1 yes, 0 no, NULL synced before this was noted.
            try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN byToken INTEGER")
        }
        migrator.registerMigration("v15-checkpoint-left-behind") { db in
            // What the checkpoint's positions moved past without syncing (LeftBehind, as JSON):
            // collections not pushed, fields pulled records waited for. NULL: nothing.
            try db.execute(sql: "ALTER TABLE checkpoint ADD COLUMN leftBehind TEXT")
        }
        migrator.registerMigration("v16-record-field") { db in
            // The view of the fields a collection indexes (`"indexes"` in its schema), one row per
            // live record and indexed field, written with the record's row: what reads show, as
            // RecordQuery orders it (kind, then the value: numbers as numbers, text by bytes; 0
            // for null or absent). Queries on an indexed field read a range of it. A write replaces
            // the rows of the values it changed, found from the state it replaces (no second
            // index to keep: a write to a record costs the index rows that change, often none).
            try db.execute(
                sql: """
                    CREATE TABLE record_field (
                        collection TEXT NOT NULL,
                        field TEXT NOT NULL,
                        kind INTEGER NOT NULL,
                        value NOT NULL,
                        id TEXT NOT NULL,
                        PRIMARY KEY (collection, field, kind, value, id)
                    ) WITHOUT ROWID
                    """)
        }
        migrator.registerMigration("v17-record-text") { db in
            // Full-text search (`station search`): the shown text of the fields a collection
            // lists under `"search"`, one document per live record, in an FTS5 table with the
            // trigram tokenizer (any three characters match, Chinese names included). Documents
            // are numbered by `record_text_key`, which finds a record's document to replace.
            try db.execute(
                sql: """
                    CREATE TABLE record_text_key (
                        docid INTEGER PRIMARY KEY,
                        collection TEXT NOT NULL,
                        id TEXT NOT NULL,
                        UNIQUE (collection, id)
                    )
                    """)
            try db.execute(sql: "CREATE VIRTUAL TABLE record_text USING fts5(collection UNINDEXED, body, tokenize = 'trigram')")
        }
        migrator.registerMigration("v18-authors-and-history") { db in
            // Values may now name their author (a fifth element, RecordState+Codec.swift). Every
            // state stored so far names none and reads the same: nothing to rewrite. The mark
            // makes a build that does not know authors refuse the database (see `open`).
            try db.execute(sql: "INSERT OR REPLACE INTO meta (key, value) VALUES ('stateVersion', '3')")
            // Each record's history on this node (HistoryEntry.swift): an entry per version stored
            // that changed what reads show, `at` in ms since 1970 by this node's clock, `peer` the
            // node a merged version came from, `entry` the entry's JSON. Kept for the days a
            // collection's `historyDays` says; pruned from the oldest (`n` follows time).
            try db.execute(
                sql: """
                    CREATE TABLE record_history (
                        n INTEGER PRIMARY KEY,
                        collection TEXT NOT NULL,
                        id TEXT NOT NULL,
                        at INTEGER NOT NULL,
                        peer TEXT,
                        entry TEXT NOT NULL
                    )
                    """)
            try db.execute(sql: "CREATE INDEX record_history_record ON record_history(collection, id, n)")
        }
        migrator.registerMigration("v19-local-users") { db in
            // The people who use this station's records API and page (`station user add`): a
            // write through them is authored by the name. Only SHA-256 of a user's token is kept.
            try db.execute(
                sql: """
                    CREATE TABLE local_user (
                        name TEXT PRIMARY KEY,
                        tokenHash TEXT NOT NULL UNIQUE,
                        createdAt TEXT NOT NULL
                    ) WITHOUT ROWID
                    """)
        }
        return migrator
    }
}
