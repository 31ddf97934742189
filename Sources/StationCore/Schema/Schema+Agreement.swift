/// Comparing two nodes' schemas before they sync.
///
/// Two schemas agree when every field both can write has the same policy on both sides, and
/// every collection both declare has the same default and delete policy. What only one side
/// declares is an addition, not a disagreement: the hub's additions reach stations through sync.
extension Schema {
    /// One disagreement, naming the collection and field.
    public struct Disagreement: Sendable, Equatable, CustomStringConvertible {
        public var collection: String
        /// The field, `(default)` or `(deleteConflict)`.
        public var field: String
        public var local: String
        public var remote: String
        public var description: String {
            "\(collection).\(field) is \(local) here but \(remote) at the peer"
        }
    }

    /// Where this schema and `remote` disagree (empty when they agree).
    public func disagreements(with remote: Schema) -> [Disagreement] {
        var result: [Disagreement] = []
        for name in collectionNames {
            guard let mine = collections[name], let theirs = remote.collections[name] else { continue }
            if mine.defaultPolicy != theirs.defaultPolicy {
                result.append(Disagreement(collection: name, field: "(default)", local: mine.defaultPolicy.rawValue, remote: theirs.defaultPolicy.rawValue))
            }
            if mine.deleteConflict != theirs.deleteConflict {
                result.append(Disagreement(collection: name, field: "(deleteConflict)", local: mine.deleteConflict.rawValue, remote: theirs.deleteConflict.rawValue))
            }
            for field in Set(mine.fields.keys).union(theirs.fields.keys).sorted() {
                let a = mine.policy(of: field), b = theirs.policy(of: field)
                if a != b { result.append(Disagreement(collection: name, field: field, local: a.rawValue, remote: b.rawValue)) }
            }
        }
        return result
    }

    /// This schema extended with what `remote` declares and this one does not (collections, and
    /// fields listed explicitly). Only meaningful when the two agree.
    public func adding(_ remote: Schema) -> Schema {
        var result = self
        for (name, theirs) in remote.collections {
            guard var mine = result.collections[name] else {
                result.collections[name] = theirs
                continue
            }
            for (field, policy) in theirs.fields where mine.fields[field] == nil { mine.fields[field] = policy }
            if mine.description == nil { mine.description = theirs.description }
            result.collections[name] = mine
        }
        return result
    }

    /// A short fingerprint of the schema's canonical JSON (FNV-1a, 16 hex digits): equal schemas,
    /// equal fingerprints, so a sync can skip fetching the peer's schema when nothing changed.
    public var fingerprint: String {
        var hash = FNV1a64()
        hash.add(json.canonicalText)
        return hash.hex
    }
}
