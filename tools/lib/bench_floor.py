"""The physical floor of an initial sync, measured in the same run on the same machine.

An initial sync moves N records from station A through the hub to station B. Whatever the
protocol, that takes at least:

  1. reading the rows out of A's database            (read_rows)
  2. moving the bytes over loopback, both hops       (loopback_transfer: as many bytes as the sync
                                                      put on the wire, gzip included, raw TCP)
  3. inserting the rows at the hub and at B          (plain_insert, twice: Python's sqlite3 with
                                                      executemany into a plain table, batches of
                                                      1000 per transaction, WAL, like the store)

Each step is the plain version with no sync logic: no clocks, no merging, no change feed, no JSON
parsing, no HTTP. Python's sqlite3 runs the inserts in C (executemany); its per-row overhead makes
the floor slightly higher, never lower, than a C program's.
"""
import os
import socket
import sqlite3
import statistics
import threading
import time


def read_rows(db_path):
    """Reads every record's stored state in change-feed order, as `station export` would.
    Returns (rows, seconds) with rows = [(collection, id, state_text)]."""
    started = time.perf_counter()
    con = sqlite3.connect(db_path)
    rows = con.execute("SELECT collection, id, state FROM record ORDER BY seq").fetchall()
    con.close()
    return rows, time.perf_counter() - started


def plain_insert(db_path, rows, batch=1000):
    """Inserts rows into a new plain table in transactions of `batch`; returns seconds."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)
    con = sqlite3.connect(db_path, isolation_level=None)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE plain (collection TEXT NOT NULL, id TEXT NOT NULL, state TEXT NOT NULL, "
                "PRIMARY KEY (collection, id)) WITHOUT ROWID")
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        con.execute("BEGIN IMMEDIATE")
        con.executemany("INSERT INTO plain (collection, id, state) VALUES (?, ?, ?)", rows[start:start + batch])
        con.execute("COMMIT")
    seconds = time.perf_counter() - started
    con.close()
    return seconds


def loopback_transfer(n_bytes, repeats=3):
    """Sends n_bytes through one TCP connection on 127.0.0.1 to a sink that reads until EOF; the
    median of `repeats` runs, each from connect() to the sink's last byte, in seconds."""
    payload = memoryview(os.urandom(min(n_bytes, 1 << 20)))
    times = []
    for _ in range(repeats):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        received = [0]

        def sink():
            conn, _ = server.accept()
            buf = bytearray(1 << 20)
            while True:
                n = conn.recv_into(buf)
                if n == 0:
                    break
                received[0] += n
            conn.close()

        t = threading.Thread(target=sink)
        t.start()
        started = time.perf_counter()
        client = socket.create_connection(server.getsockname())
        left = n_bytes
        while left > 0:
            chunk = payload[:min(left, len(payload))]
            client.sendall(chunk)
            left -= len(chunk)
        client.shutdown(socket.SHUT_WR)
        t.join()
        times.append(time.perf_counter() - started)
        client.close()
        server.close()
        assert received[0] == n_bytes, (received[0], n_bytes)
    return statistics.median(times)


def random_updates(db_path, ids):
    """What a plain SQLite program pays for changing `len(ids)` records spread over a station's
    database: a new connection (as a new `station` process has), then in one transaction each
    record's state read by primary key and written back. Returns seconds. The reference for the
    "100 new changes into 1M ÷ 1k" figures: with a cold page cache, a B-tree lookup in a bigger
    table touches more pages, whatever the sync does."""
    con = sqlite3.connect(db_path, isolation_level=None)
    started = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    for record_id in ids:
        (state,) = con.execute("SELECT state FROM record WHERE collection = 'charity_stock' AND id = ?", (record_id,)).fetchone()
        con.execute("UPDATE record SET state = ? WHERE collection = 'charity_stock' AND id = ?", (state, record_id))
    con.execute("COMMIT")
    seconds = time.perf_counter() - started
    con.close()
    return seconds
