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
            // Adding 0 writes nothing (nothing to sync), once the field is known for a counter.
            if amount == 0, let stored {
                let c = try schema.collection(collection)
                let name = try c.localField(field, id: id).name
                guard c.policy(of: name) == .counter else {
                    throw CoreError(.wrongType, "\(collection)/\(id): field \"\(name)\" is \(c.policy(of: name).rawValue), not a counter")
                }
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
