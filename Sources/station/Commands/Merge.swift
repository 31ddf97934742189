import ArgumentParser
import StationCommands
import Foundation
import StationCore
import StationStore
import StationSync

extension StationCommand {
    /// `station merge`: merges a change file written by `station export` on another node.
    struct Merge: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Merge a change file from another node (written by `station export`).",
            discussion: """
                A change file is a push on foot and meets the same checks: its header must name
                another node, this file format (version 2), a schema that agrees with this one and
                how many changes follow (a cut file is refused); each change is checked against the
                schema; and, unless --trust-relay is given, a change may bring only writes of the
                node that exported it: one that would change or drop what another node wrote is
                refused with the whole file, one that holds writes of other nodes this node has not
                seen is left out (reported; they come with those nodes' own syncs).
                Every line is checked first: a bad one stops the merge with its line number and the
                database unchanged. Then the changes are merged in one transaction (a change an
                earlier line made unacceptable stops it, the database unchanged); merging the same
                file twice changes nothing the second time.
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var output: OutputOptions
        @Flag(help: "Take the file's writes of other nodes too: the exporting node is trusted to forward them (as a --relay token).")
        var trustRelay = false
        @Argument(help: ArgumentHelp("A change file, or - for standard input.", valueName: "file")) var file: String

        /// What the header says.
        struct Header {
            var node: NodeID
            var count: Int
        }

        func run() throws {
            try reportingErrors {
                let store = try database.open()
                let input = try InputFile(file)
                defer { input.cleanUp() }
                // Pass 1: check every line; nothing is merged if one is bad.
                var header: Header?
                var total = 0
                var waiting: [RecordKey] = []
                try input.forEachLine { number, line in
                    guard let (collection, id, state) = try parse(line, number: number, store: store, header: &header) else { return }
                    total += 1
                    if let header, try !passesOrigin(state, collection, id, from: header.node, local: store.record(collection, id)?.state, store: store, line: number) {
                        waiting.append(RecordKey(collection, id))
                    }
                }
                guard let header else { throw CommandFailure("\(file) is not a StationSync change file (no header line)") }
                guard total == header.count else {
                    throw CommandFailure(
                        "\(file) holds \(total) change\(total == 1 ? "" : "s") but its header says \(header.count): the file was cut short or altered; nothing was merged")
                }
                let skipped = Set(waiting)
                // Pass 2: merge, in one transaction: a change refused here (an earlier line of the
                // file changed what it meets) leaves the database as it was, like pass 1's refusals.
                var tally: [MergeResult: Int] = [:]
                var collided: [RecordKey] = []
                var ahead: [RecordKey] = []
                var progress = ProgressBar(total: total, label: "merging")
                var done = 0
                var parsed: Header? = nil
                try store.write { tx in
                    try input.forEachLine { number, line in
                        guard let (collection, id, state) = try parse(line, number: number, store: store, header: &parsed) else { return }
                        done += 1
                        if done % 1000 == 0 { progress.update(done) }
                        if skipped.contains(RecordKey(collection, id)) {
                            tally[.waiting, default: 0] += 1
                            return
                        }
                        let check: (RecordState?) throws -> Void = { local in
                            try verify(state, collection, id, from: header.node, local: local, store: store)
                        }
                        do {
                            // No source: a change file is nobody's feed, and what it brought goes
                            // on to every peer (the hub included, whatever node the header names).
                            tally[try tx.merge(collection, id, state, from: nil, check: check), default: 0] += 1
                        } catch let error as SyncError where error.code == .unseenWrites {
                            tally[.waiting, default: 0] += 1
                        } catch let error as SyncError where error.code == .writeAhead {
                            tally[.ahead, default: 0] += 1
                            ahead.append(RecordKey(collection, id))
                        } catch let error as SyncError where error.code == .dotCollision {
                            tally[.collision, default: 0] += 1
                            collided.append(RecordKey(collection, id))
                        } catch let error as CoreError where error.code == .dotCollision {
                            tally[.collision, default: 0] += 1
                            collided.append(RecordKey(collection, id))
                        } catch let error as SyncError {
                            throw CommandFailure("\(file) line \(number): \(error.message); nothing was merged")
                        } catch let error as CoreError {
                            throw CommandFailure("\(file) line \(number): \(error); nothing was merged")
                        }
                    }
                }
                progress.finish()
                let summary: [(String, MergeResult)] = [
                    ("created", .created), ("applied", .applied), ("merged", .merged), ("unchanged", .unchanged), ("waiting", .waiting),
                    ("collision", .collision), ("ahead", .ahead),
                ]
                if output.json {
                    var o: [String: JSONValue] = ["from": .string(header.node.rawValue), "changes": .int(Int64(total))]
                    for (name, r) in summary { o[name] = .int(Int64(tally[r] ?? 0)) }
                    print(JSONValue.object(o).canonicalText)
                } else {
                    print("merged \(total) changes from \(header.node): " + summary.prefix(4).map { "\(tally[$0.1] ?? 0) \($0.0)" }.joined(separator: ", "))
                }
                func list(_ keys: [RecordKey]) -> String {
                    keys.prefix(5).map { "\($0.collection)/\($0.id)" }.joined(separator: ", ") + (keys.count > 5 ? ", …" : "")
                }
                if let n = tally[.waiting], n > 0 {
                    Terminal.warn(
                        "\(n) change\(n == 1 ? "" : "s") (\(list(waiting))) hold writes of other nodes than \(header.node) that this node has not seen: "
                            + "not taken; they come with those nodes' own syncs (or merge with --trust-relay if \(header.node) may forward them)")
                }
                if !ahead.isEmpty {
                    Terminal.warn(
                        "\(ahead.count) change\(ahead.count == 1 ? "" : "s") (\(list(ahead))) \(ahead.count == 1 ? "holds" : "hold") a write of another node than \(header.node) stamped more than "
                            + "\(HybridLogicalClock.defaultMaxForwardDrift / 3_600_000) h ahead of this node's clock (that node's clock is wrong): not taken")
                }
                if !collided.isEmpty {
                    Terminal.warn(
                        "\(collided.count) record\(collided.count == 1 ? "" : "s") (\(list(collided))) \(collided.count == 1 ? "holds" : "hold") a write this node holds with other content "
                            + "(a database restored, copied or made again under one name): not taken, both versions kept")
                }
            }
        }

        /// Whether the change passes the drift rule and (unless --trust-relay) origin binding
        /// against `node` (false: it holds writes of other nodes this node has not seen, and is
        /// left out); throws for a write stamped too far ahead and for one that would change or
        /// drop another node's writes.
        func passesOrigin(_ state: RecordState, _ collection: String, _ id: String, from node: NodeID, local: RecordState?, store: StationStore, line: Int) throws -> Bool {
            do {
                try verify(state, collection, id, from: node, local: local, store: store)
                return true
            } catch let error where error.code == .unseenWrites || error.code == .dotCollision || error.code == .writeAhead {
                // A collision or a write of another node too far ahead is found and reported again when merging.
                return error.code != .unseenWrites
            } catch where error.code == .clockDrift {
                throw CommandFailure("\(file) line \(line): \(error.message); nothing was merged")
            } catch {
                throw CommandFailure("\(file) line \(line): \(error.message) (merge with --trust-relay if \(node) may forward others' writes); nothing was merged")
            }
        }

        /// The checks a push from the exporting node `node` meets, in both passes: no write stamped
        /// too far ahead, and (unless --trust-relay) only that node's own writes.
        func verify(_ state: RecordState, _ collection: String, _ id: String, from node: NodeID, local: RecordState?, store: StationStore) throws(SyncError) {
            if !trustRelay {
                try OriginCheck.verify(state, local: local, caller: node, collection: collection, id: id, schema: store.schema.collections[collection])
            }
            try SyncService.checkDrift(state, local: local, now: store.wallTime(), sender: node, collection: collection, id: id)
        }

        /// Parses one line: the header (sets `header`, returns nil) or a change, checked against the schema.
        func parse(_ line: [UInt8], number: Int, store: StationStore, header: inout Header?) throws -> (String, String, RecordState)? {
            func bad(_ message: String) -> CommandFailure { CommandFailure("\(file) line \(number): \(message); nothing was merged") }
            let value: JSONValue
            do { value = try JSONParser.parse(bytes: line) } catch { throw bad("\(error)") }
            guard let object = value.objectValue else { throw bad("expected a JSON object") }
            if header == nil || number == 1 {
                guard number == 1, object["stationsync"]?.stringValue == "changes" else {
                    throw bad("not a StationSync change file (the first line must be its header)")
                }
                guard let version = object["version"]?.intValue, version == Int64(ChangeFile.version) else {
                    let v = object["version"]?.canonicalText ?? "none"
                    throw bad(
                        "change-file version \(v); this StationSync reads version \(ChangeFile.version) (export the file again with the same version of StationSync as here)")
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
            } catch let failure as CommandFailure {
                throw failure
            } catch {
                throw bad("\(error)")
            }
        }
    }
}
