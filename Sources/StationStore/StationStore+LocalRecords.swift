import StationCore
import StationSync

extension StationStore: LocalRecords {
    public func writeRecord(
        _ collection: String, _ id: String, _ values: [String: JSONValue], replacing: Bool, author: String?
    ) throws
        -> LocalWrite
    {
        try write { tx in
            var given = values
            if replacing, let stored = try tx.load(collection, id) {
                // Every field it shows that the new version does not give is unset; counters stay.
                let c = try schema.collection(collection)
                let declared = Set(values.keys.map { (try? c.localField($0, id: id).name) ?? $0 })
                for (name, _) in stored.view(in: c, id: id).fields where c.policy(of: name) != .counter && !declared.contains(name) {
                    given[name] = .null
                }
            }
            return try tx.put(collection, id, given, author: author)
        }
    }

    public func addToCounter(
        _ collection: String, _ id: String, field: String, amount: Int64, create: Bool, author: String?
    ) throws
        -> RecordState
    {
        try write { tx in
            let stored = try tx.load(collection, id)
            if !create, stored == nil {
                _ = try schema.collection(collection)
                throw CoreError(.recordNotFound, "\(collection)/\(id) does not exist: nothing added (create makes it)")
            }
            // Adding 0 writes nothing (nothing to sync); it is checked as any add is, on a copy.
            if amount == 0, let stored {
                var checked = stored
                try checked.add(0, to: field, by: writer, at: .zero, in: try schema.collection(collection), id: id, author: author)
                return stored
            }
            return try tx.add(collection, id, field: field, amount: amount, author: author)
        }
    }

    public func deleteRecord(_ collection: String, _ id: String, author: String?) throws -> RecordState? {
        try delete(collection, id, author: author)
    }

    public func findRecords(_ collection: String, _ query: RecordQuery, after: RecordQuery.Position?, limit: Int) throws -> QueryPage {
        try self.query(collection, query, after: after, limit: limit)
    }

    public func searchRecords(_ collection: String, _ text: String, after: String?, limit: Int) throws -> QueryPage {
        try search(collection, text, after: after, limit: limit)
    }

    public func recordHistory(_ collection: String, _ id: String, after: Int64?, limit: Int) throws -> [StoredHistoryEntry] {
        try history(collection, id, after: after, limit: limit)
    }

    public func changedRecords(since: Int64, limit: Int) throws -> (records: [StoredRecord], next: Int64) {
        let batch = try changes(since: since, limit: limit)
        var records: [StoredRecord] = []
        records.reserveCapacity(batch.changes.count)
        for change in batch.changes {
            let c = try schema.collection(change.collection)
            let state = try RecordState(jsonText: change.stateText)
            records.append(
                StoredRecord(
                    collection: change.collection, id: change.id, seq: change.seq, state: state, source: change.source,
                    view: state.view(in: c, id: change.id)))
        }
        return (records, batch.nextSince)
    }
}
