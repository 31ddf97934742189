/// The declared collections and the merge policy of each field.
///
/// JSON form (the schema file, stored in every database at init):
/// ```json
/// {"collections": {"charity_stock": {"description": "…", "default": "lww",
///   "deleteConflict": "update-wins", "fields": {"quantity": "counter"}}}}
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
    /// Declared fields and their policies.
    public var fields: [String: FieldPolicy] {
        didSet { counterFields = Self.counters(in: fields) }
    }
    /// The counter fields, sorted: only declared fields can be counters (the default policy is
    /// `lww` or `manual`), and every received state is checked for them.
    public private(set) var counterFields: [String]

    public init(
        name: String, description: String? = nil, defaultPolicy: FieldPolicy = .lww,
        deleteConflict: DeleteConflictPolicy = .updateWins, fields: [String: FieldPolicy] = [:]
    ) {
        self.name = name
        self.description = description
        self.defaultPolicy = defaultPolicy
        self.deleteConflict = deleteConflict
        self.fields = fields
        counterFields = Self.counters(in: fields)
    }

    private static func counters(in fields: [String: FieldPolicy]) -> [String] {
        fields.filter { $0.value == .counter }.keys.sorted()
    }

    /// The policy that applies to `field`.
    public func policy(of field: String) -> FieldPolicy {
        fields[field] ?? defaultPolicy
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
            let allowed: Set = ["description", "default", "deleteConflict", "fields"]
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
                guard let fields = f.objectValue else { throw fail("\(name).fields must be an object of field → policy") }
                for (field, policy) in fields {
                    guard Names.isValidField(field) else {
                        throw fail("field name \"\(field)\" in \(name) must match [A-Za-z][A-Za-z0-9_]{0,63} and not be \"id\"")
                    }
                    guard let s = policy.stringValue, let p = FieldPolicy(rawValue: s) else {
                        throw fail("\(name).fields.\(field) must be \"lww\", \"manual\" or \"counter\"")
                    }
                    c.fields[field] = p
                }
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
                "fields": .object(c.fields.mapValues { .string($0.rawValue) }),
            ]
            if let desc = c.description { d["description"] = .string(desc) }
            out[name] = .object(d)
        }
        return .object(["collections": .object(out)])
    }
}
