#!/usr/bin/env python3
"""Crash runs: SIGKILL the station or the hub at random moments of large syncs, restart, go on.

    crashes.py BIN_DIR [--kills N] [--records M] [--seed S] [--kills-per-phase K]

A scenario: station `desk-a` imports M `charity_stock` records; it pushes them to a fresh hub, then
a new station `desk-b` pulls them all. In each phase the sync is started again and again; each time,
once records are seen moving, after a random delay, either the syncing station or the hub gets
SIGKILL (a killed hub is restarted at once on the same port, so the station's own retries may reach
it). After K kills the phase's sync runs to completion. Scenarios repeat until N kills are done.

After every kill:
  - `PRAGMA integrity_check` is ok on the killed process's database;
  - desk-a still holds exactly the M records it imported (its acknowledged local writes);
  - what a peer acknowledged is there: every desk-a record at or below the push checkpoint is at
    the hub with the same state, and every hub record at or below desk-b's pull cursor is at desk-b;
  - nothing is invented: every record the hub holds is desk-a's, every record desk-b holds is the hub's.
At the end of a scenario the three databases hold the same M records, byte for byte, and one more
sync moves nothing.
"""
import argparse
import collections
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from cluster import CommandError, Hub, Tools, count, integrity, records  # noqa: E402

COLLECTION = "charity_stock"


class Failure(Exception):
    pass


def checkpoint(db):
    """(pushed, pulled cursor's sequence) of a station's single peer, or (0, 0)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT pushed, pulled FROM checkpoint").fetchone()
    finally:
        conn.close()
    if not row:
        return 0, 0
    pulled = int(row[1].rsplit(".", 1)[1]) if row[1] else 0
    return row[0], pulled


def seqs(db):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return {(c, i): s for c, i, s in conn.execute("SELECT collection, id, seq FROM record")}
    finally:
        conn.close()


class Scenario:
    def __init__(self, tools, work, rng, args, totals):
        self.tools, self.work, self.rng, self.args, self.totals = tools, work, rng, args, totals
        self.hub = Hub(tools.hub, os.path.join(work, "hub.sqlite"), os.path.join(work, "hub.log"))
        self.a, self.b = os.path.join(work, "desk-a.sqlite"), os.path.join(work, "desk-b.sqlite")

    def setup(self):
        t = self.tools
        t.run(t.hub, "init", "--db", self.hub.db)
        self.tokens = {}
        for name, db in (("desk-a", self.a), ("desk-b", self.b)):
            t.run(t.station, "init", "--db", db, "--node", name)
            self.tokens[db] = t.run(t.hub, "token", "add", "--db", self.hub.db, name).stdout.strip()
        data = os.path.join(self.work, "stock.jsonl")
        with open(data, "w") as f:
            for i in range(self.args.records):
                f.write(json.dumps({"id": f"stk-{i:06d}", "itemName": f"Item {i} rice 5kg bag", "unit": "bag",
                                    "quantity": i % 97, "shelf": f"A{i % 40}", "category": ["grain", "oil", "daily"][i % 3]}) + "\n")
        t.run(t.station, "import", "--db", self.a, COLLECTION, data)
        self.imported = records(self.a, COLLECTION)
        if len(self.imported) != self.args.records:
            raise Failure(f"import: {len(self.imported)} of {self.args.records} records")
        self.hub.start()

    def start_sync(self, db):
        return subprocess.Popen(
            [self.tools.station, "sync", "--db", db, "--peer", self.hub.url, "--token", self.tokens[db], "--json",
             "--batch-size", str(self.rng.choice([100, 250, 500]))],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
            env={**os.environ, "LOG_LEVEL": "error"})

    def phase(self, db, watch):
        """Syncs `db` with the hub, killing it or the hub up to K times on the way; then to the end."""
        kills = 0
        for attempt in range(self.args.kills_per_phase * 4 + 20):
            proc = self.start_sync(db)
            if kills >= self.args.kills_per_phase or self.totals["kills"] >= self.args.kills:
                out, err = proc.communicate(timeout=900)
                if proc.returncode == 0:
                    return json.loads(out.strip().splitlines()[-1])
                self.totals["failed syncs"] += 1
                if "token" in err:
                    raise Failure(f"sync refused: {err[-400:]}")
                continue
            # Wait until records move, then a random moment later kill the station or the hub.
            before, deadline = count(watch, COLLECTION), time.time() + 120
            while proc.poll() is None and count(watch, COLLECTION) == before and time.time() < deadline:
                time.sleep(0.02)
            time.sleep(self.rng.uniform(0, self.args.max_delay))
            if proc.poll() is not None:
                proc.communicate()
                if proc.returncode == 0:
                    self.totals["syncs that finished first"] += 1
                    return None
                continue
            victim = self.rng.choice(["station", "hub"])
            if victim == "station":
                proc.kill()
                proc.communicate()
                self.check_after_kill(db)
            else:
                self.hub.kill()
                self.check_after_kill(self.hub.db)
                self.hub.start()  # same port: the station's retries may reach the new process
                proc.communicate(timeout=300)
            kills += 1
            self.totals["kills"] += 1
            self.totals[f"{victim} kills"] += 1
        raise Failure("the sync never completed")

    def check_after_kill(self, killed_db):
        result = integrity(killed_db)
        if result != "ok":
            raise Failure(f"integrity_check after SIGKILL of {os.path.basename(killed_db)}: {result}")
        self.check_consistent()

    def check_consistent(self):
        # Checkpoints first: a process still running may advance them, but only after the records
        # they cover are committed, so records read afterwards include at least those.
        pushed, _ = checkpoint(self.a)
        _, pulled = checkpoint(self.b)
        a, hub, b = records(self.a, COLLECTION), records(self.hub.db, COLLECTION), records(self.b, COLLECTION)
        if a != self.imported:
            raise Failure(f"desk-a changed: {len(a)} records, {sum(a.get(k) != v for k, v in self.imported.items())} differ from the import")
        invented = [k for k, v in hub.items() if a.get(k) != v]
        if invented:
            raise Failure(f"the hub holds {len(invented)} records unlike desk-a's, e.g. {invented[:3]}")
        invented = [k for k, v in b.items() if hub.get(k) != v]
        if invented:
            raise Failure(f"desk-b holds {len(invented)} records unlike the hub's, e.g. {invented[:3]}")
        missing = [k for k, seq in seqs(self.a).items() if seq <= pushed and k not in hub]
        if missing:
            raise Failure(f"{len(missing)} records the hub acknowledged (push checkpoint {pushed}) are not at the hub, e.g. {missing[:3]}")
        missing = [k for k, seq in seqs(self.hub.db).items() if seq <= pulled and k not in b]
        if missing:
            raise Failure(f"{len(missing)} records desk-b's cursor ({pulled}) says it has are missing, e.g. {missing[:3]}")
        self.totals["checks"] += 1

    def run(self):
        self.setup()
        try:
            self.phase(self.a, self.hub.db)
            self.phase(self.b, self.b)
            for db in (self.a, self.b):
                summary = json.loads(self.tools.run(self.tools.station, "sync", "--db", db, "--peer", self.hub.url,
                                                    "--token", self.tokens[db], "--json").stdout.strip().splitlines()[-1])
                if summary.get("pushed") or summary.get("pulled"):
                    raise Failure(f"a sync after the end still moved changes: {summary}")
            self.check_consistent()
            a, hub, b = records(self.a, COLLECTION), records(self.hub.db, COLLECTION), records(self.b, COLLECTION)
            if not (len(a) == len(hub) == len(b) == self.args.records and a == hub == b):
                raise Failure(f"not converged: desk-a {len(a)}, hub {len(hub)}, desk-b {len(b)} records")
            for db in (self.a, self.b, self.hub.db):
                if integrity(db) != "ok":
                    raise Failure(f"integrity_check of {db} at the end")
            self.totals["scenarios"] += 1
            self.totals["records checked"] += 3 * self.args.records
        finally:
            self.hub.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bin")
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--records", type=int, default=30000)
    parser.add_argument("--kills-per-phase", type=int, default=5)
    parser.add_argument("--max-delay", type=float, default=1.5, help="seconds: a kill comes this long at most after records move")
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    tools = Tools(args.bin)
    seed = args.seed if args.seed is not None else random.randrange(1, 1 << 30)
    totals = collections.Counter()
    started = time.time()
    n = 0
    while totals["kills"] < args.kills:
        work = tempfile.mkdtemp(prefix=f"stationsync-crashes-{seed + n}-")
        try:
            Scenario(tools, work, random.Random(seed + n), args, totals).run()
            shutil.rmtree(work, ignore_errors=True)
        except (Failure, CommandError, subprocess.TimeoutExpired) as e:
            print(f"crashes: scenario with seed {seed + n} FAILED after {totals['kills']} kills: {e}\n"
                  f"  (kept {work}; replay: crashes.py BIN --seed {seed + n} --kills {args.kills_per_phase * 2})", file=sys.stderr)
            sys.exit(1)
        n += 1
        if sys.stderr.isatty():
            print(f"\r  {totals['kills']}/{args.kills} kills", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"crashes: {totals['kills']} kills ({totals['station kills']} station, {totals['hub kills']} hub) in "
          f"{totals['scenarios']} scenarios of {args.records} records (seeds {seed}...{seed + n - 1}), "
          f"{totals['checks']} consistency checks, {totals['records checked']} records compared at the end, "
          f"0 integrity errors, 0 lost acknowledged writes, {time.time() - started:.0f} s")


main()
