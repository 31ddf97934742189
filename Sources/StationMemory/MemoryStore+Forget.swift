import StationCore
import StationSync

extension MemoryStore {
    /// Forgets these records here, by the rule every backend applies (``ForgetRefusal``): refuses,
    /// forgetting nothing, when one does not exist or holds a write of this station. Their change
    /// in the feed, what waits of them for a peer and their own versions go with them; the feed's
    /// sequences are never reused. Returns the records forgotten.
    @discardableResult
    public func forget(_ keys: [RecordKey]) throws(ForgetRefusal) -> [RecordKey] {
        let station = node.rawValue
        return try state.withLock { (s: inout MemoryState) throws(ForgetRefusal) -> [RecordKey] in
            for key in keys { try ForgetRefusal.check(key, s.records[key]?.state, station: station) }
            var forgotten: [RecordKey] = []
            for key in keys {
                guard let record = s.setRecord(key, nil) else { continue }  // named twice
                s.feed[record.seq] = nil
                for peer in Array(s.waiting.keys) {
                    s.waiting[peer]?.remove(key)
                    if s.waiting[peer]?.isEmpty == true { s.waiting[peer] = nil }
                }
                s.dropOwnVersions(of: key)
                forgotten.append(key)
            }
            s.compactFeed()
            return forgotten
        }
    }
}
