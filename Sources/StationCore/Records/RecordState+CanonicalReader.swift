// The fast way in: a record state read straight from its canonical bytes.
//
// Every state a replica stores, and every state it sends, is in canonical form (RecordState+Codec:
// no whitespace, keys and entries sorted). Reading that form needs no general JSON machinery: the
// reader below walks the bytes once and builds the state directly, with no intermediate JSONValue
// tree for the state's structure (field values are still parsed as JSONValue).
//
// It is only a shortcut. It accepts a state only in canonical form and only when every check of
// the general decoder (`init(json:)`) passes; for anything else (other valid JSON: whitespace,
// another key order; or any problem) it gives up, and the general decoder reads the input again
// and accepts it or refuses it with its exact error message. So both paths accept the same inputs
// and give the same states, and error messages do not depend on which path ran.

extension RecordState {
    /// The state in `bytes` if they are a valid state in canonical form, else nil (the general
    /// decoder then decides).
    static func decodeCanonical(_ bytes: UnsafeBufferPointer<UInt8>) -> RecordState? {
        var reader = CanonicalStateReader(bytes: bytes)
        guard let state = reader.readState(), reader.index == bytes.count else { return nil }
        return state
    }

    /// The state that starts at `index` in `buffer`, a part of a larger document (a change in a
    /// sync message), if it is a valid state in canonical form; `index` then moves past it. Nil,
    /// with `index` unchanged, for anything else. `depth` is how deeply the state is nested in the
    /// document, so that the nesting limit counts as when the whole document is parsed.
    ///
    /// `exact` says whether the bytes read are the state's canonical encoding, byte for byte (so a
    /// receiver can store them as they are). The reader accepts the canonical layout only, but
    /// field values are read by the general parser, which also accepts e.g. `1.50` or `"\u0041"`:
    /// each value is checked against its own encoding; a resolution history is not (exact false).
    static func decodeCanonical(
        in buffer: UnsafeBufferPointer<UInt8>, at index: inout Int, depth: Int
    ) -> (state: RecordState, exact: Bool)? {
        var reader = CanonicalStateReader(bytes: buffer, index: index, depth: depth)
        guard let state = reader.readState() else { return nil }
        index = reader.index
        return (state, reader.exact && state.resolutions.isEmpty)
    }
}

/// Reads a state in canonical form. Every `read…` method returns nil (or false) at the first byte
/// that is not what the canonical form, validated, has there.
private struct CanonicalStateReader {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    /// How deeply the state is nested in the document being read (0: the state is the document).
    let depth: Int
    /// The clock's node names (ranges of `bytes`), in order: a dot's node is looked up here, which
    /// checks that the clock covers it and reuses the clock's `NodeID`.
    var clockNames: [Range<Int>] = []
    var clockEntries: [VectorClock.Entry] = []
    /// Whether every field value read so far was in its canonical encoding.
    var exact = true
    /// Room to encode a field value in, to compare it with its bytes.
    var scratch: [UInt8] = []
    /// The last author read: its bytes (quotes included) and the name.
    var lastAuthor: (bytes: Range<Int>, name: String)?

    init(bytes: UnsafeBufferPointer<UInt8>, index: Int = 0, depth: Int = 0) {
        self.bytes = bytes
        self.index = index
        self.depth = depth
    }

    /// `{"clock":{…},"exists":[…],"fields":{…}}`, with `,"resolved":[…]` before the last brace
    /// when the state has a resolution history.
    mutating func readState() -> RecordState? {
        guard skip(#"{"clock":{"#), readClock() else { return nil }
        let clock = VectorClock(sortedEntries: clockEntries)
        guard skip(#","exists":["#), let existence = readExistence(),
            skip(#","fields":{"#), let fields = readFields()
        else { return nil }
        var resolutions: [Resolution] = []
        if skip(#","resolved":"#) {
            // Rare: read as JSON and checked by the general decoder's code (depth 1: inside the state).
            guard let list = readJSONValue(depth: 1),
                let decoded = try? RecordState.decodeResolutions(list, clock: clock)
            else { return nil }
            resolutions = decoded
        }
        guard skip("}") else { return nil }
        let state = RecordState(clock: clock, existence: existence, fields: RecordFields(sorted: fields), resolutions: resolutions)
        // A write naming two authors is refused by the general decoder, in its words.
        if lastAuthor != nil, state.dotWithTwoAuthors() != nil { return nil }
        return state
    }

    // MARK: - The parts of a state

    /// The clock's entries up to and including its closing brace: valid node names in strictly
    /// increasing order (so none twice), counters from 1 to `maxCounter`.
    mutating func readClock() -> Bool {
        if skip("}") { return true }
        repeat {
            guard clockEntries.count < RecordState.maxClockEntries, let name = readName(),
                clockNames.last.map({ precedes($0, name) }) ?? true,
                skip(":"), let counter = readInteger(), counter >= 1, counter <= RecordState.maxCounter
            else { return false }
            let node = string(name)
            guard NodeID.isValid(node) else { return false }
            clockNames.append(name)
            clockEntries.append(VectorClock.Entry(node: NodeID(unchecked: node), counter: counter))
        } while skip(",")
        return skip("}")
    }

    /// The existence register up to its closing bracket: it must hold exactly the clock's frontier
    /// (the latest write of each node it names), as `init(json:)` requires.
    mutating func readExistence() -> [DottedValue<Bool>]? {
        let values = readRegister(emptyAllowed: true, frontierOnly: true) { reader -> Bool? in
            if reader.skip("true") { return true }
            if reader.skip("false") { return false }
            return nil
        }
        guard let values, clockEntries.isEmpty == values.isEmpty else { return nil }
        return values
    }

    /// The fields up to their closing brace: valid names in strictly increasing order, each with a
    /// non-empty register.
    mutating func readFields() -> [RecordFields.Field]? {
        var fields: [RecordFields.Field] = []
        if skip("}") { return fields }
        var previous: Range<Int>?
        repeat {
            guard let name = readName(), previous.map({ precedes($0, name) }) ?? true, skip(":") else { return nil }
            let fieldName = string(name)
            // Field values sit at depth 4 of the document: state, fields, register, value.
            guard Names.isValidField(fieldName),
                let values = readRegister(emptyAllowed: false, frontierOnly: false, value: { reader in reader.readJSONValue(depth: 4) })
            else { return nil }
            fields.append(RecordFields.Field(name: fieldName, values: values))
            previous = name
        } while skip(",")
        return skip("}") ? fields : nil
    }

    /// A register up to its closing bracket (its opening one already read for `exists`, not yet
    /// for a field): values `[node,counter,hlc,value]` (with `,author` before the bracket when the
    /// write named one) in strictly increasing dot order (so no dot
    /// twice), each covered by the clock, at most `maxClockEntries`; with `frontierOnly`, each the
    /// latest write of its node.
    mutating func readRegister<V>(
        emptyAllowed: Bool, frontierOnly: Bool, value readValue: (inout CanonicalStateReader) -> V?
    ) -> [DottedValue<V>]? {
        if !emptyAllowed { guard skip("[") else { return nil } }
        var values: [DottedValue<V>] = []
        if emptyAllowed, skip("]") { return values }
        var last: (node: Int, counter: UInt64)?  // the previous dot, by the node's index in the clock
        repeat {
            guard values.count < RecordState.maxClockEntries, skip("["), let name = readName(),
                let node = clockIndex(of: name), skip(","),
                let counter = readInteger(), counter >= 1, counter <= clockEntries[node].counter, skip(","),
                let time = readInteger(), time <= UInt64(Int64.max), skip(","),
                let value = readValue(&self), let author = readAuthor(), skip("]")
            else { return nil }
            if frontierOnly, counter != clockEntries[node].counter { return nil }
            if let last, (last.node, last.counter) >= (node, counter) { return nil }
            last = (node, counter)
            values.append(
                DottedValue(dot: Dot(clockEntries[node].node, counter), time: HLCTimestamp(rawValue: time), value: value, author: author))
        } while skip(",")
        return skip("]") ? values : nil
    }

    /// A value's author, `,"NAME"`, if the value names one: a name as ``Person/checked(_:)``
    /// holds it, in its canonical encoding (else the general decoder decides). Nil only for input
    /// the reader gives up on.
    mutating func readAuthor() -> String?? {
        guard skip(",") else { return .some(nil) }
        let start = index
        // The values of one write name one author: the last one read is usually the next.
        if let last = lastAuthor, bytes.count - index >= last.bytes.count,
            sameBytes(UnsafeBufferPointer(rebasing: bytes[last.bytes]), UnsafeBufferPointer(rebasing: bytes[index..<index + last.bytes.count]))
        {
            index += last.bytes.count
            return .some(last.name)
        }
        guard let value = try? JSONParser.parseValue(in: bytes, at: &index, depth: depth + 4), let name = value.stringValue,
            Person.isRecorded(name)
        else { return nil }
        scratch.removeAll(keepingCapacity: true)
        value.write(to: &scratch)
        // A name escaped otherwise than canonically would be stored with other bytes than it is read with.
        guard scratch.withUnsafeBufferPointer({ sameBytes($0, UnsafeBufferPointer(rebasing: bytes[start..<index])) }) else { return nil }
        lastAuthor = (start..<index, name)
        return .some(name)
    }

    // MARK: - Tokens

    /// Skips `literal` if the input continues with it.
    mutating func skip(_ literal: StaticString) -> Bool {
        let expected = UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
        guard bytes.count - index >= expected.count else { return false }
        for (offset, byte) in expected.enumerated() where bytes[index + offset] != byte { return false }
        index += expected.count
        return true
    }

    /// A quoted name: its bytes between the quotes. Names hold neither escapes nor non-ASCII
    /// bytes (those are invalid names, left to the general decoder to report).
    mutating func readName() -> Range<Int>? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
        let start = index + 1
        var end = start
        while end < bytes.count, bytes[end] != UInt8(ascii: "\"") {
            let byte = bytes[end]
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { return nil }
            end += 1
        }
        guard end < bytes.count else { return nil }
        index = end + 1
        return start..<end
    }

    /// A non-negative integer in canonical form (digits, no leading zero), below 2^64.
    mutating func readInteger() -> UInt64? {
        let start = index
        var value: UInt64 = 0
        while index < bytes.count, bytes[index] >= UInt8(ascii: "0"), bytes[index] <= UInt8(ascii: "9") {
            let (shifted, o1) = value.multipliedReportingOverflow(by: 10)
            let (next, o2) = shifted.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !o1, !o2 else { return nil }
            value = next
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        // A fraction or an exponent would make it a double.
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") || bytes[index] | 0x20 == UInt8(ascii: "e") { return nil }
        return value
    }

    /// Any JSON value, by the general parser, nested `depth` levels deep in the state. Clears
    /// `exact` if its bytes are not its canonical encoding.
    mutating func readJSONValue(depth: Int) -> JSONValue? {
        let start = index
        guard let value = try? JSONParser.parseValue(in: bytes, at: &index, depth: self.depth + depth) else { return nil }
        if exact {
            scratch.removeAll(keepingCapacity: true)
            value.write(to: &scratch)
            exact = scratch.withUnsafeBufferPointer { sameBytes($0, UnsafeBufferPointer(rebasing: bytes[start..<index])) }
        }
        return value
    }

    // MARK: - Names

    /// The index in the clock of the node named by the bytes in `name`, or nil when the clock does
    /// not name it (a binary search: the clock is sorted by name).
    func clockIndex(of name: Range<Int>) -> Int? {
        var low = 0
        var high = clockNames.count
        while low < high {
            let mid = (low + high) / 2
            if precedes(clockNames[mid], name) {
                low = mid + 1
            } else if precedes(name, clockNames[mid]) {
                high = mid
            } else {
                return mid
            }
        }
        return nil
    }

    /// Whether the bytes in `a` sort before those in `b` (the canonical order of names).
    func precedes(_ a: Range<Int>, _ b: Range<Int>) -> Bool {
        for offset in 0..<min(a.count, b.count) where bytes[a.lowerBound + offset] != bytes[b.lowerBound + offset] {
            return bytes[a.lowerBound + offset] < bytes[b.lowerBound + offset]
        }
        return a.count < b.count
    }

    /// The name in `range` as a string (ASCII: `readName` checked).
    func string(_ range: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[range]), as: UTF8.self)
    }
}
