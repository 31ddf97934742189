/// Where a page of the change feed ends: at `limit` changes, or after the change that brings its
/// states to `maxBytes` (the first change always goes, however large). Every backend's
/// ``ChangeFeed/changes(since:limit:excludingSource:collections:maxBytes:)`` cuts its pages with it.
public struct PageCut: Sendable {
    public var limit: Int
    public var maxBytes: Int

    public init(limit: Int, maxBytes: Int) {
        self.limit = limit
        self.maxBytes = maxBytes
    }

    /// Whether the change at `index` belongs to the page, the changes before it holding `bytesBefore`.
    public func takes(index: Int, bytesBefore: Int) -> Bool {
        index < limit && (index == 0 || bytesBefore < maxBytes)
    }

    /// How many of `changes` (in sequence order) the page holds.
    public func end(of changes: [Change]) -> Int {
        var bytes = 0
        for (i, change) in changes.enumerated() {
            guard takes(index: i, bytesBefore: bytes) else { return i }
            bytes += change.stateText.utf8.count
        }
        return changes.count
    }
}
