#!/usr/bin/env python3
"""Sync benchmark on loopback with the real hub and station executables (see tools/bench-sync)."""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN, N = sys.argv[1], int(sys.argv[2])
HUB, STATION = os.path.join(BIN, "hub"), os.path.join(BIN, "station")


def run(*cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr}")
    return p.stdout


def start_hub(db, log):
    out = open(log, "w+")
    proc = subprocess.Popen([HUB, "serve", "--db", db, "--listen", "127.0.0.1:0"], stdout=out, stderr=subprocess.DEVNULL,
                            env={**os.environ, "LOG_LEVEL": "warning"})
    for _ in range(600):
        out.seek(0)
        m = re.search(r"listening on (http://\S+)", out.read())
        if m:
            try:
                urllib.request.urlopen(m.group(1) + "/v1/health", timeout=2).read()
                return proc, m.group(1)
            except OSError:
                pass
        time.sleep(0.05)
    sys.exit("hub did not start")


def records(n, path):
    raw = 0
    with open(path, "w") as f:
        for i in range(n):
            fields = {"name": f"Item {i} rice 5kg bag", "category": ["grain", "oil", "clothing", "daily"][i % 4], "unit": "bag",
                      "quantity": i % 50, "pointsPrice": 10 + i % 90, "location": f"Shelf {i % 40}"}
            raw += len(json.dumps(fields, separators=(",", ":")))
            f.write(json.dumps({"id": f"stk-{i:07d}", **fields}) + "\n")
    return raw / n


def sync(db, url, token):
    t = time.perf_counter()
    summary = json.loads(run(STATION, "sync", "--db", db, "--peer", url, "--token", token, "--json"))
    summary["wall"] = time.perf_counter() - t
    return summary


def scenario(work, n):
    hub_db = os.path.join(work, f"hub-{n}.sqlite")
    run(HUB, "init", "--db", hub_db)
    ta = run(HUB, "token", "add", "--db", hub_db, "station-a").strip()
    tb = run(HUB, "token", "add", "--db", hub_db, "station-b").strip()
    a, b = os.path.join(work, f"a-{n}.sqlite"), os.path.join(work, f"b-{n}.sqlite")
    run(STATION, "init", "--db", a, "--node", "station-a")
    run(STATION, "init", "--db", b, "--node", "station-b")
    data = os.path.join(work, f"records-{n}.jsonl")
    raw = records(n, data)
    run(STATION, "import", "--db", a, "charity_stock", data)
    hub, url = start_hub(hub_db, os.path.join(work, f"hub-{n}.log"))
    try:
        push = sync(a, url, ta)
        pull = sync(b, url, tb)
        noops = [sync(a, url, ta) for _ in range(7)]
        assert all(s["pushed"] == 0 and s["pulled"] == 0 for s in noops)
        return {"push": push, "pull": pull, "noop_ms": statistics.median(s["seconds"] for s in noops) * 1000,
                "noop_wall_ms": statistics.median(s["wall"] for s in noops) * 1000, "raw": raw}
    finally:
        hub.terminate()
        hub.wait()


def main():
    work = tempfile.mkdtemp(prefix="stationsync-bench-")
    try:
        small = scenario(work, 1000)
        big = scenario(work, N)
        push, pull = big["push"], big["pull"]
        rows = [
            (f"initial sync {N} records station -> hub", N / push["seconds"], "records/s"),
            (f"initial sync {N} records hub -> new station", N / pull["seconds"], "records/s"),
            ("no-op sync, 1k records (in process)", small["noop_ms"], "ms"),
            (f"no-op sync, {N // 1000}k records (in process)", big["noop_ms"], "ms"),
            ("no-op sync, 1k records (whole command)", small["noop_wall_ms"], "ms"),
            (f"no-op sync, {N // 1000}k records (whole command)", big["noop_wall_ms"], "ms"),
            ("wire bytes per record pushed (gzip)", push["bytesSent"] / N, "bytes"),
            ("wire bytes per record pulled (gzip)", pull["bytesReceived"] / N, "bytes"),
            ("raw JSON of a record's fields", big["raw"], "bytes"),
        ]
        print(f"sync on loopback, release build, {os.cpu_count()} cores")
        for name, value, unit in rows:
            print(f"  {name:48} {value:12.1f} {unit}")
        print(json.dumps([{"name": n, "value": round(v, 3), "unit": u} for n, v, u in rows]))
    finally:
        shutil.rmtree(work, ignore_errors=True)


main()
