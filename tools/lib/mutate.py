#!/usr/bin/env python3
"""Mutation testing of the rules that decide what survives a sync (issue 11).

Applies one-line mutations, one at a time, to a clone of the committed tree (the merge rule, local
writes, the view, the origin check, the byte comparison of ids and values), builds the tests,
runs the fast suites against each mutant and says whether they caught it (a failing test run).
Prints the score and every survivor. The suites' oracle is what is measured: a survivor is a
plausible bug the tests would let through.

    tools/mutate                 every mutation (about 3 min each on 2 cores, debug build)
    tools/mutate --only 1,5,9    some of them (numbers as listed by --list)
    tools/mutate --list          the mutations

The clone lives in .build-mutate/ (its own build folder); the working tree is never touched.
"""
import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

MERGE = "Sources/StationCore/Records/RecordState+Merge.swift"
CLOCK = "Sources/StationCore/Clocks/VectorClock.swift"
LOCAL = "Sources/StationCore/Records/RecordState+LocalWrite.swift"
VIEW = "Sources/StationCore/Records/RecordState+View.swift"
DOTTED = "Sources/StationCore/Records/DottedValue.swift"
ORIGIN = "Sources/StationSync/OriginCheck.swift"
JSON = "Sources/StationCore/JSON/JSONValue.swift"
NODE = "Sources/StationCore/Clocks/NodeID.swift"
WRITE = "Sources/StationStore/WriteTransaction.swift"

# (file, text as it is, text it becomes, what the bug is). Each text must occur exactly once.
MUTATIONS = [
    (MERGE, "for e in x where yHolds(e.dot) || !yClock.contains(e.dot) {", "for e in x where yHolds(e.dot) && !yClock.contains(e.dot) {",
     "join keeps a value only if both hold it and the other has not seen it"),
    (MERGE, "for e in x where yHolds(e.dot) || !yClock.contains(e.dot) {", "for e in x where yHolds(e.dot) || yClock.contains(e.dot) {",
     "join keeps values the other side superseded"),
    (MERGE, "for e in y where !xHolds(e.dot) && !xClock.contains(e.dot) {", "for e in y where !xHolds(e.dot) {",
     "join resurrects values this side superseded"),
    (MERGE, "func yHolds(_ dot: Dot) -> Bool { hashing ? yDots.contains(dot)", "func yHolds(_ dot: Dot) -> Bool { hashing ? xDots.contains(dot)",
     "the hashed branch looks in the wrong register"),
    (MERGE, "            self = RecordState.join(self, incoming)\n            return .merged", "            self = incoming\n            return .merged",
     "concurrent states: the incoming one replaces the local one"),
    (MERGE, "            clock: a.clock.merged(with: b.clock),", "            clock: a.clock,", "the join keeps one side's clock"),
    (MERGE, "            resolutions: union(a.resolutions, b.resolutions))", "            resolutions: a.resolutions)",
     "the join drops the other side's resolution history"),
    (MERGE, "f.time != e.time || f.value != e.value { return e.dot }", "f.time != e.time { return e.dot }",
     "a collision is noticed only when the times differ"),
    (MERGE, "        if clock == other.clock, self != other {", "        if false {", "equal clocks with different content pass as unchanged"),
    (MERGE, "        case .equal, .after:\n            return .unchanged", "        case .equal, .after, .concurrent:\n            return .unchanged",
     "concurrent states are ignored"),
    (CLOCK, "if mine < theirs { someLess = true } else if mine > theirs { someGreater = true }",
     "if mine > theirs { someLess = true } else if mine < theirs { someGreater = true }", "clock comparison reversed"),
    (CLOCK, "self[dot.node] >= dot.counter", "self[dot.node] > dot.counter", "a clock does not contain its own latest dot"),
    (CLOCK, "result.append(Entry(node: node, counter: max(mine, theirs)))", "result.append(Entry(node: node, counter: min(mine, theirs)))",
     "clock merge takes the minimum"),
    (LOCAL, "            let (delta, o1) = target.subtractingReportingOverflow(current)",
     "            let (delta, o1) = target.subtractingReportingOverflow(own)", "a stocktake ignores other nodes' increments"),
    (LOCAL, "        if recreating {\n", "        if false {\n", "recreating a deleted record keeps its old fields"),
    (LOCAL, "        setOwnCounter(field, node: node, dot: dot, time: time, total: own)",
     "        setOwnCounter(field, node: node, dot: dot, time: time, total: amount)", "add stores the amount, not the running total"),
    (LOCAL, "        existence = [DottedValue(dot: dot, time: time, value: !keepDeleted)]",
     "        existence = [DottedValue(dot: dot, time: time, value: true)]", "resolving a field conflict resurrects a deleted record"),
    (LOCAL, "            guard !RecordState.holdsDifferentValues(register), register[0].value == value else { return false }",
     "            guard register[0].value == value else { return false }", "a put of the winner of a conflict is taken for unchanged"),
    (LOCAL, "        for (name, target) in counterTargets where counterTotal(name) != target { return false }",
     "        for (name, target) in counterTargets where false { return false }", "a stocktake to another total is taken for unchanged"),
    # (Dropping `!isDeleted` from `shows` is an equivalent mutant: `put` checks `!recreating` first.)
    (LOCAL, "                if value.isNull { continue }\n                return false",
     "                continue",
     "a put of a value to an unset field is taken for unchanged"),
    (LOCAL, "        existence = [DottedValue(dot: dot, time: time, value: true)]\n        if fields.isEmpty",
     "        existence.append(DottedValue(dot: dot, time: time, value: true))\n        if fields.isEmpty",
     "a put does not replace the existence values it has seen"),
    (DOTTED, "if a.time != b.time { return a.time > b.time }", "if a.time != b.time { return a.time < b.time }", "lww: the earliest write wins"),
    (DOTTED, "if a.dot.node != b.dot.node { return b.dot.node < a.dot.node }", "if a.dot.node != b.dot.node { return a.dot.node < b.dot.node }",
     "lww ties go the other way on some replicas' reading"),
    (VIEW, "        case .updateWins: return !anyAlive", "        case .updateWins: return anyDeleted", "update-wins behaves as delete-wins"),
    (VIEW, "        return entries.dropFirst().contains { $0.value != first }", "        return true",
     "equal values written concurrently are a conflict again"),
    (VIEW, "                if policy == .manual { conflicted = true }", "                if policy == .lww { conflicted = true }",
     "the wrong policy flags the record conflicted"),
    (LOCAL, "(fields[field] ?? []).reduce(Int64(0)) { $0 &+ ($1.value.intValue ?? 0) }",
     "(fields[field] ?? []).reduce(Int64(0)) { max($0, $1.value.intValue ?? 0) }", "a counter shows the largest total, not the sum"),
    (ORIGIN, "guard h == v else {", "guard h.dot == v.dot else {", "origin check: another node's value may be rewritten under its dot"),
    (ORIGIN, "for entry in incoming.clock.sortedEntries where entry.counter > local.clock[entry.node] {",
     "for entry in incoming.clock.sortedEntries where entry.counter >= local.clock[entry.node] {",
     "origin check: > becomes >= (every known write counts as new)"),
    (ORIGIN, "            guard isCaller(entry.node) else {", "            guard isCaller(entry.node) || true else {",
     "origin check: writes of other nodes the receiver has not seen pass"),
    (ORIGIN, "                } else if supersedes {", "                } else if false {",
     "origin check: values the receiver no longer holds may be resurrected"),
    (ORIGIN, "            guard newOwnValue || (fieldAbsent && callerWrote) else {", "            guard newOwnValue || fieldAbsent else {",
     "origin check: a field may be dropped without a write of the caller"),
    (ORIGIN, "            for r in incoming.resolutions where !isCaller(r.by.node) && !heldResolutions.contains(r) {",
     "            for r in incoming.resolutions where false {", "origin check: forged resolution entries pass"),
    (ORIGIN, "        try check({ \"the record's existence\" }, incoming.existence, local.existence, fieldAbsent: false)",
     "        _ = 0", "origin check: the existence register is not checked (one rule deleted)"),
    (NODE, "return utf8.count == n.count || utf8[utf8.index(utf8.startIndex, offsetBy: n.count)] == UInt8(ascii: \".\")",
     "return true", "a name that starts with a node's name counts as its incarnation"),
    (JSON, "        case (.string(let x), .string(let y)): return x.hasSameBytes(as: y)", "        case (.string(let x), .string(let y)): return x == y",
     "values compared by Unicode equivalence, not bytes"),
    (JSON, "        case (.double(let x), .double(let y)): return x.bitPattern == y.bitPattern", "        case (.double(let x), .double(let y)): return x == y",
     "0.0 and -0.0 are one value"),
    (WRITE, "if let last = lastRecord, last.id.hasSameBytes(as: id), last.collection.hasSameBytes(as: collection) { return last.state }",
     "if let last = lastRecord, last.id == id, last.collection == collection { return last.state }",
     "the write path's cache takes look-alike ids for one record"),
]

SUITES = "StationCoreTests|StationStoreTests|StationSyncTests|StationServerTests"


def run(cmd, cwd, env=None, log=None):
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if log:
        with open(log, "a") as f:
            f.write(f"$ {' '.join(cmd)}\n{p.stdout}\n")
    return p.returncode, p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated mutation numbers (1-based, as --list shows)")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--property-runs", default="150", help="STATIONSYNC_PROPERTY_RUNS for each mutant (default 150)")
    ap.add_argument("--sim-runs", default="20", help="STATIONSYNC_SIM_RUNS for each mutant (default 20)")
    o = ap.parse_args()
    if o.list:
        for n, (f, _, _, what) in enumerate(MUTATIONS, 1):
            print(f"{n:3}  {os.path.basename(f):32} {what}")
        return 0
    chosen = [int(x) for x in o.only.split(",")] if o.only else list(range(1, len(MUTATIONS) + 1))

    work = os.path.join(ROOT, ".build-mutate")
    src = os.path.join(work, "src")
    log = os.path.join(work, "mutate.log")
    os.makedirs(work, exist_ok=True)
    if not os.path.isdir(os.path.join(src, ".git")):
        run(["git", "clone", "--quiet", ROOT, src], cwd=work)
    run(["git", "fetch", "--quiet", ROOT, "HEAD"], cwd=src)
    run(["git", "checkout", "--quiet", "--force", "FETCH_HEAD"], cwd=src)
    open(log, "w").close()
    env = dict(os.environ, STATIONSYNC_PROPERTY_RUNS=o.property_runs, STATIONSYNC_SIM_RUNS=o.sim_runs)

    # Every mutation must apply to the code as it is: a stale one is a failure of this tool.
    for n in chosen:
        f, before, _, what = MUTATIONS[n - 1]
        text = open(os.path.join(src, f)).read()
        if text.count(before) != 1:
            print(f"mutate: mutation {n} ({what}) does not apply: its text occurs {text.count(before)} times in {f}", file=sys.stderr)
            return 2

    print(f"mutate: building the unmutated tree (log: {log})", flush=True)
    code, out = run(["swift", "build", "--build-tests"], cwd=src, log=log)
    if code != 0:
        print(out[-3000:], file=sys.stderr)
        return 2
    code, out = run(["swift", "test", "--skip-build", "--filter", SUITES], cwd=src, env=env, log=log)
    if code != 0:
        print("mutate: the unmutated tree fails its tests; nothing to measure\n" + out[-3000:], file=sys.stderr)
        return 2

    caught, survivors = [], []
    for n in chosen:
        f, before, after, what = MUTATIONS[n - 1]
        path = os.path.join(src, f)
        original = open(path).read()
        started = time.time()
        try:
            open(path, "w").write(original.replace(before, after, 1))
            code, _ = run(["swift", "build", "--build-tests"], cwd=src, log=log)
            if code != 0:
                verdict = "caught (does not compile)"
                caught.append(n)
            else:
                code, _ = run(["swift", "test", "--skip-build", "--filter", SUITES], cwd=src, env=env, log=log)
                if code != 0:
                    verdict = "caught"
                    caught.append(n)
                else:
                    verdict = "SURVIVED"
                    survivors.append(n)
        finally:
            open(path, "w").write(original)
        print(f"mutate: {n:3} {verdict:26} {time.time() - started:5.0f} s  {os.path.basename(f)}: {what}", flush=True)

    total = len(chosen)
    print(f"mutate: {len(caught)} of {total} mutations caught ({100 * len(caught) / max(total, 1):.0f}%); "
          f"{len(survivors)} survived" + (": " + "; ".join(f"{n} {MUTATIONS[n - 1][3]}" for n in survivors) if survivors else ""))
    return 0 if len(caught) >= 0.9 * total else 1


if __name__ == "__main__":
    sys.exit(main())
