"""Running the real `hub` and `station` executables for tools/bench, with their wall time and
peak memory.

Peak RSS comes from the kernel: `os.wait4` returns the child's rusage (`ru_maxrss`, the same number
`/usr/bin/time -v` prints as "Maximum resident set size"), and a long-running hub's peak so far is
`VmHWM` in /proc/PID/status.
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time


sys.path.insert(0, os.path.dirname(__file__))
import cluster  # noqa: E402
# A command the benchmark needs did not succeed (the same error the other drivers raise).
from cluster import CommandError as Failed  # noqa: E402


class Run:
    """What one finished process printed, how long it took and its peak memory."""

    def __init__(self, stdout, wall, cpu, max_rss_kib):
        self.stdout = stdout
        self.wall = wall  # seconds, from before the fork to after the exit
        self.cpu = cpu  # CPU seconds, user + system
        self.max_rss_kib = max_rss_kib


def run(*cmd, stdin_path=None):
    """Runs a command to completion; raises Failed (with its stderr) if it exits non-zero."""
    with tempfile.TemporaryFile() as err, open(stdin_path or os.devnull, "rb") as stdin:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, stdin=stdin)
        out = proc.stdout.read()
        proc.stdout.close()
        # wait4 rather than Popen.wait: it also returns this one child's resource usage.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            raise Failed(f"{' '.join(cmd)} exited {proc.returncode}: {err.read().decode(errors='replace').strip()}")
        return Run(out.decode(), wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


class Nodes:
    """The executables in one build directory."""

    def __init__(self, bin_dir):
        self.station_bin = os.path.join(bin_dir, "station")
        self.hub_bin = os.path.join(bin_dir, "hub")
        self.bench_bin = os.path.join(bin_dir, "station-bench")

    def station(self, *args, **kw):
        return run(self.station_bin, *args, **kw)

    def hub(self, *args, **kw):
        return run(self.hub_bin, *args, **kw)

    def new_station(self, db, node):
        self.station("init", "--db", db, "--node", node)

    def new_hub(self, db):
        self.hub("init", "--db", db)

    def token(self, hub_db, station, *extra):
        return self.hub("token", "add", "--db", hub_db, station, *extra).stdout.strip()

    def sync(self, db, url, token, batch_size=None):
        """`station sync --json`: the summary (with `seconds`, the in-process time) plus `wall`
        (the whole command) and `max_rss_kib` (the station process's peak memory)."""
        args = ["sync", "--db", db, "--peer", url, "--token", token, "--json"]
        if batch_size:
            args += ["--batch-size", str(batch_size)]
        r = self.station(*args)
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        summary["wall"] = r.wall
        summary["cpu"] = r.cpu
        summary["max_rss_kib"] = r.max_rss_kib
        return summary


class Hub(cluster.Hub):
    """`hub serve` on a free loopback port (cluster.Hub), as a context manager, with its CPU time
    and peak memory."""

    def __init__(self, nodes, db, log_path, extra=()):
        super().__init__(nodes.hub_bin, db, log_path + ".log", extra)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def cpu_seconds(self):
        """CPU time the hub has used so far, user + system."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_kib(self):
        """The hub's peak resident memory since it started (VmHWM)."""
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise Failed("no VmHWM in /proc status")


# --- data ---------------------------------------------------------------------------------------

CATEGORIES = ["grain", "oil", "clothing", "daily"]


def stock_fields(i, version=0):
    """The fields of charity-supermarket stock item i (the same shape as station-bench's rows).
    A later `version` changes its quantity and location: an update of the record."""
    return {"itemName": f"Item {i} rice 5kg bag", "category": CATEGORIES[i % 4], "unit": "bag",
            "quantity": (i + version * 7) % 50, "pointsPrice": 10 + i % 90, "shelf": f"Shelf {(i + version) % 40}"}


def stock_id(i, prefix="stk"):
    return f"{prefix}-{i:07d}"


def write_records(path, ids, version=0, prefix="stk"):
    """Writes `station import` JSON Lines for stock items `ids`; returns the mean size of the raw
    JSON of a record's fields (compact, as an application would send them)."""
    raw = 0
    with open(path, "w") as f:
        for i in ids:
            fields = stock_fields(i, version)
            raw += len(json.dumps(fields, separators=(",", ":")))
            f.write(json.dumps({"id": stock_id(i, prefix), **fields}, separators=(",", ":")) + "\n")
    return raw / max(1, len(ids))


def random_ids(n_records, k, seed):
    """k distinct record numbers spread over the whole database (updates land all over the
    B-trees, not in one hot page)."""
    return sorted(random.Random(seed).sample(range(n_records), min(k, n_records)))


def log(msg):
    print(f"  {msg}", file=sys.stderr, flush=True)
