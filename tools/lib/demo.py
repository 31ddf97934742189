#!/usr/bin/env python3
"""The StationSync demo: three stations, offline edits, exchange of changes, convergence.

Replays seeds/sample/offline-edits.md (its machine-readable script) and checks the expected
final values it lists. Usage: demo.py STATION_BINARY [--keep]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STATION = sys.argv[1]
KEEP = "--keep" in sys.argv
NODES = ["hotline", "civil-affairs", "charity"]
BOLD, DIM, GREEN, RED, YELLOW, RESET = ("\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[33m", "\033[0m") if sys.stdout.isatty() else ("",) * 6


def station(*args, db=None, check=True):
    cmd = [STATION, *args] + (["--db", db] if db else [])
    p = subprocess.run(cmd, capture_output=True, text=True)
    if check and p.returncode != 0:
        sys.exit(f"{RED}failed: {' '.join(cmd)}\n{p.stderr}{RESET}")
    return p


def title(text):
    print(f"\n{BOLD}{text}{RESET}")


def script_blocks():
    text = open(os.path.join(ROOT, "seeds/sample/offline-edits.md")).read()
    blocks = re.findall(r"```jsonl\n(.*?)```", text, re.S)
    edits = [json.loads(l) for l in blocks[0].splitlines() if l.strip()]
    expected = [json.loads(l) for l in blocks[1].splitlines() if l.strip()]
    return edits, expected


def exchange(dbs, work):
    """Every station exports its changes since it last exported; every other station merges them."""
    files = {}
    for node in NODES:
        path = os.path.join(work, f"{node}.changes")
        station("export", path, db=dbs[node])
        files[node] = path
    for node in NODES:
        for other in NODES:
            if other != node:
                out = station("merge", files[other], "--json", db=dbs[node]).stdout
                r = json.loads(out)
                print(f"  {node:14} <- {other:14} {r['changes']:3} changes: {r['created']} new, {r['applied']} newer, "
                      f"{r['merged']} merged, {r['unchanged']} known")


def main():
    work = tempfile.mkdtemp(prefix="stationsync-demo-")
    dbs = {n: os.path.join(work, f"{n}.sqlite") for n in NODES}
    try:
        title("1. Three stations, each with its own database (no network needed)")
        for n in NODES:
            print("  " + station("init", "--node", n, db=dbs[n]).stdout.strip())

        title("2. The hotline loads the service center's sample records; the others receive them")
        samples = sorted(f for f in os.listdir(os.path.join(ROOT, "seeds/sample")) if f.endswith(".jsonl"))
        for f in samples:
            station("import", f[:-6], os.path.join(ROOT, "seeds/sample", f), db=dbs["hotline"])
        total = json.loads(station("changes", "--json", "--limit", "100000", db=dbs["hotline"]).stdout)["changes"]
        print(f"  hotline imported {len(total)} records into {len(samples)} collections")
        exchange(dbs, work)

        title("3. Offline: each station edits on its own (seeds/sample/offline-edits.md)")
        edits, expected = script_blocks()
        for e in edits:
            db = dbs[e["node"]]
            target = f"{e['collection']}/{e['id']}"
            if e["op"] in ("set", "insert"):
                station("put", e["collection"], e["id"], json.dumps(e.get("fields") or e.get("record")), db=db)
                what = json.dumps(e.get("fields") or e.get("record"), ensure_ascii=False)
            elif e["op"] == "increment":
                station("add", e["collection"], e["id"], e["field"], str(e["by"]), db=db)
                what = f"{e['field']} {e['by']:+d}"
            elif e["op"] == "delete":
                station("delete", e["collection"], e["id"], db=db)
                what = "delete"
            if len(what) > 70:
                what = what[:69] + "…"
            print(f"  {e['step']:4} {e['node']:14} {target:28} {what}")

        title("4. Back online: the stations exchange their changes")
        exchange(dbs, work)

        title("5. What each station sees")
        views = {}
        for n in NODES:
            views[n] = {}
            for f in samples:
                for r in json.loads(station("list", f[:-6], "--json", "--include-deleted", db=dbs[n]).stdout):
                    views[n][(r["collection"], r["id"])] = r
        identical = all(
            {k: (v["fields"], v["clock"], v["deleted"], [c["id"] for c in v["conflicts"]]) for k, v in views[n].items()}
            == {k: (v["fields"], v["clock"], v["deleted"], [c["id"] for c in v["conflicts"]]) for k, v in views[NODES[0]].items()}
            for n in NODES)
        for n in NODES:
            alive = sum(1 for r in views[n].values() if not r["deleted"])
            conflicted = sum(1 for r in views[n].values() if r["conflicted"])
            print(f"  {n:14} {alive} records, {len(views[n]) - alive} deleted, {conflicted} waiting for a person")
        print(f"  every station shows the same records, values, clocks and conflicts: "
              f"{GREEN + 'yes' if identical else RED + 'NO'}{RESET}")

        title("6. Conflicts found (the same ids on every station)")
        hub_view = views[NODES[0]]
        for key in sorted(hub_view):
            for c in hub_view[key]["conflicts"]:
                kind = "waits for a person" if not c["automatic"] else "decided automatically"
                show = (lambda v: "delete" if v else "update") if c["field"] == "_deleted" else (lambda v: json.dumps(v, ensure_ascii=False))
                values = "  vs  ".join(f"{show(v['value'])} ({v['node']})" for v in c["values"])
                print(f"  {c['id']}  {key[0]}/{key[1]}.{c['field']}  {c['policy']}, {kind}")
                print(f"      {values}")
                print(f"      {DIM}{c['rule']}{RESET}")

        title("7. Checking the expected results (seeds/sample/offline-edits.md)")
        failures = 0
        for exp in expected:
            key = (exp["collection"], exp["id"])
            for n in NODES:
                r = views[n].get(key)
                problems = check(exp, r)
                if problems:
                    failures += 1
                    print(f"  {RED}✗ {n}: {key[0]}/{key[1]}: {'; '.join(problems)}{RESET}")
            if all(not check(exp, views[n].get(key)) for n in NODES):
                shown = {k: v for k, v in (views[NODES[0]][key]["fields"].items() if key in views[NODES[0]] else [])
                         if k in exp and not k.endswith("Candidates")}
                print(f"  {GREEN}✓{RESET} {key[0]}/{key[1]} {json.dumps(shown, ensure_ascii=False)[:80]}")
        if failures or not identical:
            print(f"\n{RED}demo found {failures} unexpected values{RESET}")
            return 1
        print(f"\n{GREEN}All three stations converged; every conflict is listed above.{RESET}")
        if KEEP:
            print(f"databases kept in {work}")
        return 0
    finally:
        if not KEEP:
            shutil.rmtree(work, ignore_errors=True)


def check(exp, r):
    """What differs between an expected line of offline-edits.md and a record."""
    if r is None:
        return ["missing"]
    problems = []
    if "exists" in exp and exp["exists"] == r["deleted"]:
        problems.append(f"deleted={r['deleted']}")
    if "conflicted" in exp and exp["conflicted"] != r["conflicted"]:
        problems.append(f"conflicted={r['conflicted']}")
    for field in exp.get("conflictFields", []):
        held = next((c for c in r["conflicts"] if c["field"] == field), None)
        want = exp.get(field + "Candidates")
        if held is None or (want and sorted(map(json.dumps, want)) != sorted(json.dumps(v["value"]) for v in held["values"])):
            problems.append(f"conflict on {field} not as expected")
    if "lwwLoser" in exp:
        losers = [v["value"] for c in r["conflicts"] for v in c["values"][1:]]
        if exp["lwwLoser"] not in losers:
            problems.append("lww loser not kept")
    skip = {"collection", "id", "exists", "conflicted", "conflictFields", "lwwLoser"}
    for k, v in exp.items():
        if k in skip or k.endswith("Candidates"):
            continue
        if r["fields"].get(k) != v:
            problems.append(f"{k}={json.dumps(r['fields'].get(k))}, expected {json.dumps(v)}")
    return problems


if __name__ == "__main__":
    sys.exit(main())
