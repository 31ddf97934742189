// How a local write names its fields: the name typed is matched to the declared one (by
// canonical equivalence, so a name typed in NFD finds the NFC one the schema holds) and the
// write uses the declared name's bytes. An undeclared name is refused in a typed collection,
// with the closest declared name.

extension CollectionSchema {
    /// The field a local write of `given` writes, with its declaration (nil: undeclared, in an
    /// untyped collection). Throws `unknownField` (with "did you mean") for an undeclared field
    /// of a typed collection, `invalidFieldName` for a name no field may have.
    public func localField(_ given: String, id: String) throws(CoreError) -> (name: String, declaration: FieldDeclaration?) {
        if let i = declarations.index(forKey: given) { return (declarations[i].key, declarations[i].value) }
        let name = Names.nfc(given)
        guard isTyped else {
            try Names.checkField(name, collection: self.name)
            return (name, nil)
        }
        let near = EditDistance.closest(to: name, among: declarations.keys).map { " (did you mean \"\($0)\"?)" } ?? ""
        let known = near.isEmpty ? "; its fields: " + declarations.keys.sorted().joined(separator: ", ") : ""
        throw CoreError(.unknownField, "\(self.name)/\(id): unknown field \"\(given)\" in \(self.name)\(near)\(known)")
    }

    /// Refuses a record being created without its required fields (`values` as checked: null unsets).
    func checkRequired(in values: [String: JSONValue], id: String) throws(CoreError) {
        let missing = requiredFields.filter { values[$0].map(\.isNull) ?? true }
        guard !missing.isEmpty else { return }
        let names = missing.map { "\"\($0)\"" }.joined(separator: ", ")
        throw CoreError(
            .requiredField,
            "\(name)/\(id): \(missing.count == 1 ? "field \(names) is" : "fields \(names) are") required; give \(missing.count == 1 ? "it" : "them") when creating the record"
        )
    }
}
