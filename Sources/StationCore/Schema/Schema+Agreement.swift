/// Comparing two nodes' schemas before they sync.
///
/// Two schemas agree when every field both declare has the same policy on both sides, the same
/// type, required on both or neither and the same bounds, and every collection both declare has
/// the same default and delete policy. What only one side declares is an addition, not a
/// disagreement (a field the hub adds with any policy, `manual` included; an enum value; a type
/// given to a field the other side declares by its policy alone):
/// the hub's additions reach stations through sync; a peer's that is not the hub wait (see
/// ``pendingFields(from:)``).
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
                result.append(
                    Disagreement(collection: name, field: "(default)", local: mine.defaultPolicy.rawValue, remote: theirs.defaultPolicy.rawValue))
            }
            if mine.deleteConflict != theirs.deleteConflict {
                result.append(
                    Disagreement(
                        collection: name, field: "(deleteConflict)", local: mine.deleteConflict.rawValue, remote: theirs.deleteConflict.rawValue))
            }
            for (field, a) in mine.declarations.sorted(by: { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }) {
                guard let b = theirs.declarations[field] else { continue }
                if a.policy != b.policy {
                    result.append(Disagreement(collection: name, field: field, local: a.policy.rawValue, remote: b.policy.rawValue))
                } else if let disagreement = Self.typeDisagreement(a, b) {
                    result.append(Disagreement(collection: name, field: field, local: disagreement.local, remote: disagreement.remote))
                }
            }
        }
        return result
    }

    /// What `remote` declares that this schema would read otherwise: collections it does not have,
    /// and fields it declares with a policy other than the one this schema gives them (its
    /// collection's default). Records that need them cannot be merged here until this schema
    /// declares them too. Keys: collection names; values: the fields (empty for a whole collection).
    public func pendingFields(from remote: Schema) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for (name, theirs) in remote.collections {
            guard let mine = collections[name] else {
                result[name] = []
                continue
            }
            for (field, policy) in theirs.fields where mine.fields[field] == nil && mine.policy(of: field) != policy {
                result[name, default: []].insert(field)
            }
        }
        return result
    }

    /// Most collections a schema may hold, fields a collection may declare, and bytes its JSON may
    /// take: additions a peer declares beyond these are refused.
    public static let maxCollections = 256
    public static let maxFieldsPerCollection = 256
    public static let maxBytes = 256 * 1024

    /// Refuses a schema past the bounds (``maxCollections``, ``maxFieldsPerCollection``,
    /// ``maxBytes``), naming the one passed.
    public func checkBounds(what: String) throws(CoreError) {
        if collections.count > Self.maxCollections {
            throw CoreError(.invalidSchema, "\(what) would hold \(collections.count) collections; at most \(Self.maxCollections)")
        }
        if let big = collections.values.first(where: { $0.fields.count > Self.maxFieldsPerCollection }) {
            throw CoreError(
                .invalidSchema, "\(what): collection \(big.name) would declare \(big.fields.count) fields; at most \(Self.maxFieldsPerCollection)")
        }
        let bytes = json.canonicalText.utf8.count
        if bytes > Self.maxBytes { throw CoreError(.invalidSchema, "\(what) would take \(bytes) bytes; at most \(Self.maxBytes)") }
    }

    /// This schema extended with what `remote` declares and this one does not (collections,
    /// fields listed explicitly, enum values, types of fields this one declares untyped). Only
    /// meaningful when the two agree.
    public func adding(_ remote: Schema) -> Schema {
        var result = self
        for (name, theirs) in remote.collections {
            guard var mine = result.collections[name] else {
                result.collections[name] = theirs
                continue
            }
            for (field, d) in theirs.declarations {
                guard let own = mine.declarations[field] else {
                    mine.declarations[field] = d
                    continue
                }
                if own.type == nil, d.type != nil {
                    mine.declarations[field] = d
                } else if case .enumeration(let a) = own.type, case .enumeration(let b) = d.type {
                    let more = b.filter { v in !a.contains { $0.hasSameBytes(as: v) } }
                    if !more.isEmpty {
                        mine.declarations[field]!.type = .enumeration((a + more).sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) })
                    }
                }
            }
            if mine.description == nil { mine.description = theirs.description }
            result.collections[name] = mine
        }
        return result
    }

    /// A short fingerprint of the schema's canonical JSON (FNV-1a, 16 hex digits): equal schemas,
    /// equal fingerprints, so a sync can skip fetching the peer's schema when nothing changed.
    public var fingerprint: String {
        var shared = self
        for name in collectionNames {  // each node's own
            shared.collections[name]!.indexes = []
            shared.collections[name]!.search = []
            shared.collections[name]!.historyDays = nil
        }
        var hash = FNV1a64()
        hash.add(shared.json.canonicalText)
        return hash.hex
    }

    /// Where two declarations of one field with the same policy disagree: a type of another kind,
    /// required on one side only, other bounds. nil when they agree (one untyped, or two enums,
    /// whatever their values: those are additions).
    static func typeDisagreement(_ a: FieldDeclaration, _ b: FieldDeclaration) -> (local: String, remote: String)? {
        guard let ta = a.type, let tb = b.type else { return nil }
        if !ta.sameKind(as: tb) || a.required != b.required || a.minimum != b.minimum || a.maximum != b.maximum {
            return (a.summary, b.summary)
        }
        return nil
    }

    /// What this schema declares beyond `before`, one line each: `stock` (a collection),
    /// `stock.expiry` (a field), `stock.status: enum value "lost"`, `stock.unit: type string`.
    public func additions(over before: Schema) -> [String] {
        var result: [String] = []
        for name in collectionNames {
            guard let old = before.collections[name] else {
                result.append(name)
                continue
            }
            let now = collections[name]!
            for field in now.declarations.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
                let d = now.declarations[field]!
                guard let was = old.declarations[field] else {
                    result.append("\(name).\(field)")
                    continue
                }
                if was.type == nil, let t = d.type {
                    result.append("\(name).\(field): type \(t.name)")
                } else if case .enumeration(let a) = was.type, case .enumeration(let b) = d.type {
                    for v in b where !a.contains(where: { $0.hasSameBytes(as: v) }) { result.append("\(name).\(field): enum value \"\(v)\"") }
                }
            }
        }
        return result
    }
}
