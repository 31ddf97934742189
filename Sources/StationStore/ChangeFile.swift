import StationCore
import StationSync

/// Change files: sync by USB stick. `station export` writes one, `station merge` applies it on
/// another node. JSON Lines: a header line, then one line per changed record with its full
/// mergeable state (`{"collection":…,"id":…,"seq":…,"state":{…}}`, the change entries the sync
/// protocol carries). See Protocol/change-file.md.
///
/// A change file is a push on foot and meets the same checks as a push from the node that
/// exported it (``merge(into:lines:trustRelay:progress:)``).
public enum ChangeFile {
    /// The change-file format this build writes and reads. 2: the header names the schema and
    /// the number of changes; counters may hold stocktakes.
    public static let version = 2

    /// Reads the lines of a change file: calls its argument with each non-blank line and its
    /// 1-based number. Called twice by ``merge(into:lines:trustRelay:progress:)`` (check, then
    /// merge), so a file is streamed, never held whole.
    public typealias Lines = (_ body: (_ number: Int, _ line: [UInt8]) throws -> Void) throws -> Void

    /// The header line of a file holding `count` changes of `store` after `since`, up to `last`.
    public static func header(of store: StationStore, since: Int64, last: Int64, count: Int) -> JSONValue {
        [
            "stationsync": "changes", "version": .int(Int64(version)), "node": .string(store.node.rawValue),
            "since": .int(since), "last": .int(last), "count": .int(Int64(count)), "schema": store.schema.json,
        ]
    }

    /// Appends one change's line (with its newline) to `out`.
    public static func writeLine(_ change: Change, to out: inout [UInt8]) {
        out.append(contentsOf: #"{"collection":"#.utf8)
        JSONWriter.writeString(change.collection, to: &out)
        out.append(contentsOf: #","id":"#.utf8)
        JSONWriter.writeString(change.id, to: &out)
        out.append(contentsOf: #","seq":"#.utf8)
        JSONWriter.writeInt(change.seq, to: &out)
        out.append(contentsOf: #","state":"#.utf8)
        out.append(contentsOf: change.stateText.utf8)
        out.append(contentsOf: "}\n".utf8)
    }

    /// What merging a file did.
    public struct Report: Sendable, Equatable {
        /// The node the header names.
        public var from: NodeID
        /// Changes the file holds.
        public var changes: Int
        /// How many changes had each result (`waiting`, `collision`, `ahead`: left out).
        public var results: [MergeResult: Int]
        /// The records left out, by why: holding writes of other nodes this node has not seen
        /// (`waiting`), a write this node holds with other content (`collision`), a write of
        /// another node stamped too far ahead (`ahead`).
        public var waiting: [RecordKey] = []
        public var collided: [RecordKey] = []
        public var ahead: [RecordKey] = []

        public func count(_ result: MergeResult) -> Int { results[result] ?? 0 }
    }

    /// Why a file was refused. Nothing of it was merged.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public enum Code: String, Sendable {
            /// The first line is no change-file header (or the file is empty).
            case notAChangeFile = "not_a_change_file"
            /// A line is no valid change, or the header is invalid (version, node, schema).
            case badLine = "bad_line"
            /// The file holds another number of changes than its header says (cut short).
            case cutShort = "cut_short"
            /// A change would change or drop what another node wrote, or is stamped too far
            /// ahead (the file's node's own write).
            case refused
        }

        public var code: Code
        /// The line it concerns (1-based), when one does.
        public var line: Int?
        public var message: String

        public init(_ code: Code, line: Int?, _ message: String) {
            self.code = code
            self.line = line
            self.message = message
        }

        public var description: String { (line.map { "line \($0): " } ?? "") + message + "; nothing was merged" }
    }

    /// The header's claims.
    struct Header {
        var node: NodeID
        var count: Int
    }

    /// Merges a change file into `store`, with the checks a push from the file's node meets:
    /// - the header must name another node, this format's version, a schema that agrees with
    ///   this one, and how many changes follow (a cut file is refused);
    /// - each change is checked against the schema;
    /// - unless `trustRelay`, a change may bring only writes of the file's node (origin binding,
    ///   ``OriginCheck``): one that would change or drop what another node wrote refuses the
    ///   file; one holding writes of other nodes this node has not seen is left out (`waiting`);
    /// - the drift rule (``SyncService/checkDrift(_:local:now:sender:collection:id:)``): the file
    ///   node's own writes stamped too far ahead refuse the file, another node's leave their
    ///   record out (`ahead`); a write this node holds under the same dot with other content
    ///   leaves its record out (`collision`).
    ///
    /// Every line is checked first, then the changes are merged in one transaction (a change an
    /// earlier line made unacceptable refuses the file): a refused file changes nothing. What a
    /// file brought is recorded as nobody's: it goes on to every peer (the hub included, whatever
    /// node the header names). Merging the same file twice changes nothing the second time.
    /// `progress` is called with the changes merged so far and the total.
    public static func merge(
        into store: StationStore, lines: Lines, trustRelay: Bool, progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> Report {
        // Pass 1: check every line; nothing is merged if one is bad.
        var header: Header?
        var total = 0
        var waiting: [RecordKey] = []
        try lines { number, line in
            guard let (collection, id, state) = try parse(line, number: number, store: store, header: &header) else { return }
            total += 1
            let local = try store.record(collection, id)?.state
            do {
                try verify(state, collection, id, from: header!.node, local: local, store: store, trustRelay: trustRelay)
            } catch let error as SyncError where MergeResult.leftOut(by: error) != nil {
                // Left out (a collision, a write ahead: found and reported again when merging).
                if error.code == .unseenWrites { waiting.append(RecordKey(collection, id)) }
            } catch let error as SyncError where error.code == .clockDrift || trustRelay {
                throw Refusal(.refused, line: number, error.message)
            } catch let error as SyncError {
                throw Refusal(.refused, line: number, error.message + " (merge with --trust-relay if \(header!.node) may forward others' writes)")
            }
        }
        guard let header else { throw Refusal(.notAChangeFile, line: nil, "not a StationSync change file (no header line)") }
        guard total == header.count else {
            throw Refusal(
                .cutShort, line: nil,
                "the file holds \(total) change\(total == 1 ? "" : "s") but its header says \(header.count): it was cut short or altered")
        }
        var report = Report(from: header.node, changes: total, results: [:], waiting: waiting)
        let skipped = Set(waiting)
        // Pass 2: merge, in one transaction: a change refused here (an earlier line of the file
        // changed what it meets) leaves the database as it was, like pass 1's refusals.
        var done = 0
        var parsed: Header? = nil
        try store.write { tx in
            try lines { number, line in
                guard let (collection, id, state) = try parse(line, number: number, store: store, header: &parsed) else { return }
                done += 1
                if done % 1000 == 0 { progress?(done, total) }
                let key = RecordKey(collection, id)
                if skipped.contains(key) {
                    report.results[.waiting, default: 0] += 1
                    return
                }
                do {
                    // No source: a change file is nobody's feed.
                    let result = try tx.merge(collection, id, state, from: nil) { local in
                        try verify(state, collection, id, from: header.node, local: local, store: store, trustRelay: trustRelay)
                    }
                    report.results[result, default: 0] += 1
                } catch {
                    // Left out as a push would leave it out; any other refusal refuses the file.
                    guard let result = MergeResult.leftOut(by: error) else {
                        if let error = error as? SyncError { throw Refusal(.refused, line: number, error.message) }
                        if error is CoreError { throw Refusal(.refused, line: number, "\(error)") }
                        throw error
                    }
                    report.results[result, default: 0] += 1
                    switch result {
                    case .waiting: report.waiting.append(key)
                    case .ahead: report.ahead.append(key)
                    case .collision: report.collided.append(key)
                    default: break
                    }
                }
            }
        }
        progress?(done, total)
        return report
    }

    /// The checks a push from the exporting node `node` meets, in both passes: (unless
    /// `trustRelay`) only that node's own writes, and no write stamped too far ahead.
    static func verify(
        _ state: RecordState, _ collection: String, _ id: String, from node: NodeID, local: RecordState?, store: StationStore, trustRelay: Bool
    ) throws(SyncError) {
        try SyncService.checkReceived(
            state, local: local, origin: trustRelay ? nil : node, sender: node, now: store.wallTime(), collection: collection, id: id,
            schema: store.schema.collections[collection])
    }

    /// Parses one line: the header (sets `header`, returns nil) or a change, checked against the schema.
    static func parse(_ line: [UInt8], number: Int, store: StationStore, header: inout Header?) throws(Refusal) -> (String, String, RecordState)? {
        func bad(_ message: String) -> Refusal { Refusal(.badLine, line: number, message) }
        let value: JSONValue
        do { value = try JSONParser.parse(bytes: line) } catch { throw bad("\(error)") }
        guard let object = value.objectValue else { throw bad("expected a JSON object") }
        if header == nil || number == 1 {
            guard number == 1, object["stationsync"]?.stringValue == "changes" else {
                throw Refusal(.notAChangeFile, line: number, "not a StationSync change file (the first line must be its header)")
            }
            guard let version = object["version"]?.intValue, version == Int64(Self.version) else {
                let v = object["version"]?.canonicalText ?? "none"
                throw bad(
                    "change-file version \(v); this StationSync reads version \(Self.version) (export the file again with the same version of StationSync as here)"
                )
            }
            guard let name = object["node"]?.stringValue, NodeID.isValid(name) else {
                throw bad("the header must name the exporting node (\"node\")")
            }
            let node = NodeID(unchecked: name)
            guard !node.isIncarnation(of: store.node.station) else {
                throw bad("the file says it comes from \(name), this node itself; merge it on another node")
            }
            guard let count = object["count"]?.intValue, count >= 0 else { throw bad("the header must say how many changes follow (\"count\")") }
            guard let schemaJSON = object["schema"] else { throw bad("the header must carry the exporting node's schema (\"schema\")") }
            let schema: Schema
            do { schema = try Schema(json: schemaJSON) } catch { throw bad("the header's schema: \(error)") }
            let disagreements = store.schema.disagreements(with: schema)
            guard disagreements.isEmpty else {
                throw bad(
                    "schema mismatch with \(name): " + disagreements.map(\.description).joined(separator: "; ")
                        + " (a field's policy must be the same on every node)")
            }
            header = Header(node: node, count: Int(count))
            return nil
        }
        guard let collection = object["collection"]?.stringValue, let id = object["id"]?.stringValue,
            let stateJSON = object["state"]
        else { throw bad("each change needs \"collection\", \"id\" and \"state\"") }
        do {
            let c = try store.schema.collection(collection)
            try Names.checkRecordID(id, collection: collection)
            let state = try RecordState(json: stateJSON, collection: c)
            if state.isEmpty { throw bad("empty record state") }
            return (collection, id, state)
        } catch let refusal as Refusal {
            throw refusal
        } catch {
            throw bad("\(error)")
        }
    }
}
