#!/usr/bin/env python3
"""The scenario runner behind tools/bench: every figure of issue 6, measured in one run with
release builds of the real executables on loopback, each against its floor where there is one.

    bench.py BIN_DIR [--quick] [--records N] [--small N] [--big N] [--stations S] [--changes C]
                     [--only writes,sync,scale,stations] [--out FILE] [--plot FILE] [--keep]

Groups (all by default):
  writes    local writes: `station-bench` (station puts against a plain GRDB insert)
  sync      initial sync of --records station -> hub -> second station, against its floor
            (bench_floor.py); throughput; wire bytes per record
  scale     the same datasets at --small, 10k, --records and --big records: no-op syncs and
            rounds of --changes new changes (all sizes interleaved), peak memory of the --big
            initial sync, and the plot
  stations  --stations stations syncing at once, --changes changes each (bench_stations.py)

Prints a table and writes a JSON array with one object per figure: name, value, unit, floor
(or null), ratio (or null), goal (text), met (true/false, or null where there is no goal).
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_floor import loopback_transfer, plain_insert, random_updates, read_rows  # noqa: E402
from bench_nodes import Failed, Hub, Nodes, log, random_ids, run, stock_id, write_records  # noqa: E402
from bench_stations import concurrent, percentile  # noqa: E402

GROUPS = ["writes", "queries", "sync", "scale", "stations"]


def options():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("bin_dir")
    p.add_argument("--quick", action="store_true", help="smoke test: 10k records, 100k big, 20 stations")
    p.add_argument("--records", type=int, help="local writes and initial sync size (default 100000; quick 10000)")
    p.add_argument("--small", type=int, default=1000, help="the small database of the ratios (default 1000)")
    p.add_argument("--big", type=int, help="the big database (default 1000000; quick 100000)")
    p.add_argument("--stations", type=int, help="stations syncing at once (default 200; quick 20)")
    p.add_argument("--changes", type=int, default=100, help="new changes per station and per round (default 100)")
    p.add_argument("--rounds", type=int, default=9, help="rounds of --changes new changes per database (median)")
    p.add_argument("--noops", type=int, default=11, help="no-op syncs per database (median)")
    p.add_argument("--write-rounds", type=int, help="station-bench rounds (default 3; quick 1)")
    p.add_argument("--sync-rounds", type=int, help="initial syncs and floors of --records, median (default 3; quick 1)")
    p.add_argument("--only", default=",".join(GROUPS), help="comma-separated groups: " + ",".join(GROUPS))
    p.add_argument("--out", default="bench-results.json")
    p.add_argument("--plot", default=".artifacts/bench-sync-time.png", help="PNG of sync time against size ('' for none)")
    p.add_argument("--keep", action="store_true", help="keep the temporary databases")
    o = p.parse_args()
    o.records = o.records or (10_000 if o.quick else 100_000)
    o.big = o.big or (100_000 if o.quick else 1_000_000)
    o.stations = o.stations or (20 if o.quick else 200)
    o.write_rounds = o.write_rounds or (1 if o.quick else 3)
    o.sync_rounds = o.sync_rounds or (1 if o.quick else 3)
    o.only = [g.strip() for g in o.only.split(",") if g.strip()]
    unknown = [g for g in o.only if g not in GROUPS]
    if unknown:
        p.error(f"unknown group {', '.join(unknown)} (groups: {', '.join(GROUPS)})")
    return o


def k(n):
    """1000 -> '1k', 1000000 -> '1M'."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


# --- scenarios ------------------------------------------------------------------------------------

def local_writes(nodes, o):
    """station-bench: puts through the station's write path against a plain GRDB insert of the
    same rows, same batching; it prints its figures as a JSON array on its last line."""
    log(f"local writes: station-bench --records {o.records} --batch 1000 --rounds {o.write_rounds}")
    r = run(nodes.bench_bin, "--records", str(o.records), "--batch", "1000", "--rounds", str(o.write_rounds))
    print(r.stdout.rstrip(), file=sys.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


def queries(nodes, o):
    """station-bench --queries: an indexed, filtered, sorted, limited query at --records and --big
    records (in process, p50 and p99), beside the same query on a field with no index."""
    sizes = sorted({o.records, o.big})
    log(f"queries: station-bench --queries {','.join(map(str, sizes))}")
    r = run(nodes.bench_bin, "--queries", ",".join(map(str, sizes)), "--runs", "200")
    print(r.stdout.rstrip(), file=sys.stderr)
    return json.loads(r.stdout.strip().splitlines()[-1])


class Dataset:
    """Station A with `size` records, a hub and station B, all synced: A's records went to a fresh
    hub (push) and from there to B (pull). The hub keeps serving afterwards, so that the
    incremental figures of every size can be measured interleaved (1k, 1M, 1k, 1M, ...): a change
    in the machine's load (other builds on the same 2 cores) then hits both sides of a ratio.

    `res` collects the results: import_s, push and pull (sync summaries with wall, cpu, hub_cpu,
    max_rss_kib), hub_rss_kib, then noop / changes / plain_updates lists, then the floor."""

    def __init__(self, nodes, o, size, work):
        self.nodes, self.o, self.size = nodes, o, size
        self.dir = os.path.join(work, f"size-{size}")
        os.makedirs(self.dir)
        self.a, self.b, self.hub_db = (os.path.join(self.dir, f) for f in ("a.sqlite", "b.sqlite", "hub.sqlite"))
        self.hub = None
        self.res = {"size": size, "noop": [], "changes_push": [], "changes_pull": [], "plain_updates": []}

    def initial_sync(self):
        nodes, size, res = self.nodes, self.size, self.res
        nodes.new_station(self.a, "station-a")
        nodes.new_station(self.b, "station-b")
        nodes.new_hub(self.hub_db)
        self.ta, self.tb = nodes.token(self.hub_db, "station-a"), nodes.token(self.hub_db, "station-b")
        data = os.path.join(self.dir, "records.jsonl")
        res["raw_json"] = write_records(data, range(size))
        log(f"{k(size)}: station import")
        res["import_s"] = nodes.station("import", "--db", self.a, "charity_stock", data).wall
        os.remove(data)
        # A's database as imported, for the repeated initial syncs (see `repeat_initial_sync`).
        self.a_imported = self.a + ".imported"
        for suffix in ("", "-wal"):
            if os.path.exists(self.a + suffix):
                shutil.copyfile(self.a + suffix, self.a_imported + suffix)
        self.hub = Hub(nodes, self.hub_db, os.path.join(self.dir, "hub"))
        self.hub.start()
        log(f"{k(size)}: initial sync, push")
        before = self.hub.cpu_seconds()
        push = nodes.sync(self.a, self.hub.url, self.ta)
        push["hub_cpu"] = self.hub.cpu_seconds() - before
        log(f"{k(size)}: initial sync, pull ({push['wall']:.1f} s for the push)")
        before = self.hub.cpu_seconds()
        pull = nodes.sync(self.b, self.hub.url, self.tb)
        pull["hub_cpu"] = self.hub.cpu_seconds() - before
        if push["pushed"] != size or pull["pulled"] != size:
            raise Failed(f"initial sync moved {push['pushed']} / {pull['pulled']} of {size} records")
        res.update(push=push, pull=pull, hub_rss_kib=self.hub.peak_rss_kib(), push_walls=[push["wall"]], pull_walls=[pull["wall"]])
        return self

    def repeat_initial_sync(self, r):
        """Round r of the initial sync again, from scratch: A as imported, a new hub, a new B. The
        figure is the median of the rounds (a machine shared with other work varies by ±10% from one
        run to the next, which one run cannot tell from a change in the code)."""
        nodes, size = self.nodes, self.size
        d = os.path.join(self.dir, f"again-{r}")
        os.makedirs(d)
        a, b, hub_db = (os.path.join(d, f) for f in ("a.sqlite", "b.sqlite", "hub.sqlite"))
        for suffix in ("", "-wal"):
            if os.path.exists(self.a_imported + suffix):
                shutil.copyfile(self.a_imported + suffix, a + suffix)
        nodes.new_station(b, "station-b")
        nodes.new_hub(hub_db)
        ta, tb = nodes.token(hub_db, "station-a"), nodes.token(hub_db, "station-b")
        with Hub(nodes, hub_db, os.path.join(d, "hub")) as hub:
            push, pull = nodes.sync(a, hub.url, ta), nodes.sync(b, hub.url, tb)
        if push["pushed"] != size or pull["pulled"] != size:
            raise Failed(f"initial sync moved {push['pushed']} / {pull['pulled']} of {size} records")
        self.res["push_walls"].append(push["wall"])
        self.res["pull_walls"].append(pull["wall"])
        shutil.rmtree(d, ignore_errors=True)

    def noop(self):
        """A syncs with nothing new on either side."""
        s = self.nodes.sync(self.a, self.hub.url, self.ta)
        if s["pushed"] or s["pulled"]:
            raise Failed("a sync with nothing new moved changes")
        self.res["noop"].append(s)

    def changes(self, r):
        """Round r: A updates --changes records spread over its database and syncs (push); then B
        syncs (pull). The import that makes the changes is not timed."""
        path = os.path.join(self.dir, f"changes-{r}.jsonl")
        write_records(path, random_ids(self.size, self.o.changes, seed=r), version=r + 1)
        self.nodes.station("import", "--db", self.a, "charity_stock", path)
        p, q = self.nodes.sync(self.a, self.hub.url, self.ta), self.nodes.sync(self.b, self.hub.url, self.tb)
        want = min(self.o.changes, self.size)
        if p["pushed"] != want or q["pulled"] != want:
            raise Failed(f"a round of {want} changes moved {p['pushed']} / {q['pulled']}")
        self.res["changes_push"].append(p)
        self.res["changes_pull"].append(q)

    def stop_hub(self):
        if self.hub:
            self.hub.stop()
            self.hub = None

    def plain_updates(self, r):
        """The plain-SQLite reference for the rounds, on B's database (the hub has stopped)."""
        ids = [stock_id(i) for i in random_ids(self.size, self.o.changes, seed=1000 + r)]
        self.res["plain_updates"].append(random_updates(self.b, ids))

    def floor(self, rounds):
        """The initial sync's floor (bench_floor.py), measured on A's rows and the sync's bytes:
        each part the median of `rounds`."""
        res = self.res
        log(f"{k(self.size)}: the floor (read rows, loopback transfer, plain inserts), {rounds} round(s)")
        res["wire_bytes"] = res["push"]["bytesSent"] + res["pull"]["bytesReceived"]
        reads, transfers, inserts = [], [], []
        for _ in range(rounds):
            rows, seconds = read_rows(self.a)
            reads.append(seconds)
            transfers.append(loopback_transfer(res["wire_bytes"]))
            inserts.append(plain_insert(os.path.join(self.dir, "plain-hub.sqlite"), rows) +
                           plain_insert(os.path.join(self.dir, "plain-b.sqlite"), rows))
        res["floor_read"] = statistics.median(reads)
        res["floor_transfer"] = statistics.median(transfers)
        res["floor_insert"] = statistics.median(inserts)

    def summarize(self):
        """Medians of the repeated measurements."""
        res = self.res
        res["noop_s"] = statistics.median(s["seconds"] for s in res["noop"])
        res["noop_wall"] = statistics.median(s["wall"] for s in res["noop"])
        res["changes_push_s"] = statistics.median(s["seconds"] for s in res["changes_push"])
        res["changes_pull_s"] = statistics.median(s["seconds"] for s in res["changes_pull"])
        res["plain_updates_s"] = statistics.median(res["plain_updates"])
        return res

    def remove(self):
        self.stop_hub()
        if not self.o.keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def datasets(nodes, o, sizes, work):
    """Every size's initial sync, then their incremental figures interleaved; returns the results
    by size."""
    sets = []
    try:
        for size in sorted(sizes):
            sets.append(Dataset(nodes, o, size, work).initial_sync())
        log(f"no-op syncs and rounds of {o.changes} changes, sizes interleaved")
        for _ in range(o.noops):
            for d in sets:
                d.noop()
        for r in range(o.rounds):
            for d in sets:
                d.changes(r)
        for d in sets:
            d.stop_hub()
        for r in range(o.rounds):
            for d in sets:
                d.plain_updates(r)
        for d in sets:
            if d.size == o.records and "sync" in o.only:
                for r in range(1, o.sync_rounds):
                    log(f"{k(d.size)}: initial sync again ({r + 1} of {o.sync_rounds})")
                    d.repeat_initial_sync(r)
                d.floor(o.sync_rounds)
        return {d.size: d.summarize() for d in sets}
    finally:
        for d in sets:
            d.remove()


# --- figures --------------------------------------------------------------------------------------

def figure(name, value, unit, goal="report", met=None, floor=None, ratio=None):
    def rounded(x):
        return x if x is None or isinstance(x, int) else round(x, 3) if abs(x) < 1000 else round(x)
    return {"name": name, "value": rounded(value), "unit": unit, "floor": rounded(floor), "ratio": rounded(ratio),
            "goal": goal, "met": met}


def mb(kib):
    return kib * 1024 / 1e6


def figures(o, writes, sets, stations):
    out = []
    if writes:
        # station-bench's own objects (new records, then updates of them), named with the size.
        names = {"local writes (new records)": f"local writes, {k(o.records)} new records with index, search, history and author, batches of 1000",
                 "local writes (updates of existing records)": f"local writes, {k(o.records)} updates of those records",
                 "local writes (new records, no history or author)": f"local writes, {k(o.records)} new records with index and search rows, no history",
                 "local writes (new records, no index, search or history rows)": f"local writes, {k(o.records)} new records with no index, search or history rows (before issue 15)"}
        for w in writes:
            out.append(figure(names.get(w["name"], w["name"]), w["value"], w["unit"], w["goal"], w["met"], w["floor"], w["ratio"]))
    if "sync" in o.only:
        s = sets[o.records]
        n = s["size"]
        push, pull = s["push"], s["pull"]
        # Medians of the rounds (the CPU, bytes and memory figures below are the first round's).
        push_wall, pull_wall = statistics.median(s["push_walls"]), statistics.median(s["pull_walls"])
        total = push_wall + pull_wall
        floor = s["floor_read"] + s["floor_transfer"] + s["floor_insert"]
        out += [
            figure(f"initial sync {k(n)} records station->hub->station (push+pull)", total, "s",
                   "<= 2x the floor", total / floor <= 2, floor, total / floor),
            figure(f"  floor: read the {k(n)} rows (Python sqlite3)", s["floor_read"], "s"),
            figure(f"  floor: raw loopback transfer of the sync's {s['wire_bytes'] / 1e6:.1f} MB", s["floor_transfer"], "s"),
            figure(f"  floor: plain insert at hub and station (Python sqlite3)", s["floor_insert"], "s"),
        ]
        for label, sec in (("push station->hub", push_wall), ("pull hub->new station", pull_wall),
                           ("end to end station->hub->station", total)):
            out.append(figure(f"initial sync throughput {k(n)}, {label}", n / sec, "records/s",
                              ">= 50,000 records/s", n / sec >= 50_000))
        # Where the time goes: each side's CPU seconds (the sync is request/response, so they add up
        # to about the wall time when neither waits for anything else).
        for step, summary in (("push", push), ("pull", pull)):
            out += [figure(f"  {step}: CPU of the station process", summary["cpu"], "s"),
                    figure(f"  {step}: CPU of the hub process", summary["hub_cpu"], "s")]
        out += [
            figure("wire bytes per record pushed (gzip) vs raw JSON of its fields", push["bytesSent"] / n, "bytes",
                   floor=s["raw_json"], ratio=push["bytesSent"] / n / s["raw_json"]),
            figure("wire bytes per record pulled (gzip) vs raw JSON of its fields", pull["bytesReceived"] / n, "bytes",
                   floor=s["raw_json"], ratio=pull["bytesReceived"] / n / s["raw_json"]),
        ]
    if "scale" in o.only:
        small, big = sets[o.small], sets[o.big]
        sk, bk = k(o.small), k(o.big)
        ms_small, ms_big = small["noop_s"] * 1000, big["noop_s"] * 1000
        r = ms_big / ms_small
        out += [
            figure(f"no-op sync, {sk} records (in process)", ms_small, "ms", "< 10 ms", ms_small < 10),
            figure(f"no-op sync, {bk} / {sk} records (in process)", ms_big, "ms", "<= 1.2x and < 10 ms",
                   r <= 1.2 and ms_big < 10, ms_small, r),
            figure(f"no-op sync, {bk} / {sk} records (whole command)", big["noop_wall"] * 1000, "ms",
                   floor=small["noop_wall"] * 1000, ratio=big["noop_wall"] / small["noop_wall"]),
        ]
        for label, key in (("pushed to a hub holding", "changes_push_s"), ("pulled into a station holding", "changes_pull_s")):
            a, b = small[key] * 1000, big[key] * 1000
            out.append(figure(f"{o.changes} new changes {label} {bk} / {sk} (in process)", b, "ms",
                              "<= 1.5x", b / a <= 1.5, a, b / a))
        a, b = small["plain_updates_s"] * 1000, big["plain_updates_s"] * 1000
        out.append(figure(f"  reference: plain SQLite, read and write {o.changes} random records, {bk} / {sk}", b, "ms",
                          floor=a, ratio=b / a))
        rss = [("station pushing", big["push"]["max_rss_kib"]), ("station pulling", big["pull"]["max_rss_kib"]),
               ("hub (push and pull)", big["hub_rss_kib"])]
        for label, kib in rss:
            out.append(figure(f"peak RSS during the {bk} initial sync, {label}", mb(kib), "MB", "<= 200 MB", mb(kib) <= 200))
        out += [
            figure(f"station import of {bk} records (JSON Lines)", big["import_s"], "s"),
            figure(f"initial sync throughput {bk}, push station->hub", o.big / big["push"]["wall"], "records/s"),
            figure(f"initial sync throughput {bk}, pull hub->new station", o.big / big["pull"]["wall"], "records/s"),
        ]
    if stations:
        n, c = o.stations, o.changes
        p, q = stations["protocol"], stations["processes"]
        for run, errors in (("protocol client", p["errors"]), ("`station sync`", q["errors"])):
            for err in errors[:5]:
                log(f"failed sync ({run}): {err}")
            if len(errors) > 5:
                log(f"... and {len(errors) - 5} more failed ({run})")
        out.append(figure(f"{n} stations syncing at once, {c} changes each (protocol client): succeeded",
                          len(p["seconds"]), "syncs", f"all {n} succeed", len(p["seconds"]) == n))
        if p["seconds"]:
            p50, p99 = percentile(p["seconds"], 50) * 1000, percentile(p["seconds"], 99) * 1000
            out += [figure("  p50 latency of a station's sync", p50, "ms"),
                    figure("  p99 latency of a station's sync", p99, "ms", "< 250 ms", p99 < 250),
                    figure("  p99 of its session and push steps", percentile(p["push_s"], 99) * 1000, "ms"),
                    figure("  p99 of its pull step", percentile(p["pull_s"], 99) * 1000, "ms"),
                    figure("  GET /v1/changes requests per pull (mean)", statistics.mean(p["pull_requests"]), "requests")]
        out.append(figure(f"{n} `station sync` processes at once, {c} changes each: succeeded",
                          len(q["seconds"]), "syncs", f"all {n} succeed", len(q["seconds"]) == n))
        if q["seconds"]:
            out += [figure("  p50 in-process seconds", percentile(q["seconds"], 50) * 1000, "ms"),
                    figure("  p99 in-process seconds", percentile(q["seconds"], 99) * 1000, "ms"),
                    figure("  p99 whole command", percentile(q["wall"], 99) * 1000, "ms")]
        out.append(figure(f"peak RSS of the hub serving {n} stations at once", mb(stations["hub_rss_kib"]), "MB"))
    return out


def show(value):
    if value is None:
        return "-"
    if isinstance(value, int):
        return f"{value:,}"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def table(rows):
    head = ("figure", "value", "floor", "ratio", "goal", "met")
    body = [(r["name"], f"{show(r['value'])} {r['unit']}", show(r["floor"]), "-" if r["ratio"] is None else f"{r['ratio']:.2f}x",
             r["goal"], {True: "yes", False: "NO", None: "-"}[r["met"]]) for r in rows]
    widths = [max(len(x[i]) for x in [head] + body) for i in range(len(head))]
    line = lambda cells: "  ".join(c.ljust(w) if i in (0, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    print(line(head))
    print("  ".join("-" * w for w in widths))
    for b in body:
        print(line(b))


def plot(path, sets, changes):
    """Sync time against database size; skipped quietly without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("no matplotlib: no plot")
        return
    sizes = sorted(sets)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    left.plot(sizes, [sets[s]["push"]["wall"] for s in sizes], "o-", label="initial sync, push station→hub")
    left.plot(sizes, [sets[s]["pull"]["wall"] for s in sizes], "s-", label="initial sync, pull hub→new station")
    left.set(xscale="log", yscale="log", xlabel="records", ylabel="seconds", title="initial sync")
    right.plot(sizes, [sets[s]["noop_s"] * 1000 for s in sizes], "o-", label="no-op sync (in process)")
    right.plot(sizes, [sets[s]["changes_push_s"] * 1000 for s in sizes], "s-", label=f"{changes} new changes, push")
    right.plot(sizes, [sets[s]["changes_pull_s"] * 1000 for s in sizes], "^-", label=f"{changes} new changes, pull")
    right.set(xscale="log", xlabel="records in the databases", ylabel="milliseconds", title="incremental sync")
    right.set_ylim(bottom=0)
    for ax in (left, right):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"StationSync on loopback, release build, {os.cpu_count()} cores")
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    log(f"plot: {path}")


def source_state():
    """The commit measured, and how many files the working tree changes on top of it."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        changed = subprocess.run(["git", "-C", root, "status", "--porcelain", "--untracked-files=no"],
                                 capture_output=True, text=True).stdout.splitlines()
    except OSError:
        return "source unknown"
    return f"commit {commit or '?'}" + (f" + {len(changed)} changed files" if changed else "")


def main():
    o = options()
    nodes = Nodes(o.bin_dir)
    work = tempfile.mkdtemp(prefix="stationsync-bench-")
    started = time.time()
    load = os.getloadavg()[0]
    try:
        writes = local_writes(nodes, o) if "writes" in o.only else None
        query_rows = queries(nodes, o) if "queries" in o.only else []
        sizes = set()
        if "sync" in o.only:
            sizes.add(o.records)
        if "scale" in o.only:
            sizes |= {o.small, 10_000, o.records, o.big}
        sets = datasets(nodes, o, sizes, work) if sizes else {}
        stations = None
        if "stations" in o.only:
            log(f"{o.stations} stations at once, {o.changes} changes each")
            stations = concurrent(nodes, os.path.join(work, "stations"), o.stations, o.changes)
    except Failed as e:
        sys.exit(f"bench: {e}")
    finally:
        if not o.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log(f"kept {work}")
    rows = figures(o, writes, sets, stations)
    at = len(writes or [])  # after the local writes, in station-bench's order
    for q in query_rows:
        rows.insert(at, figure(q["name"], q["value"], q["unit"], q.get("goal", "report"), q.get("met")))
        at += 1
    print(f"\nStationSync benchmarks: release build of {source_state()}, loopback, {os.cpu_count()} cores, "
          f"{platform.platform()}, {time.time() - started:.0f} s, load average {load:.1f} at start and "
          f"{os.getloadavg()[0]:.1f} at the end\n")
    table(rows)
    with open(o.out, "w") as f:
        # The table indents the rows that explain the one above; the JSON names stand alone.
        json.dump([{**r, "name": r["name"].strip()} for r in rows], f, indent=1)
        f.write("\n")
    print(f"\nwrote {o.out}")
    if o.plot and "scale" in o.only:
        plot(o.plot, sets, o.changes)
    unmet = [r["name"].strip() for r in rows if r["met"] is False]
    if unmet:
        print(f"{len(unmet)} goal{'s' if len(unmet) != 1 else ''} not met: " + "; ".join(unmet))


if __name__ == "__main__":
    main()
