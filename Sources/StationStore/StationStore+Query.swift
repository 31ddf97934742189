import GRDB
import StationCore
import StationSync

extension StationStore {
    /// The records of `collection` that `query` finds, in its order, after `after`, at most
    /// `limit`: the one query function the command line, the API and the page use.
    ///
    /// A query whose order is an indexed field (`"indexes"` in the schema) reads that index in
    /// order from the cursor and stops once the page is full; one with a condition on an indexed
    /// field reads the records the index finds for it, then orders them; anything else reads the
    /// collection (in id order, so an unordered page stops early too). Whatever the plan, every
    /// condition is checked on the record's view: an index only narrows what is read, so the
    /// answer is the same with or without one.
    public func query(
        _ collection: String, _ query: RecordQuery, after: RecordQuery.Position? = nil, limit: Int? = nil, includeDeleted: Bool = false
    ) throws -> QueryPage {
        let c = try schema.collection(collection)
        func indexed(_ field: String) -> Bool { c.indexes.contains { $0.hasSameBytes(as: field) } }
        var found: [(position: RecordQuery.Position, record: StoredRecord)] = []
        var more = false
        var plan: String
        /// Takes a record in order; false once the page is full (one more seen: there is a next page).
        func take(_ record: StoredRecord) -> Bool {
            guard query.matches(record.view.fields) else { return true }
            let position = query.position(id: record.id, fields: record.view.fields)
            if let after, !query.precedes(after, position) { return true }
            if let limit, found.count == limit {
                more = true
                return false
            }
            found.append((position, record))
            return true
        }
        // GRDB binds a string as a C string: one holding U+0000 would reach SQLite cut short,
        // and a range on it could leave records out. Such a query reads every record.
        let bindable = !query.conditions.flatMap(\.values).contains(where: Self.holdsNUL) && !(after.map { Self.holdsNUL($0.value) } ?? false)
        if !includeDeleted, bindable, let field = query.sortField, indexed(field) {
            // The index in the query's order: a page costs its own rows.
            let bounds = Self.bounds(on: field, in: query.conditions)
            plan = "index on \(field), in order" + (bounds.text.isEmpty ? "" : " (\(bounds.text))")
            var sql = """
                SELECT f.id, r.seq, r.state, r.source FROM record_field f
                JOIN record r ON r.collection = f.collection AND r.id = f.id
                WHERE f.collection = ? AND f.field = ?\(bounds.sql)
                """
            var arguments: StatementArguments = [c.name, field]
            arguments += bounds.arguments
            if let after {
                let (kind, value) = RecordQuery.indexKey(after.value)
                sql += " AND (f.kind, f.value, f.id) \(query.descending ? "<" : ">") (?, ?, ?)"
                arguments += [kind, Self.databaseValue(value), after.id]
            }
            let direction = query.descending ? "DESC" : "ASC"
            sql += " ORDER BY f.kind \(direction), f.value \(direction), f.id \(direction)"
            try read { db in
                let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                while let row = try rows.next() {
                    guard take(try Self.storedRecord(row: row, collection: c, id: row["id"])) else { break }
                }
            }
            return QueryPage(records: found.map(\.record), next: more ? found.last?.position.cursor : nil, plan: plan)
        }
        if !includeDeleted, bindable, let condition = query.conditions.first(where: { indexed($0.field) && Self.narrows($0) }) {
            // The records the index finds for one condition, then ordered here.
            let bounds = Self.bounds(on: condition.field, in: [condition])
            plan = "index on \(condition.field) (\(bounds.text)), then ordered"
            var arguments: StatementArguments = [c.name, condition.field]
            arguments += bounds.arguments
            var candidates: [StoredRecord] = []
            try read { db in
                let rows = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT f.id, r.seq, r.state, r.source FROM record_field f
                        JOIN record r ON r.collection = f.collection AND r.id = f.id
                        WHERE f.collection = ? AND f.field = ?\(bounds.sql)
                        """, arguments: arguments)
                while let row = try rows.next() { candidates.append(try Self.storedRecord(row: row, collection: c, id: row["id"])) }
            }
            let ordered = candidates.map { (query.position(id: $0.id, fields: $0.view.fields), $0) }.sorted { query.precedes($0.0, $1.0) }
            for (_, record) in ordered where !take(record) { break }
            return QueryPage(records: found.map(\.record), next: more ? found.last?.position.cursor : nil, plan: plan)
        }
        // A scan, in id order: an unordered page stops once full.
        let count = try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM record WHERE collection = ?", arguments: [c.name]) ?? 0 }
        plan = "scan of \(count) record\(count == 1 ? "" : "s")"
        if let field = query.sortField { plan += indexed(field) ? "" : " (\(field) has no index)" }
        struct PageFull: Error {}
        var all: [(position: RecordQuery.Position, record: StoredRecord)] = []
        do {
            try forEachRecord(in: collection, includeDeleted: includeDeleted) { record in
                if query.sortField == nil {
                    guard take(record) else { throw PageFull() }
                } else if query.matches(record.view.fields) {
                    all.append((query.position(id: record.id, fields: record.view.fields), record))
                }
            }
        } catch is PageFull {}
        if query.sortField != nil {
            for (_, record) in all.sorted(by: { query.precedes($0.position, $1.position) }) where !take(record) { break }
        }
        return QueryPage(records: found.map(\.record), next: more ? found.last?.position.cursor : nil, plan: plan)
    }

    /// Whether `text`, case folded, holds `folded` (a needle already folded), by UTF-8 bytes.
    static func holds(_ text: String, _ folded: [UInt8]) -> Bool {
        let hay = Array(text.lowercased().utf8)
        guard !folded.isEmpty, hay.count >= folded.count else { return folded.isEmpty }
        let first = folded[0]
        var i = 0
        while i <= hay.count - folded.count {
            if hay[i] == first, hay[i..<(i + folded.count)].elementsEqual(folded) { return true }
            i += 1
        }
        return false
    }

    /// Whether a value holds U+0000 anywhere (nested too).
    static func holdsNUL(_ value: JSONValue) -> Bool {
        switch value {
        case .string(let s): s.utf8.contains(0)
        case .array(let a): a.contains(where: holdsNUL)
        case .object(let o): o.contains { $0.key.utf8.contains(0) || holdsNUL($0.value) }
        default: false
        }
    }

    /// Whether a condition can narrow what an index reads (`!=` cannot).
    static func narrows(_ condition: RecordQuery.Condition) -> Bool { condition.op != .notEqual }

    /// The SQL (on `f.kind`, `f.value`) that holds for every row a condition on `field` among
    /// `conditions` can hold for: a superset, the conditions being checked again on each record.
    static func bounds(on field: String, in conditions: [RecordQuery.Condition]) -> (sql: String, arguments: StatementArguments, text: String) {
        var sql = ""
        var arguments: StatementArguments = []
        var text: [String] = []
        for condition in conditions where condition.field.hasSameBytes(as: field) {
            let (kind, value) = RecordQuery.indexKey(condition.values[0])
            switch condition.op {
            case .equal:
                sql += " AND f.kind = ? AND f.value = ?"
                arguments += [kind, databaseValue(value)]
            case .oneOf:
                sql += " AND (" + condition.values.map { _ in "(f.kind = ? AND f.value = ?)" }.joined(separator: " OR ") + ")"
                for v in condition.values {
                    let (k, iv) = RecordQuery.indexKey(v)
                    arguments += [k, databaseValue(iv)]
                }
            case .less, .lessOrEqual, .greater, .greaterOrEqual:
                sql += " AND f.kind = ? AND f.value \(condition.op.rawValue) ?"
                arguments += [kind, databaseValue(value)]
            case .prefix:
                // Every UTF-8 text starting with P sorts below P followed by the bytes F4 90 80 80,
                // which no UTF-8 text holds (its largest code point is F4 8F BF BF).
                sql += " AND f.kind = 3 AND f.value >= ? AND f.value < (? || CAST(X'F4908080' AS TEXT))"
                arguments += [condition.values[0].stringValue ?? "", condition.values[0].stringValue ?? ""]
            case .notEqual:
                continue
            }
            text.append(condition.description)
        }
        return (sql, arguments, text.joined(separator: " and "))
    }

    static func databaseValue(_ value: RecordQuery.IndexValue) -> DatabaseValue {
        switch value {
        case .int(let i): i.databaseValue
        case .double(let d): d.databaseValue
        case .text(let t): t.databaseValue
        }
    }
}

extension StationStore {
    /// Longest text `search` looks for, in characters.
    public static let maxSearchCharacters = 64

    /// The live records of `collection` whose text holds `text` (case aside for Latin letters),
    /// in id order, after the record `after`, at most `limit`: `station search`.
    ///
    /// A collection that lists `"search"` fields is read from its full-text index: three
    /// characters or more through the trigrams, fewer (a two-character Chinese name) by reading
    /// the index's text. Any other collection is scanned, every shown string field read.
    public func search(_ collection: String, _ text: String, after: String? = nil, limit: Int? = nil) throws -> QueryPage {
        let c = try schema.collection(collection)
        let needle = Names.nfc(text)
        guard !needle.isEmpty else { throw CoreError(.invalidQuery, "search for what? (an empty text finds everything: use list)") }
        // A long text of one repeated character makes the trigram index's phrase match work in
        // proportion to its length times the matching text's: bounded here, for every caller.
        guard needle.count <= Self.maxSearchCharacters else {
            throw CoreError(.invalidQuery, "search for at most \(Self.maxSearchCharacters) characters (this text has \(needle.count))")
        }
        var found: [StoredRecord] = []
        var more = false
        if let c = needle.unicodeScalars.first(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw CoreError(.invalidQuery, "the search text holds a control character (U+\(String(c.value, radix: 16, uppercase: true)))")
        }
        let folded = Array(needle.lowercased().utf8)
        /// Takes a hit in id order; false once the page is full (one more seen).
        func take(_ record: StoredRecord) -> Bool {
            if let limit, found.count == limit {
                more = true
                return false
            }
            found.append(record)
            return true
        }
        if !c.search.isEmpty, needle.unicodeScalars.count >= 3 {
            // Three characters or more: the trigrams find the documents that hold the text.
            var arguments: StatementArguments = ["\"" + needle.replacingOccurrences(of: "\"", with: "\"\"") + "\"", c.name]
            // CROSS JOIN keeps SQLite's order: the full-text index first, then each hit's key and
            // record. Left to choose, it walks the keys in id order (no sort) and asks the
            // full-text index about every one: 30 s for 100k records instead of milliseconds.
            var sql = """
                SELECT k.id, r.seq, r.state, r.source FROM record_text t
                CROSS JOIN record_text_key k ON k.docid = t.rowid
                CROSS JOIN record r ON r.collection = k.collection AND r.id = k.id
                WHERE t.record_text MATCH ? AND k.collection = ?
                """
            if let after {
                sql += " AND k.id > ?"
                arguments += [after]
            }
            sql += " ORDER BY k.id"
            if let limit { sql += " LIMIT \(limit + 1)" }
            try read { db in
                for row in try Row.fetchAll(db, sql: sql, arguments: arguments)
                where !take(try Self.storedRecord(row: row, collection: c, id: row["id"])) {
                    break
                }
            }
            return QueryPage(
                records: found, next: more ? found.last?.id : nil, plan: "full-text index of \(c.search.joined(separator: ", ")) (trigrams)")
        }
        if !c.search.isEmpty {
            // Fewer than three characters (a two-character Chinese name): the index's text, in id
            // order, read here (case folded as the trigrams fold it), until the page is full.
            var arguments: StatementArguments = [c.name]
            var sql = """
                SELECT k.id, t.body FROM record_text_key k
                CROSS JOIN record_text t ON t.rowid = k.docid
                WHERE k.collection = ?
                """
            if let after {
                sql += " AND k.id > ?"
                arguments += [after]
            }
            sql += " ORDER BY k.id"
            try read { db in
                let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
                while let row = try rows.next() {
                    let body: String = row["body"]
                    guard Self.holds(body, folded) else { continue }
                    let id: String = row["id"]
                    let stored = try Row.fetchOne(
                        db, sql: "SELECT seq, state, source FROM record WHERE collection = ? AND id = ?", arguments: [c.name, id])
                    guard let stored, take(try Self.storedRecord(row: stored, collection: c, id: id)) else { break }
                }
            }
            return QueryPage(
                records: found, next: more ? found.last?.id : nil,
                plan: "full-text index of \(c.search.joined(separator: ", ")), its text read (under 3 characters)")
        }
        // No search fields: every record's shown strings.
        struct PageFull: Error {}
        do {
            try forEachRecord(in: collection) { record in
                if let after, !after.utf8.lexicographicallyPrecedes(record.id.utf8) { return }
                guard record.view.fields.values.contains(where: { $0.stringValue.map { Self.holds($0, folded) } ?? false }) else { return }
                guard take(record) else { throw PageFull() }
            }
        } catch is PageFull {}
        return QueryPage(records: found, next: more ? found.last?.id : nil, plan: "scan (\(c.name) lists no search fields)")
    }
}
