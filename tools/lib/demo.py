#!/usr/bin/env python3
"""The StationSync demo: a hub and three stations as real processes on loopback.

The stations load the service center's sample data, go offline, make the concurrent edits of
seeds/sample/offline-edits.md, sync with the hub over HTTP (libcurl), and converge; then two
stations replicate directly on the "LAN" while the hub is down. Checks the expected final values
that offline-edits.md lists. Usage: demo.py BIN_DIR [--keep]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import servers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1]
STATION = os.path.join(BIN, "station")
HUB = os.path.join(BIN, "hub")
PROCESSES = []
KEEP = "--keep" in sys.argv
NODES = ["hotline", "civil-affairs", "charity"]
# The clerk at each desk: every write names its author (--by), which travels with the records.
CLERKS = {"hotline": "Zhang Wei", "civil-affairs": "王芳", "charity": "Li Na"}
BOLD, DIM, GREEN, RED, YELLOW, RESET = ("\033[1m", "\033[2m", "\033[32m", "\033[31m", "\033[33m", "\033[0m") if sys.stdout.isatty() else ("",) * 6


def run(binary, *args, db=None, check=True):
    cmd = [binary, *args] + (["--db", db] if db else [])
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        sys.exit(f"{RED}failed: {' '.join(cmd)}\n{p.stderr}{RESET}")
    return p


def station(*args, db=None, check=True):
    return run(STATION, *args, db=db, check=check)


def serve(binary, *args, log):
    """Starts a server process on a free port; returns (process, url) once /v1/health answers."""
    server = servers.Server([binary, *args, "--listen", "127.0.0.1:0"], log + ".out", log + ".err")
    try:
        server.start(timeout=30)
    except servers.ServerError as e:
        sys.exit(f"{RED}{e}{RESET}")
    finally:
        if server.proc:
            PROCESSES.append(server.proc)
    return server.proc, server.url


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def sync(node, dbs, url, token):
    r = json.loads(station("sync", "--peer", url, "--token", token, "--json", db=dbs[node]).stdout)
    print(f"  {node:14} <-> {r['peer']:14} pushed {r['pushed']:3}, pulled {r['pulled']:3} "
          f"({r['created']} new, {r['applied']} newer, {r['merged']} merged, {r['unchanged']} known)  {r['seconds'] * 1000:.0f} ms")
    return r


def title(text):
    print(f"\n{BOLD}{text}{RESET}")


def script_blocks():
    text = open(os.path.join(ROOT, "seeds/sample/offline-edits.md")).read()
    blocks = re.findall(r"```jsonl\n(.*?)```", text, re.S)
    edits = [json.loads(l) for l in blocks[0].splitlines() if l.strip()]
    expected = [json.loads(l) for l in blocks[1].splitlines() if l.strip()]
    return edits, expected


def main():
    work = tempfile.mkdtemp(prefix="stationsync-demo-")
    dbs = {n: os.path.join(work, f"{n}.sqlite") for n in NODES}
    hub_db = os.path.join(work, "hub.sqlite")
    try:
        title("1. The center's hub and three stations, each with its own SQLite database")
        print("  " + run(HUB, "init", db=hub_db).stdout.strip())
        tokens = {}
        for n in NODES:
            args = ["token", "add", n] + (["--relay"] if n == "civil-affairs" else [])
            tokens[n] = run(HUB, *args, db=hub_db).stdout.strip()
            print("  " + station("init", "--node", n, db=dbs[n]).stdout.strip())
        print(f"  tokens made for {', '.join(NODES)} (civil-affairs with --relay: it forwards its LAN peers' writes)")
        hub, hub_url = serve(HUB, "serve", "--db", hub_db, log=os.path.join(work, "hub"))
        print(f"  hub serving at {hub_url} (pid {hub.pid})")

        title("2. The hotline loads the sample records; everyone syncs with the hub")
        samples = sorted(f for f in os.listdir(os.path.join(ROOT, "seeds/sample")) if f.endswith(".jsonl"))
        for f in samples:
            station("import", f[:-6], os.path.join(ROOT, "seeds/sample", f), "--by", CLERKS["hotline"], db=dbs["hotline"])
        total = json.loads(station("changes", "--json", "--limit", "100000", db=dbs["hotline"]).stdout)["changes"]
        print(f"  hotline imported {len(total)} records into {len(samples)} collections")
        for n in NODES:
            sync(n, dbs, hub_url, tokens[n])

        title("3. Offline: each station edits on its own (seeds/sample/offline-edits.md)")
        edits, expected = script_blocks()
        for e in edits:
            db = dbs[e["node"]]
            by = ["--by", CLERKS[e["node"]]]
            target = f"{e['collection']}/{e['id']}"
            if e["op"] in ("set", "insert"):
                station("put", e["collection"], e["id"], json.dumps(e.get("fields") or e.get("record")), *by, db=db)
                what = json.dumps(e.get("fields") or e.get("record"), ensure_ascii=False)
            elif e["op"] == "increment":
                station("add", "--create", e["collection"], e["id"], e["field"], str(e["by"]), *by, db=db)
                what = f"{e['field']} {e['by']:+d}"
            elif e["op"] == "delete":
                station("delete", e["collection"], e["id"], *by, db=db)
                what = "delete"
            if len(what) > 70:
                what = what[:69] + "…"
            print(f"  {e['step']:4} {e['node']:14} {target:28} {what}")

        title("4. Back online: each station syncs with the hub (twice round, so everyone has everything)")
        for _ in range(2):
            for n in NODES:
                sync(n, dbs, hub_url, tokens[n])

        title("5. What each node sees")
        views = {}
        everyone = NODES + ["hub"]
        for n in everyone:
            views[n] = {}
            for f in samples:
                for r in json.loads(station("list", f[:-6], "--json", "--include-deleted", db=dbs.get(n, hub_db)).stdout):
                    views[n][(r["collection"], r["id"])] = r
        identical = all(
            {k: (v["fields"], v["clock"], v["deleted"], [c["id"] for c in v["conflicts"]]) for k, v in views[n].items()}
            == {k: (v["fields"], v["clock"], v["deleted"], [c["id"] for c in v["conflicts"]]) for k, v in views[NODES[0]].items()}
            for n in everyone)
        for n in everyone:
            alive = sum(1 for r in views[n].values() if not r["deleted"])
            conflicted = sum(1 for r in views[n].values() if r["conflicted"])
            print(f"  {n:14} {alive} records, {len(views[n]) - alive} deleted, {conflicted} waiting for a person")
        print(f"  the hub and every station show the same records, values, clocks and conflicts: "
              f"{GREEN + 'yes' if identical else RED + 'NO'}{RESET}")

        title("6. Conflicts found (the same ids on every node)")
        hub_view = views["hub"]
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
        title("8. Conflict inspection: the mediation case's status, at the civil-affairs station")
        med = next(c for c in hub_view[("mediation_cases", "med-0002")]["conflicts"] if c["field"] == "status")
        shown = station("conflicts", "show", med["id"], db=dbs["civil-affairs"]).stdout
        print("\n".join("  " + line for line in shown.rstrip().splitlines()))
        print(f"\n  the mediator confirms the agreement: station conflicts resolve {med['id']} --choose "
              f"{[v['value'] for v in med['values']].index('agreement_reached')}")
        index = [v["value"] for v in med["values"]].index("agreement_reached")
        print("  " + station("conflicts", "resolve", med["id"], "--choose", str(index), db=dbs["civil-affairs"]).stdout.strip())
        for n in ["civil-affairs", "hotline", "charity"]:
            sync(n, dbs, hub_url, tokens[n])
        states = {n: json.loads(station("conflicts", "show", med["id"], "--json", db=dbs.get(n, hub_db)).stdout) for n in everyone}
        resolved_ok = all(s["status"] == "resolved" and s["resolution"]["by"] == "civil-affairs" for s in states.values())
        print(f"  resolved on every node, with who and how: {GREEN + 'yes' if resolved_ok else RED + 'NO'}{RESET}")

        title("9. The hub goes down; charity and civil-affairs replicate directly on the LAN")
        stop(hub)
        print(f"  hub stopped (exit {hub.returncode})")
        peer, peer_url = serve(STATION, "serve", "--db", dbs["civil-affairs"], "--token", "lan-secret",
                               log=os.path.join(work, "civil-affairs-serve"))
        print(f"  civil-affairs serves its records at {peer_url}")
        station("add", "--create", "charity_stock", "stk-0001", "quantity", "-1", "--by", CLERKS["charity"], db=dbs["charity"])
        print("  charity hands out one more bag of rice: charity_stock/stk-0001 quantity -1")
        sync("charity", dbs, peer_url, "lan-secret")
        stop(peer)
        hub, hub_url = serve(HUB, "serve", "--db", hub_db, log=os.path.join(work, "hub-2"))
        print(f"  the hub is back at {hub_url}; civil-affairs (relay token) forwards charity's write")
        sync("civil-affairs", dbs, hub_url, tokens["civil-affairs"])
        sync("hotline", dbs, hub_url, tokens["hotline"])
        q = {n: json.loads(station("get", "charity_stock", "stk-0001", "--json", db=dbs.get(n, hub_db)).stdout)["fields"]["quantity"]
             for n in everyone}
        chain_ok = len(set(q.values())) == 1 and q["hotline"] == 12
        print(f"  stk-0001 quantity everywhere: {q}  {GREEN + '✓' if chain_ok else RED + '✗'}{RESET}")
        stop(hub)

        title("10. A clerk's questions at the charity desk (typed records, an index, full-text search, history)")
        desk = dbs["charity"]
        print("  $ station list charity_stock --where 'quantity<10' --sort quantity --explain")
        low = station("list", "charity_stock", "--where", "quantity<10", "--sort", "quantity", "--explain", db=desk)
        for line in (low.stderr.strip() + "\n" + low.stdout.rstrip()).splitlines():
            print("    " + line)
        low_ok = "plan: index on quantity" in low.stderr and "stk-0005" in low.stdout
        print("  $ station search residents Chen")
        found = station("search", "residents", "Chen", db=desk)
        for line in found.stdout.rstrip().splitlines():
            print("    " + line)
        search_ok = "res-0001" in found.stdout
        print("""  $ station put charity_stock stk-0003 '{"quantiy": 3}'""")
        typo = station("put", "charity_stock", "stk-0003", '{"quantiy": 3}', db=desk, check=False)
        print("    " + typo.stderr.strip())
        typo_ok = typo.returncode != 0 and 'did you mean "quantity"' in typo.stderr
        print("  $ station history charity_stock stk-0001     # who did what to the rice, and where")
        history = station("history", "charity_stock", "stk-0001", db=desk)
        for line in history.stdout.rstrip().splitlines():
            print("    " + line)
        history_ok = (f"by {CLERKS['charity']} at charity" in history.stdout and "(−2)" in history.stdout
                      and f"{CLERKS['civil-affairs']} at civil-affairs" in history.stdout and "(+5)" in history.stdout)
        clerk_ok = low_ok and search_ok and typo_ok and history_ok
        print(f"  answered from the index, found by name, the typo refused, the history names each clerk: "
              f"{GREEN + 'yes' if clerk_ok else RED + 'NO'}{RESET}")

        title("11. One process per station: each serves its records API and keeps syncing with the hub by itself")
        hub, hub_url = serve(HUB, "serve", "--db", hub_db, log=os.path.join(work, "hub-3"))
        users, apis = {}, {}
        for n in ("charity", "hotline"):
            users[n] = station("user", "add", CLERKS[n], db=dbs[n]).stdout.strip()
            _, apis[n] = serve(STATION, "serve", "--db", dbs[n], "--hub", hub_url, "--hub-token", tokens[n], "--every", "1",
                               log=os.path.join(work, f"{n}-serve"))
            print(f"  {n:8} station serve --hub {hub_url} --every 1   records API at {apis[n]}/v1/records/…")

        def api(n, method, path, body=None):
            req = urllib.request.Request(apis[n] + path, method=method, data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Authorization": f"Bearer {users[n]}", "Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=40) as r:
                return json.loads(r.read())
        since = api("hotline", "GET", "/v1/records/_changes?since=0&limit=1")["next"]
        since = api("hotline", "GET", f"/v1/records/_changes?since={since}&limit=1000")["next"]
        print(f"""  $ curl -X PUT {apis['charity']}/v1/records/charity_stock/stk-0100 -d '{{"itemName": "Noodles, 1 kg", "quantity": 30}}'""")
        t0 = time.time()
        api("charity", "PUT", "/v1/records/charity_stock/stk-0100", {"itemName": "Noodles, 1 kg", "quantity": 30})
        seen = None
        while seen is None and time.time() - t0 < 20:
            page = api("hotline", "GET", f"/v1/records/_changes?since={since}&wait=10")
            since = page["next"]
            seen = next((r for r in page["records"] if r["id"] == "stk-0100"), None)
        api_ok = seen is not None
        if api_ok:
            print(f"  the hotline's change feed (GET /v1/records/_changes?wait=10) has it {time.time() - t0:.2f} s later, "
                  f"written by {CLERKS['charity']}: quantity {seen['fields'].get('quantity')}")
        else:
            print(f"  {RED}the hotline never saw stk-0100{RESET}")
        print(f"  {GREEN + 'yes' if api_ok else RED + 'NO'}{RESET}: a program's write reached another station through the hub, nobody ran station sync")
        clerk_ok = clerk_ok and api_ok

        if failures or not identical or not chain_ok or not resolved_ok or not clerk_ok:
            print(f"\n{RED}demo found {failures} unexpected values{RESET}")
            return 1
        print(f"\n{GREEN}The hub and all three stations converged; every conflict is listed above.{RESET}")
        if KEEP:
            print(f"databases kept in {work}")
        return 0
    finally:
        for proc in PROCESSES:
            if proc.poll() is None:
                stop(proc)
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
