"""Real hub and station processes on loopback, for the long-run scripts (faults.py, crashes.py).

Everything runs the project's executables from a build folder; databases are read directly with
Python's sqlite3 module (read-only) to compare replicas.
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import time
import urllib.request


class CommandError(Exception):
    pass


class Tools:
    """The `hub` and `station` executables of one build folder."""

    def __init__(self, bin_dir):
        self.hub = os.path.join(bin_dir, "hub")
        self.station = os.path.join(bin_dir, "station")
        for path in (self.hub, self.station):
            if not os.access(path, os.X_OK):
                raise SystemExit(f"{path} is missing: build it first")

    def run(self, *cmd, check=True, timeout=600):
        p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=timeout,
                           env={**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "error")})
        if check and p.returncode != 0:
            raise CommandError(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
        return p


class Hub:
    """A `hub serve` process on a loopback port (a free one at first, the same one on restart)."""

    def __init__(self, hub_bin, db, log):
        self.hub_bin, self.db, self.log = hub_bin, db, log
        self.proc = None
        self.port = 0

    def start(self, timeout=60):
        out = open(self.log, "a+")
        start = out.tell()
        self.proc = subprocess.Popen(
            [self.hub_bin, "serve", "--db", self.db, "--listen", f"127.0.0.1:{self.port}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, "LOG_LEVEL": os.environ.get("LOG_LEVEL", "warning")})
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                out.seek(start)
                raise CommandError(f"hub exited with {self.proc.returncode}:\n{out.read()[-3000:]}")
            out.seek(start)
            m = re.search(r"listening on http://127\.0\.0\.1:(\d+)", out.read())
            if m and self.healthy(int(m.group(1))):
                self.port = int(m.group(1))
                return self
            time.sleep(0.05)
        raise CommandError("hub did not start")

    @staticmethod
    def healthy(port):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=2).read()
            return True
        except OSError:
            return False

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def kill(self):
        """SIGKILL: no shutdown, no checkpoint, exactly like a power cut for the process."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def records(db, collection=None):
    """{(collection, id): state} of a node's database, read-only."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        sql = "SELECT collection, id, state FROM record"
        rows = conn.execute(sql + " WHERE collection = ?", (collection,)) if collection else conn.execute(sql)
        return {(c, i): s for c, i, s in rows}
    finally:
        conn.close()


def count(db, collection):
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute("SELECT count(*) FROM record WHERE collection = ?", (collection,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet
    finally:
        conn.close()


def integrity(db):
    """`PRAGMA integrity_check` of a database whose writer is gone (recovers a hot WAL)."""
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def fields(state_text):
    """The current fields of a canonical record state: name -> sorted list of concurrent values."""
    state = json.loads(state_text)
    out = {}
    for name, values in state.get("fields", {}).items():
        out[name] = values
    return state, out
