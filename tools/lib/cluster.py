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

import servers


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

    def __init__(self, hub_bin, db, log, extra=()):
        self.hub_bin, self.db, self.log = hub_bin, db, log
        self.server = servers.Server([hub_bin, "serve", "--db", db, "--listen", "127.0.0.1:0", *extra], log,
                                     env={"LOG_LEVEL": os.environ.get("LOG_LEVEL", "warning")})

    @property
    def proc(self):
        return self.server.proc

    @property
    def port(self):
        return self.server.port

    def start(self, timeout=60):
        try:
            self.server.start(timeout)
        except servers.ServerError as e:
            raise CommandError(str(e))
        return self

    @property
    def url(self):
        return self.server.url

    def kill(self):
        """SIGKILL: no shutdown, no checkpoint, exactly like a power cut for the process."""
        self.server.kill()

    def stop(self):
        self.server.stop()


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
