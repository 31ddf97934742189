/// Which collections a token may read or write: all (`*`) or a list.
public enum AccessList: Sendable, Equatable, CustomStringConvertible {
    case all
    case only(Set<String>)

    /// Parses `*` or `c1,c2`.
    public init(parsing text: String) throws(SyncError) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed == "*" {
            self = .all
            return
        }
        let names = trimmed.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        for name in names where !Names.isValidCollection(name) {
            throw SyncError(.badRequest, "collection name \"\(name)\" in an access list must match [a-z][a-z0-9_]{0,63}")
        }
        self = .only(Set(names))
    }

    public func allows(_ collection: String) -> Bool {
        switch self {
        case .all: return true
        case .only(let set): return set.contains(collection)
        }
    }

    /// The collections of `schema` this list allows.
    public func filter(_ names: [String]) -> Set<String> {
        Set(names.filter(allows))
    }

    /// `*` or `c1,c2` (sorted), as stored and shown.
    public var description: String {
        switch self {
        case .all: return "*"
        case .only(let set): return set.sorted().joined(separator: ",")
        }
    }
}

import Foundation
import StationCore
