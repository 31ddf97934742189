import StationCore

/// Origin binding: what a caller without `--relay` may bring in a push.
///
/// Such a caller may bring only its own new writes. Concretely, for each pushed record state,
/// compared with the state this node holds:
/// 1. the clock may grow only in the caller's entry (no writes of other nodes this node has not seen);
/// 2. a value of another node that this node holds at the same dot must arrive unchanged
///    (no rewriting another node's value under its dot);
/// 3. a value of another node that this node holds may be left out only where the caller's own
///    new write replaced it: a new caller value in the same register, or, for a field left out
///    entirely, a new caller write to the record (a recreate clears fields);
/// 4. a state that supersedes this node's copy may not carry values of other nodes that this node
///    no longer holds; resolution entries of other nodes must be ones this node has.
///
/// Honest states always pass: a node drops another node's value only after seeing a write that
/// superseded it, and this node has seen every such write of nodes other than the caller.
public enum OriginCheck {
    public static func verify(
        _ incoming: RecordState, local: RecordState?, caller: NodeID, collection: String, id: String
    ) throws(SyncError) {
        let local = local ?? RecordState()
        func refuse(_ detail: String) -> SyncError {
            SyncError(
                .forbidden,
                "\(collection)/\(id): \(detail); a token of \(caller) may only bring its own writes (a token made with --relay may forward others')")
        }
        for (writer, counter) in incoming.clock.entries where writer != caller && counter > local.clock[writer] {
            throw refuse("the push brings writes of node \(writer) this node has not seen")
        }
        let supersedes = incoming.clock.compare(local.clock) == .after
        let callerWrote = incoming.clock[caller] > local.clock[caller]

        func check<V>(_ name: String, _ pushed: [DottedValue<V>], _ held: [DottedValue<V>], fieldAbsent: Bool) throws(SyncError) {
            var heldByDot: [Dot: DottedValue<V>] = [:]
            for v in held { heldByDot[v.dot] = v }
            for v in pushed where v.dot.node != caller {
                if let h = heldByDot[v.dot] {
                    guard h == v else { throw refuse("the push changes the value node \(v.dot.node) wrote to \(name) at \(v.dot)") }
                } else if supersedes {
                    throw refuse("the push carries a value of node \(v.dot.node) in \(name) that this node no longer holds")
                }
            }
            let pushedDots = Set(pushed.map(\.dot))
            let newOwnValue = pushed.contains { $0.dot.node == caller && $0.dot.counter > local.clock[caller] }
            for h in held where h.dot.node != caller && !pushedDots.contains(h.dot) && incoming.clock.contains(h.dot) {
                guard newOwnValue || (fieldAbsent && callerWrote) else {
                    throw refuse("the push drops the value node \(h.dot.node) wrote to \(name) at \(h.dot) without a write of its own there")
                }
            }
        }

        try check("the record's existence", incoming.existence, local.existence, fieldAbsent: false)
        for name in Set(incoming.fields.keys).union(local.fields.keys).sorted() {
            try check("field \(name)", incoming.fields[name] ?? [], local.fields[name] ?? [], fieldAbsent: incoming.fields[name] == nil)
        }
        let heldResolutions = Set(local.resolutions)
        for r in incoming.resolutions where r.by.node != caller && !heldResolutions.contains(r) {
            throw refuse("the push carries a resolution by node \(r.by.node) that this node does not hold")
        }
    }
}
