/// The declared collections and the merge policy of each field.
///
/// JSON form (the schema file, stored in every database at init):
/// ```json
/// {"collections": {"charity_stock": {"description": "…", "default": "lww",
///   "deleteConflict": "update-wins", "fields": {"quantity": "counter",
///   "itemName": {"policy": "lww", "type": "string", "required": true}}}}}
/// ```
/// A field is declared by its policy alone (the short form, any JSON value) or by an object
/// with its type, whether it is required and its bounds (``FieldDeclaration``).
/// ```
/// ```
public struct Schema: Equatable, Sendable {
    /// Collections by name.
    public var collections: [String: CollectionSchema]

    public init(collections: [String: CollectionSchema]) { self.collections = collections }

    /// The collection named `name`, or an `unknownCollection` error listing what exists.
    public func collection(_ name: String) throws(CoreError) -> CollectionSchema {
        guard let c = collections[name] else {
            let known = collections.keys.sorted().joined(separator: ", ")
            throw CoreError(.unknownCollection, "unknown collection \"\(name)\" (the schema declares: \(known))")
        }
        return c
    }

    /// Collection names in order.
    public var collectionNames: [String] { collections.keys.sorted() }
}

/// One collection's policies.
public struct CollectionSchema: Equatable, Sendable {
    public var name: String
    /// Free text for people; ignored by merging.
    public var description: String?
    /// Policy of fields not listed in ``fields``: `lww` or `manual`.
    public var defaultPolicy: FieldPolicy
    /// What a delete concurrent with an update does.
    public var deleteConflict: DeleteConflictPolicy
    /// Declared fields: policy, and in the long form type, required and bounds.
    public var declarations: [String: FieldDeclaration] {
        didSet { refresh() }
    }
    /// The counter fields, sorted: only declared fields can be counters (the default policy is
    /// `lww` or `manual`), and every received state is checked for them.
    public private(set) var counterFields: [String]
    /// The required fields, in byte order.
    public private(set) var requiredFields: [String]
    /// Fields this node keeps an index of (`"indexes"` in the schema file), in the order
    /// declared: queries on them read the index instead of every record. Local to the node: not
    /// part of the fingerprint or of agreement (one station may index what another does not).
    public var indexes: [String] = []
    /// Fields `station search` finds text in (`"search"` in the schema file): their shown text
    /// goes to a full-text index (SQLite FTS5, trigrams: any three characters of a name, in any
    /// script). Local to the node, as ``indexes`` are.
    public var search: [String] = []
    /// How many days this node keeps each record's history (`"historyDays"` in the schema file;
    /// 0 keeps none); ``defaultHistoryDays`` when the schema says nothing. Local to the node, as
    /// ``indexes`` are.
    public var historyDays: Int?
    /// What ``historyDays`` is when the schema says nothing: a year.
    public static let defaultHistoryDays = 365
    /// The days of history kept: ``historyDays``, else ``defaultHistoryDays``.
    public var keptHistoryDays: Int { historyDays ?? Self.defaultHistoryDays }
    /// Whether the collection is typed: a field declared with a type makes it so. A typed
    /// collection takes only its declared fields on local writes (an undeclared one is refused
    /// with the closest declared name); an untyped one takes any field, under its default policy.
    public private(set) var isTyped: Bool

    /// Declared fields and their policies (set: a field keeps its type while its policy stays).
    public var fields: [String: FieldPolicy] {
        get { declarations.mapValues(\.policy) }
        set {
            var next: [String: FieldDeclaration] = [:]
            for (name, policy) in newValue {
                if let d = declarations[name], d.policy == policy { next[name] = d } else { next[name] = FieldDeclaration(policy: policy) }
            }
            declarations = next
        }
    }

    public init(
        name: String, description: String? = nil, defaultPolicy: FieldPolicy = .lww,
        deleteConflict: DeleteConflictPolicy = .updateWins, fields: [String: FieldPolicy] = [:]
    ) {
        self.init(
            name: name, description: description, defaultPolicy: defaultPolicy, deleteConflict: deleteConflict,
            declarations: fields.mapValues { FieldDeclaration(policy: $0) })
    }

    public init(
        name: String, description: String? = nil, defaultPolicy: FieldPolicy = .lww,
        deleteConflict: DeleteConflictPolicy = .updateWins, declarations: [String: FieldDeclaration]
    ) {
        self.name = name
        self.description = description
        self.defaultPolicy = defaultPolicy
        self.deleteConflict = deleteConflict
        self.declarations = declarations
        (counterFields, requiredFields, isTyped) = ([], [], false)
        refresh()
    }

    private mutating func refresh() {
        counterFields = declarations.filter { $0.value.policy == .counter }.keys.sorted()
        requiredFields = declarations.filter { $0.value.required }.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        isTyped = declarations.values.contains { $0.type != nil }
    }

    /// The policy that applies to `field`.
    public func policy(of field: String) -> FieldPolicy {
        declarations[field]?.policy ?? defaultPolicy
    }
}

extension Schema {
    /// Parses and validates a schema file's text. Unknown keys are errors, so typos do not pass.
    public init(jsonText: String) throws(CoreError) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(jsonText)
        } catch {
            throw CoreError(.invalidSchema, "schema: \(error)")
        }
        try self.init(json: value)
    }

    /// Validates a schema from its JSON value.
    public init(json: JSONValue) throws(CoreError) {
        func fail(_ message: String) -> CoreError { CoreError(.invalidSchema, "schema: " + message) }
        guard let root = json.objectValue else { throw fail("the top level must be an object") }
        if let extra = root.keys.first(where: { $0 != "collections" }) { throw fail("unknown key \"\(extra)\" at top level") }
        guard let collectionsJSON = root["collections"]?.objectValue else {
            throw fail("\"collections\" must be an object of collection name → definition")
        }
        var collections: [String: CollectionSchema] = [:]
        for (name, definition) in collectionsJSON {
            guard Names.isValidCollection(name) else { throw fail("collection name \"\(name)\" must match [a-z][a-z0-9_]{0,63}") }
            guard let d = definition.objectValue else { throw fail("collection \(name) must be an object") }
            let allowed: Set = ["description", "default", "deleteConflict", "fields", "indexes", "search", "historyDays"]
            if let extra = d.keys.sorted().first(where: { !allowed.contains($0) }) {
                throw fail("unknown key \"\(extra)\" in collection \(name)")
            }
            var c = CollectionSchema(name: name)
            if let desc = d["description"] {
                guard let s = desc.stringValue else { throw fail("\(name).description must be a string") }
                c.description = s
            }
            if let def = d["default"] {
                guard let s = def.stringValue, let p = FieldPolicy(rawValue: s), p != .counter else {
                    throw fail("\(name).default must be \"lww\" or \"manual\"")
                }
                c.defaultPolicy = p
            }
            if let dc = d["deleteConflict"] {
                guard let s = dc.stringValue, let p = DeleteConflictPolicy(rawValue: s) else {
                    throw fail("\(name).deleteConflict must be \"update-wins\" or \"delete-wins\"")
                }
                c.deleteConflict = p
            }
            if let f = d["fields"] {
                guard let fields = f.objectValue else { throw fail("\(name).fields must be an object of field → policy or declaration") }
                var declarations: [String: FieldDeclaration] = [:]
                for (given, declaration) in fields {
                    // Held in NFC, so that every node holds a field under the same bytes.
                    let field = Names.nfc(given)
                    guard Names.isValidField(field) else {
                        throw fail("field name \"\(given)\" in \(name) must be a letter then letters, digits or _ (1-64 bytes), and not \"id\"")
                    }
                    if let i = declarations.index(forKey: field) {
                        throw fail("\(name) declares \"\(declarations[i].key)\" twice (in two Unicode forms)")
                    }
                    declarations[field] = try FieldDeclaration(json: declaration, field: field, collection: name, defaultPolicy: c.defaultPolicy)
                }
                c.declarations = declarations
            }
            if let list = d["indexes"] {
                guard let items = list.arrayValue else { throw fail("\(name).indexes must be a list of declared field names") }
                for item in items {
                    guard let given = item.stringValue, let i = c.declarations.index(forKey: Names.nfc(given)) else {
                        throw fail("\(name).indexes: \(item.canonicalText) is not a field \(name) declares")
                    }
                    let field = c.declarations[i].key
                    guard !c.indexes.contains(where: { $0.hasSameBytes(as: field) }) else { throw fail("\(name).indexes lists \(field) twice") }
                    c.indexes.append(field)
                }
                guard c.indexes.count <= 16 else { throw fail("\(name).indexes lists \(c.indexes.count) fields; at most 16") }
            }
            if let list = d["search"] {
                guard let items = list.arrayValue else { throw fail("\(name).search must be a list of declared text fields") }
                for item in items {
                    guard let given = item.stringValue, let i = c.declarations.index(forKey: Names.nfc(given)) else {
                        throw fail("\(name).search: \(item.canonicalText) is not a field \(name) declares")
                    }
                    let (field, declaration) = c.declarations[i]
                    guard
                        declaration.type == nil || declaration.type == .string || declaration.type == .text || declaration.type?.name == "enum"
                            || declaration.type == .phone
                    else { throw fail("\(name).search: \(field) is \(declaration.type!.name), not text") }
                    guard !c.search.contains(where: { $0.hasSameBytes(as: field) }) else { throw fail("\(name).search lists \(field) twice") }
                    c.search.append(field)
                }
            }
            if let days = d["historyDays"] {
                guard let n = days.intValue, (0...36_500).contains(n) else {
                    throw fail("\(name).historyDays must be a whole number of days from 0 (keep no history) to 36500, not \(days.canonicalText)")
                }
                c.historyDays = Int(n)
            }
            collections[name] = c
        }
        self.init(collections: collections)
    }

    /// The schema as a JSON value (the schema file's form).
    public var json: JSONValue {
        var out: [String: JSONValue] = [:]
        for (name, c) in collections {
            var d: [String: JSONValue] = [
                "default": .string(c.defaultPolicy.rawValue),
                "deleteConflict": .string(c.deleteConflict.rawValue),
                "fields": .object(c.declarations.mapValues(\.json)),
            ]
            if let desc = c.description { d["description"] = .string(desc) }
            if !c.indexes.isEmpty { d["indexes"] = .array(c.indexes.map { .string($0) }) }
            if !c.search.isEmpty { d["search"] = .array(c.search.map { .string($0) }) }
            if let days = c.historyDays { d["historyDays"] = .int(Int64(days)) }
            out[name] = .object(d)
        }
        return .object(["collections": .object(out)])
    }
}
