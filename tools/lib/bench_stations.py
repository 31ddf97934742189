"""Many stations syncing with one hub at the same moment ("nine o'clock").

Each of S stations has its own database, node name and token, and C new changes. Two runs:

1. The hub under S concurrent syncs (the figure with the goal). One machine has to play all S
   stations, and S `station` processes started together on 2 cores mostly measure their own
   start-up and CPU contention, not the hub. So S Python threads (one per station, each with its
   own connection, token and node) run the client's side of a sync as Protocol/http.md describes
   it: GET /v1/session, POST /v1/changes with the station's C changes (gzip, as `station sync`
   sends them), then GET /v1/changes until `more` is false. The push bodies are the station's own
   change entries from `station export`, gzipped before the clock starts. A station's latency is
   from the moment all threads are released to the last answer of its sync.

2. The real client as a cross-check: S `station sync --json` processes launched together, after
   each station made C more changes (updates of its records). Reported: how many succeeded, and
   the in-process `seconds` and whole-command time. On 2 cores these include the other 199
   processes' start-up and work, so no goal is attached.

Pulls: every token reads only `residents`, a collection these stations do not write, so each
sync's pull is a real round trip that finds nothing new. With every station reading everything,
each would also pull up to (S-1)*C changes of the others, and the figure would measure pull
throughput (the initial sync figures) times S rather than how the hub handles S syncs at once.
"""
import gzip
import http.client
import json
import math
import os
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

from bench_nodes import Hub, log, write_records

READ_SCOPE = "residents"  # see above: the stations write charity_stock


def percentile(values, p):
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Station:
    def __init__(self, work, i):
        self.node = f"st-{i:03d}"
        self.db = os.path.join(work, f"{self.node}.sqlite")
        self.prefix = f"st{i:03d}"
        self.token = None
        self.writer = None
        self.push_body = None  # gzipped POST /v1/changes body for run 1


def prepare(nodes, work, hub_db, count, changes):
    """Databases, tokens, C changes per station and their push bodies."""
    stations = [Station(work, i) for i in range(count)]
    for s in stations:  # tokens before the hub serves; each `hub token add` writes the hub db
        s.token = nodes.token(hub_db, s.node, "--read", READ_SCOPE)

    def make(s):
        nodes.new_station(s.db, s.node)
        first = os.path.join(work, f"{s.node}-1.jsonl")
        write_records(first, range(changes), version=0, prefix=s.prefix)
        nodes.station("import", "--db", s.db, "charity_stock", first)
        exported = os.path.join(work, f"{s.node}.changes")
        nodes.station("export", "--db", s.db, exported)
        with open(exported) as f:
            entries = [line.strip() for line in f.readlines()[1:] if line.strip()]
        assert len(entries) == changes, (s.node, len(entries))
        # The push names the database it comes from, as `station sync` does: the hub takes a
        # node's pushes from one database (run 2 syncs the same databases with `station sync`).
        s.writer = json.loads(nodes.station("info", "--db", s.db, "--json").stdout)["writer"]
        body = '{"node":' + json.dumps(s.node) + ',"writer":' + json.dumps(s.writer) + ',"changes":[' + ",".join(entries) + "]}"
        s.push_body = gzip.compress(body.encode(), compresslevel=6)
        # The C more changes for run 2: updates of the same records.
        second = os.path.join(work, f"{s.node}-2.jsonl")
        write_records(second, range(changes), version=1, prefix=s.prefix)
        nodes.station("import", "--db", s.db, "charity_stock", second)

    with ThreadPoolExecutor(max_workers=6) as pool:  # mostly waiting for fsync: more than 2 at once
        list(pool.map(make, stations))
    return stations


def protocol_sync(url, s, changes, start):
    """One station's sync over HTTP (run 1). Returns ({seconds, push_s, pull_s, pull_requests},
    error or None): the whole sync, the session and push steps, the pull step, and how many
    GET /v1/changes it took."""
    u = urllib.parse.urlsplit(url)
    start.wait()
    started = time.perf_counter()
    headers = {"Authorization": f"Bearer {s.token}", "Accept-Encoding": "gzip", "X-StationSync-Node": s.writer}
    try:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)

        def call(method, path, body=None, extra=None):
            conn.request(method, path, body=body, headers={**headers, **(extra or {})})
            r = conn.getresponse()
            data = r.read()
            if r.getheader("Content-Encoding") == "gzip":
                data = gzip.decompress(data)
            if r.status != 200:
                raise RuntimeError(f"{method} {path}: {r.status} {data[:200]!r}")
            return json.loads(data)

        call("GET", "/v1/session")
        answer = call("POST", "/v1/changes", s.push_body,
                      {"Content-Type": "application/json", "Content-Encoding": "gzip"})
        if len(answer["results"]) != changes:
            raise RuntimeError(f"push answered {len(answer['results'])} results for {changes} changes")
        pushed = time.perf_counter()
        cursor, requests = "", 0
        while True:
            page = call("GET", "/v1/changes?" + urllib.parse.urlencode({"since": cursor, "limit": 500}))
            requests += 1
            cursor = page["next"]
            if not page["more"]:
                break
        conn.close()
        done = time.perf_counter()
        return {"seconds": done - started, "push_s": pushed - started, "pull_s": done - pushed,
                "pull_requests": requests}, None
    except Exception as e:  # counted as a failed sync, reported with the figures
        return None, f"{s.node}: {e}"


def process_sync(nodes, url, s, start):
    """One station's `station sync --json` (run 2). Returns (summary or None, error or None)."""
    start.wait()
    try:
        return nodes.sync(s.db, url, s.token), None
    except Exception as e:
        return None, f"{s.node}: {e}"


def concurrent(nodes, work, count, changes):
    """Both runs; returns a dict of results."""
    os.makedirs(work, exist_ok=True)
    hub_db = os.path.join(work, "hub.sqlite")
    nodes.new_hub(hub_db)
    t = time.perf_counter()
    stations = prepare(nodes, work, hub_db, count, changes)
    log(f"{count} stations prepared in {time.perf_counter() - t:.1f} s")
    result = {}
    # One machine plays every station, so they all come from 127.0.0.1: the hub's per-address
    # connection limit (128 by default, against one client holding them all) would close the
    # connections past it, and the figure would count those instead of the hub's work.
    per_address = ["--max-connections-per-address", str(max(128, 2 * count))]
    with Hub(nodes, hub_db, os.path.join(work, "hub"), per_address) as hub:
        # Run 1: the protocol from S threads.
        start = threading.Event()
        with ThreadPoolExecutor(max_workers=count) as pool:
            futures = [pool.submit(protocol_sync, hub.url, s, changes, start) for s in stations]
            time.sleep(0.5)  # every thread waiting at the start line
            start.set()
            outcomes = [f.result() for f in futures]
        ok = [o for o, err in outcomes if err is None]
        result["protocol"] = {
            "seconds": [o["seconds"] for o in ok],
            "push_s": [o["push_s"] for o in ok],
            "pull_s": [o["pull_s"] for o in ok],
            "pull_requests": [o["pull_requests"] for o in ok],
            "errors": [err for _, err in outcomes if err is not None],
        }
        # Run 2: S real `station sync` processes.
        start = threading.Event()
        with ThreadPoolExecutor(max_workers=count) as pool:
            futures = [pool.submit(process_sync, nodes, hub.url, s, start) for s in stations]
            time.sleep(0.5)
            start.set()
            outcomes = [f.result() for f in futures]
        ok = [summary for summary, err in outcomes if err is None]
        bad = [err for summary, err in outcomes if err is not None]
        bad += [f"pushed {o['pushed']} of {changes}" for o in ok if o["pushed"] != changes]
        result["processes"] = {
            "seconds": [o["seconds"] for o in ok if o["pushed"] == changes],
            "wall": [o["wall"] for o in ok if o["pushed"] == changes],
            "errors": bad,
        }
        result["hub_rss_kib"] = hub.peak_rss_kib()
    return result
