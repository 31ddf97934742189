import StationCore

/// Record keys kept in their order (``RecordKey``'s: SQLite's BINARY collation), each once: a page after a key is a binary search and a slice, as an index range
/// is for SQLite, not a sort of every key.
struct SortedRecordKeys: Sendable {
    private(set) var keys: [RecordKey] = []

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    /// Whether `key` is here.
    func contains(_ key: RecordKey) -> Bool {
        let at = index(notBefore: key)
        return at < keys.count && keys[at] == key
    }

    /// Adds `key` unless it is here.
    mutating func insert(_ key: RecordKey) {
        let at = index(notBefore: key)
        if at < keys.count, keys[at] == key { return }
        keys.insert(key, at: at)
    }

    /// Removes `key` if it is here.
    mutating func remove(_ key: RecordKey) {
        let at = index(notBefore: key)
        if at < keys.count, keys[at] == key { keys.remove(at: at) }
    }

    /// The keys after `after` (all when nil), in order.
    func after(_ after: RecordKey?) -> ArraySlice<RecordKey> {
        guard let after else { return keys[...] }
        var at = index(notBefore: after)
        if at < keys.count, keys[at] == after { at += 1 }
        return keys[at...]
    }

    /// The position of the first key not before `key`.
    private func index(notBefore key: RecordKey) -> Int {
        var low = 0
        var high = keys.count
        while low < high {
            let mid = (low + high) / 2
            if keys[mid] < key { low = mid + 1 } else { high = mid }
        }
        return low
    }
}
