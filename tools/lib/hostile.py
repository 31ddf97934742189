#!/usr/bin/env python3
"""Hostile input against the real hub (issue 5).

Starts the real `hub` on a free loopback port (temporary directory, `hub init`, tokens for
`hotline`, `civil-affairs`, a write-limited `charity`, a read-only `auditor` and one revoked
token), seeds records through `station sync`, then sends hand-written hostile requests with
http.client and checks every answer: a 4xx (never a 5xx, a dropped connection or a dead hub) with
a JSON body {"error": CODE, "message": TEXT}, and the hub's data unchanged (a digest of the whole
change feed as the auditor pulls it, and `hub token list --json` at the start and the end).
A few cases are accepted on purpose (a state older than the hub's is `unchanged`, 200; an SQL-looking
record id is stored literally); they are checked for what they must do instead.

Then, when schemathesis is importable (tools/lib/hostile.sh installs it), runs it against the live
hub with Protocol/openapi.yaml (checks not_a_server_error and response_schema_conformance) and checks
the hub is still alive and answering.

Usage: hostile.py BIN_DIR [--count N] [--schemathesis PATH] [--no-schemathesis] [--verbose]
  --count N   schemathesis examples per operation (default 20, about 570 requests; 300 gives about 3500)
  --verbose   print every case's status and answer
Cases listed in KNOWN_ISSUES are known bugs in Sources/: reported, not failing (remove when fixed).
HOSTILE_KEEP=1 keeps the temporary directory (hub log, schemathesis output and report).
Prints `hostile: N requests, 0 5xx, 0 crashes, 0 data changes` and exits non-zero on any violation.
"""
import argparse
import gzip
import hashlib
import http.client
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib

import servers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Cases whose violation is a known bug in Sources/, reported to the lead: listed, not failing.
# Remove an entry once the bug is fixed.
KNOWN_ISSUES = {
    # "case name": "what is wrong and where",
}


VERBOSE = False


class Fatal(Exception):
    pass


def now_hlc(offset_ms=0):
    return (int(time.time() * 1000) + offset_ms) << 16


class Hub:
    def __init__(self, bin_dir):
        self.hub_bin = os.path.join(bin_dir, "hub")
        self.station_bin = os.path.join(bin_dir, "station")
        for b in (self.hub_bin, self.station_bin):
            if not os.access(b, os.X_OK):
                raise Fatal(f"{b} is not an executable (run swift build first)")
        self.work = tempfile.mkdtemp(prefix="stationsync-hostile-")
        self.db = os.path.join(self.work, "hub.sqlite")
        self.proc = None
        self.port = None
        self.tokens = {}

    def run(self, *cmd):
        p = subprocess.run(list(cmd), capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        if p.returncode != 0:
            raise Fatal(f"command failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
        return p.stdout

    def setup(self):
        self.run(self.hub_bin, "init", "--db", self.db)
        for name, extra in (("hotline", []), ("civil-affairs", []), ("charity", ["--read", "charity_stock", "--write", "charity_stock"]),
                            ("auditor", ["--write", "charity_stock"]), ("dropbox", ["--read", "charity_stock", "--write", "mediation_cases"]),
                            ("ghost", [])):
            self.tokens[name] = self.run(self.hub_bin, "token", "add", "--db", self.db, name, *extra).strip()
        self.run(self.hub_bin, "token", "revoke", "--db", self.db, "ghost")

    def start(self):
        self.err_path = os.path.join(self.work, "hub.err")
        server = servers.Server([self.hub_bin, "serve", "--db", self.db, "--listen", "127.0.0.1:0"],
                                os.path.join(self.work, "hub.out"), self.err_path)
        try:
            server.start(timeout=30)
        except servers.ServerError as e:
            raise Fatal(str(e))
        self.proc, self.port = server.proc, server.port

    def tail(self, lines=20):
        try:
            return "".join(open(self.err_path, errors="replace").readlines()[-lines:])
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def station(self, node, *args):
        db = os.path.join(self.work, f"{node}.sqlite")
        return self.run(self.station_bin, *args, "--db", db)

    def seed(self):
        url = f"http://127.0.0.1:{self.port}"
        self.station("hotline", "init", "--node", "hotline")
        self.station("hotline", "put", "charity_stock", "stk-0001", '{"itemName": "Rice 5kg", "quantity": 10}')
        self.station("hotline", "add", "charity_stock", "stk-0001", "quantity", "-2")
        self.station("hotline", "put", "hotline_calls", "call-0001", '{"callerName": "Wang", "status": "open"}')
        self.station("hotline", "sync", "--peer", url, "--token", self.tokens["hotline"])
        self.station("civil-affairs", "init", "--node", "civil-affairs")
        self.station("civil-affairs", "put", "mediation_cases", "med-0001",
                     '{"partyA": "Li", "partyB": "Zhao", "status": "open", "mediator": "Chen"}')
        self.station("civil-affairs", "sync", "--peer", url, "--token", self.tokens["civil-affairs"])

    def writer(self, node):
        """The name `node`'s database writes under (`station info --json`)."""
        return json.loads(self.station(node, "info", "--json"))["writer"]

    def token_list(self):
        return self.run(self.hub_bin, "token", "list", "--db", self.db, "--json")


def request(port, method, path, headers=None, body=None, timeout=60):
    """One request on a fresh connection: (status, headers, body bytes). Raises OSError /
    http.client exceptions on a dropped connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        headers = dict(headers or {})
        if body is not None and not any(k.lower() == "content-length" for k in headers):
            headers["Content-Length"] = str(len(body))
        for k, v in headers.items():
            conn.putheader(k, v)
        conn.endheaders()
        send_error = None
        if body is not None:
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError) as e:
                # The server may answer (413) and close before reading a huge body: read the answer.
                send_error = e
        try:
            resp = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError) as e:
            raise send_error or e
        data = resp.read()
        return resp.status, dict(resp.getheaders()), data
    finally:
        conn.close()


class Runner:
    def __init__(self, hub):
        self.hub = hub
        self.requests = 0
        self.cases = 0
        self.server_errors = []
        self.crashes = []
        self.data_changes = []
        self.violations = []  # (case, problem)
        self.known = []
        self.notes = []
        self.parser_refusals = []  # malformed HTTP refused by the HTTP layer itself (no JSON body)
        self.digest_value = None

    def auth(self, who):
        return {"Authorization": f"Bearer {self.hub.tokens[who]}"}

    def pull_all(self, who="auditor"):
        since, out = "", []
        while True:
            status, _, body = request(self.hub.port, "GET", f"/v1/changes?limit=1000&since={urllib.parse.quote(since)}", self.auth(who))
            if status != 200:
                raise Fatal(f"the auditor's pull answered {status}: {body[:300]!r}")
            page = json.loads(body)
            out.extend(page["changes"])
            since = page["next"]
            if not page["more"]:
                return out, since

    def digest(self):
        changes, cursor = self.pull_all()
        h = hashlib.sha256()
        h.update(cursor.encode())
        for c in changes:
            h.update(json.dumps(c, sort_keys=True).encode())
        return h.hexdigest()

    def state_of(self, collection, rid):
        for c in self.pull_all()[0]:
            if c["collection"] == collection and c["id"] == rid:
                return c["state"]
        raise Fatal(f"{collection}/{rid} not on the hub")

    def raw(self, name, data, expect, half_close=False):
        """A raw-socket case: the answer (None = closed without one) must be in `expect`, a 4xx
        must carry the JSON error body, the hub must live on and its data stay unchanged."""
        if self.digest_value is None:
            self.digest_value = self.digest()
        self.requests += 1
        self.cases += 1
        try:
            status, body = raw_exchange(self.hub.port, data, half_close=half_close)
        except OSError as e:
            status, body = None, b""
            if None not in expect:
                self.fail(name, f"no answer: {e}")
        time.sleep(0.02)
        if VERBOSE:
            print(f"  {status} {name} (raw): {body[:160]!r}")
        if not self.hub.alive():
            self.crashes.append(name)
            self.fail(name, f"the hub died (exit {self.hub.proc.returncode}): {self.hub.tail()}")
            raise Fatal(f"the hub died on case {name!r}; stopping")
        if status is not None and status >= 500:
            self.server_errors.append(name)
        if status not in expect:
            self.fail(name, f"status {status}, expected {expect}: {body[:300]!r}")
        if status is not None and 400 <= status < 500 and not body:
            self.parser_refusals.append(f"{name} ({status})")
        elif status is not None and 400 <= status < 500:
            try:
                parsed = json.loads(body)
                if not (isinstance(parsed, dict) and parsed.get("error") and parsed.get("message")):
                    raise ValueError
            except ValueError:
                self.notes.append(f"{name}: {status} from the HTTP layer without the JSON error body: {body[:120]!r}")
        if request(self.hub.port, "GET", "/v1/health")[0] != 200:
            self.fail(name, "the hub stopped answering /v1/health")
        after = self.digest()
        if after != self.digest_value:
            self.data_changes.append(name)
            self.fail(name, "the hub's data changed")
        self.digest_value = after

    def slow_clients(self, name, n):
        """n connections each holding half a request: the hub must keep answering others."""
        import socket
        socks = []
        self.requests += n
        self.cases += 1
        try:
            for i in range(n):
                # From four loopback addresses: one address may hold at most 128 connections.
                s = socket.create_connection(("127.0.0.1", self.hub.port), timeout=10, source_address=(f"127.0.0.{2 + i % 4}", 0))
                s.sendall(b"POST /v1/changes HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"node\": ")
                socks.append(s)
            t0 = time.time()
            status = request(self.hub.port, "GET", "/v1/health", timeout=10)[0]
            took = time.time() - t0
            if VERBOSE:
                print(f"  {status} {name}: health answered in {took * 1000:.0f} ms with {n} stalled connections")
            if status != 200 or took > 5:
                self.fail(name, f"health answered {status} in {took:.1f} s with {n} stalled connections")
        except OSError as e:
            self.fail(name, f"{type(e).__name__}: {e}")
        finally:
            for s in socks:
                s.close()
        time.sleep(0.1)
        if not self.hub.alive():
            self.crashes.append(name)
            raise Fatal(f"the hub died on case {name!r}")
        after = self.digest()
        if after != self.digest_value:
            self.data_changes.append(name)
            self.fail(name, "the hub's data changed")
        self.digest_value = after

    def fail(self, name, problem):
        if name in KNOWN_ISSUES:
            self.known.append((name, problem))
        else:
            self.violations.append((name, problem))

    def case(self, name, method, path, headers=None, body=None, expect=(400,), code=None, mutates=False, check=None):
        """Sends one hostile request and checks the answer and that nothing changed.
        expect: the acceptable statuses; code: the expected error code for a 4xx;
        mutates: the request is allowed to change data (then `check` verifies what it did)."""
        if self.digest_value is None:
            self.digest_value = self.digest()
        self.requests += 1
        self.cases += 1
        if isinstance(body, str):
            body = body.encode()
        try:
            status, rh, data = request(self.hub.port, method, path, headers, body)
        except Exception as e:  # noqa: BLE001 - any failure to get an answer is a violation
            status, rh, data = None, {}, b""
            problem = f"no answer: {type(e).__name__}: {e}"
        time.sleep(0.01)
        if not self.hub.alive():
            self.crashes.append(name)
            self.fail(name, f"the hub died (exit {self.hub.proc.returncode}): {self.hub.tail()}")
            raise Fatal(f"the hub died on case {name!r}; stopping")
        if status is None:
            self.crashes.append(name)
            self.fail(name, problem)
            return None, None
        shown = data[:300].decode("utf-8", "replace")
        if VERBOSE:
            print(f"  {status} {name}: {shown[:160]}")
        parsed = None
        if status >= 500:
            self.server_errors.append(name)
            self.fail(name, f"{status} {shown}")
        if status not in expect:
            self.fail(name, f"status {status}, expected {'/'.join(map(str, expect))}: {shown}")
        if status >= 400:
            try:
                parsed = json.loads(data)
                ok = isinstance(parsed, dict) and isinstance(parsed.get("error"), str) and isinstance(parsed.get("message"), str) and parsed["message"]
            except ValueError:
                ok = False
            if not ok:
                self.fail(name, f"{status} without a JSON error body: {shown}")
            elif code and parsed["error"] not in ((code,) if isinstance(code, str) else code):
                self.fail(name, f"error {parsed['error']!r}, expected {code!r}: {shown}")
            if "application/json" not in rh.get("Content-Type", rh.get("content-type", "")):
                self.fail(name, f"{status} with Content-Type {rh.get('Content-Type')!r}")
        else:
            try:
                parsed = json.loads(data)
            except ValueError:
                pass
        after = self.digest()
        if after != self.digest_value:
            if mutates and status is not None and status < 300:
                if check:
                    problem = check(status, parsed)
                    if problem:
                        self.fail(name, problem)
            else:
                self.data_changes.append(name)
                self.fail(name, f"the hub's data changed (status {status}: {shown})")
        elif mutates and check and status is not None and status < 300:
            problem = check(status, parsed)
            if problem:
                self.fail(name, problem)
        self.digest_value = after
        return status, parsed


# Numbers beyond 64 bits are refused by the JSON reader (bad_request) before state validation.
EITHER = ("bad_request", "invalid_state")


def raw_exchange(port, data, half_close=False, timeout=20):
    """Sends raw bytes and reads until the server closes or a full response arrived: the status
    (None if the server closed without answering) and the body."""
    import socket
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        while True:
            try:
                part = sock.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not part:
                break
            buf += part
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if sep:
                m = re.search(rb"content-length:\s*(\d+)", head, re.I)
                if m and len(rest) >= int(m.group(1)):
                    break
        m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
        return (int(m.group(1)) if m else None), buf.partition(b"\r\n\r\n")[2]
    finally:
        sock.close()


# The writer names the stations' databases write under (filled in by run_cases): a push names its
# database, and the hub takes pushes as a node from one database only (node_taken otherwise).
WRITERS = {}


def push_body(node, changes, **extra):
    if "writer" not in extra and node in WRITERS:
        extra = {"writer": WRITERS[node], **extra}
    return json.dumps({"node": node, "changes": changes, **extra})


def conflict_id(collection, rid, field, dots):
    """A conflict's id as every node computes it (Conflict.makeID): 64-bit FNV-1a over the
    collection, record, field and the sorted dots, each part followed by a zero byte."""
    h = 0xcbf29ce484222325
    def add(part):
        nonlocal h
        for b in part.encode() + b"\0":
            h ^= b
            h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    for part in (collection, rid, field):
        add(part)
    for node, counter in sorted(dots, key=lambda d: (d[0].encode(), d[1])):
        add(node)
        add(str(counter))
    return f"{h:016x}"


def change(collection, rid, state):
    return {"collection": collection, "id": rid, "state": state}


def simple_state(node="hotline", counter=1, fields=None, hlc=None, alive=True):
    hlc = now_hlc() if hlc is None else hlc
    fields = {"name": "hostile"} if fields is None else fields
    return {"clock": {node: counter}, "exists": [[node, counter, hlc, alive]],
            "fields": {k: [[node, counter, hlc, v]] for k, v in fields.items()}}


def run_cases(r):
    hub = r.hub
    for node in ("hotline", "civil-affairs"):
        WRITERS[node] = hub.writer(node)
    H = r.auth("hotline")
    HJ = {**H, "Content-Type": "application/json"}
    P = "/v1/changes"

    def push(name, payload, expect=(400,), code=None, headers=None, **kw):
        return r.case(name, "POST", P, headers or HJ, payload if isinstance(payload, (bytes, str)) else json.dumps(payload),
                      expect=expect, code=code, **kw)

    def push1(name, state, expect=(400,), code="invalid_state", collection="charity_stock", rid="hostile-1", node="hotline", headers=None, **kw):
        return push(name, push_body(node, [change(collection, rid, state)]), expect, code, headers, **kw)

    # ---- malformed JSON and wrong shapes ------------------------------------------------------
    push("malformed JSON", '{"node": "hotline", "changes": [', code="bad_request")
    push("empty body", b"", code="bad_request")
    push("not JSON at all", b"hello", code="bad_request")
    push("body is an array", "[]", code="bad_request")
    push("body is null", "null", code="bad_request")
    push("trailing garbage", push_body("hotline", []) + "xyz", code="bad_request")
    push("node is a number", {"node": 7, "changes": []}, code="bad_request")
    push("node missing", {"changes": []}, code="bad_request")
    push("changes missing", {"node": "hotline"}, code="bad_request")
    push("changes is an object", {"node": "hotline", "changes": {}}, code="bad_request")
    push("change is a string", {"node": "hotline", "changes": ["x"]}, code="bad_request")
    push("change without state", {"node": "hotline", "changes": [{"collection": "charity_stock", "id": "x"}]}, code="bad_request")
    push("change without id", {"node": "hotline", "changes": [{"collection": "charity_stock", "state": simple_state()}]}, code="bad_request")
    push("id is a number", {"node": "hotline", "changes": [{"collection": "charity_stock", "id": 5, "state": simple_state()}]}, code="bad_request")
    push("collection is null", {"node": "hotline", "changes": [{"collection": None, "id": "x", "state": simple_state()}]}, code="bad_request")
    push("state is a string", {"node": "hotline", "changes": [change("charity_stock", "x", "{}")]}, expect=(400,))
    push("NaN in the body", '{"node": "hotline", "changes": [{"collection": "charity_stock", "id": "x", "state": {"clock": {"hotline": NaN}, "exists": [], "fields": {}}}]}')
    push("deep nesting (100 levels)", "[" * 100 + "]" * 100, code="bad_request")
    push("deep nesting inside a state (100 levels)",
         push_body("hotline", [change("charity_stock", "x", {"clock": {"hotline": 1}, "exists": [["hotline", 1, now_hlc(), True]],
                                                                "fields": {"name": [["hotline", 1, now_hlc(), json.loads("[" * 100 + "]" * 100)]]}})]),
         expect=(200, 400), mutates=True)
    push("very deep nesting (100000 levels)", "[" * 100000 + "]" * 100000, code="bad_request")
    push("very deep nesting in an object (50000 levels)", '{"a":' * 50000 + "1" + "}" * 50000, code="bad_request")
    push("invalid UTF-8 in the node", b'{"node": "hot\xffline", "changes": []}', code="bad_request")
    push("invalid UTF-8 in a value",
         push_body("hotline", [change("charity_stock", "utf8", simple_state(fields={"name": "@@"}))]).encode().replace(b"@@", b"\xc3\x28\xff"),
         code="bad_request")
    push("lone surrogate escape in a value", push_body("hotline", [change("charity_stock", "sur", simple_state(fields={"name": "@@"}))]).replace("@@", "\\ud800"),
         expect=(400,))
    push("unknown top-level key", {"node": "hotline", "changes": [], "admin": True}, code="bad_request")
    push("duplicate key node", '{"node": "hotline", "node": "civil-affairs", "changes": []}', expect=(400, 403))
    push("unknown key in a change", {"node": "hotline", "changes": [{**change("charity_stock", "uk", simple_state()), "admin": 1}]},
         code="bad_request")
    push("collection with a trailing NUL", push_body("hotline", [change("charity_stock\u0000", "nul", simple_state())]),
         code="unknown_collection")

    # ---- record states that fail validation ---------------------------------------------------
    s = simple_state(); s["extra"] = 1
    push1("unknown key in a state", s)
    s = simple_state(); del s["exists"]
    push1("state without exists", s)
    push1("state without clock", {"exists": [], "fields": {}})
    push1("empty state", {"clock": {}, "exists": [], "fields": {}})
    push1("clock counter zero", simple_state(counter=0))
    push1("clock counter negative", simple_state(counter=-1))
    push1("clock counter 2^48 + 1", simple_state(counter=2**48 + 1))
    push1("clock counter 2^64", simple_state(counter=2**64), code=EITHER)
    push1("clock counter 10^30", simple_state(counter=10**30), code=EITHER)
    push("clock counter 1e400", push_body("hotline", [change("charity_stock", "hostile-1", simple_state())]).replace('{"hotline": 1}', '{"hotline": 1e400}', 1),
         code=EITHER)
    push("clock counter 1.0", push_body("hotline", [change("charity_stock", "hostile-1", simple_state())]).replace('{"hotline": 1}', '{"hotline": 1.0}', 1),
         code="invalid_state")
    push1("clock counter 1.5", simple_state(counter=1.5))
    s = simple_state(); s["clock"]["hotline"] = "1"
    push1("clock counter a string", s)
    s = simple_state(counter=2); s["exists"][0][1] = 1; s["fields"]["name"][0][1] = 1
    push1("exists not the latest write of its node", s)
    s = simple_state(); s["exists"] = []
    push1("exists empty, clock not", s)
    s = simple_state(); s["fields"]["name"][0][1] = 5
    push1("dot not covered by the clock", s)
    s = simple_state(); s["fields"]["name"][0][0] = "civil-affairs"
    push1("dot of a node not in the clock", s)
    s = simple_state(counter=2); s["fields"]["name"] = [["hotline", 1, now_hlc(), "a"], ["hotline", 1, now_hlc(), "b"]]
    push1("duplicate dots in a register", s)
    s = simple_state(); s["exists"] = [s["exists"][0], s["exists"][0]]
    push1("duplicate dots in exists", s)
    s = simple_state(); s["fields"]["name"] = []
    push1("empty field list", s)
    s = simple_state(); s["fields"]["name"][0] = ["hotline", 1, now_hlc()]
    push1("value with three elements", s)
    s = simple_state(); s["fields"]["name"][0][2] = -1
    push1("negative hlc", s)
    s = simple_state(); s["fields"]["name"][0][2] = 2**63
    push1("hlc 2^63", s, code=EITHER)
    s = simple_state(); s["clock"] = {"Hotline": 1}
    push1("invalid node name in the clock", s)
    s = simple_state(); s["clock"] = {"x" * 65: 1}
    push1("node name of 65 characters", s)
    push1("field name with a digit first", simple_state(fields={"1abc": "x"}))
    push1("field name with a dot", simple_state(fields={"a.b": "x"}))
    push1("field name with SQL", simple_state(fields={"x'; DROP TABLE record; --": "x"}))
    push1("field name id", simple_state(fields={"id": "x"}))
    push1("field name of 65 characters", simple_state(fields={"a" * 65: "x"}))
    push1("field name empty", simple_state(fields={"": "x"}))
    n = 1025
    h = now_hlc()
    push1("register of 1025 values", {"clock": {"hotline": n}, "exists": [["hotline", n, h, True]],
                                       "fields": {"name": [["hotline", i, h, f"v{i}"] for i in range(1, n + 1)]}})
    push1("counter field holds a string", simple_state(fields={"quantity": "ten"}))
    push1("counter field holds a float", simple_state(fields={"quantity": 1.5}))
    s = simple_state(counter=2); s["fields"]["quantity"] = [["hotline", 1, now_hlc(), 1], ["hotline", 2, now_hlc(), 2]]
    push1("counter field with two totals for one node", s)
    push1("unknown collection", simple_state(), code="unknown_collection", collection="nope")
    push1("collection name with path traversal", simple_state(), code="unknown_collection", collection="../../etc/passwd")
    push1("collection name with SQL", simple_state(), code="unknown_collection", collection="record; DROP TABLE record")
    push1("push as another node", simple_state(), expect=(403,), code="forbidden", node="civil-affairs")
    push1("collection the token may not write", simple_state(), expect=(403,), code="forbidden", collection="residents",
          headers={**r.auth("charity"), "Content-Type": "application/json"}, node="charity")
    push1("revoked token pushes", simple_state(), expect=(401,), code="token_revoked", node="ghost",
          headers={**r.auth("ghost"), "Content-Type": "application/json"})
    push("one bad change refuses the whole batch",
         push_body("hotline", [change("charity_stock", "batch-ok", simple_state()), change("charity_stock", "batch-bad", simple_state(counter=0))]),
         code="invalid_state")

    # ---- forged origins -----------------------------------------------------------------------
    med = r.state_of("mediation_cases", "med-0001")  # written by civil-affairs
    stk = r.state_of("charity_stock", "stk-0001")    # written by hotline (two writes)
    # The names the two stations' databases write under (NODE.INCARNATION, see record-state.md).
    ca, hw = r.hub.writer("civil-affairs"), r.hub.writer("hotline")
    s = json.loads(json.dumps(med))
    s["clock"][ca] += 1
    h = now_hlc()
    s["exists"] = [[ca, s["clock"][ca], h, True]]
    s["fields"]["status"] = [[ca, s["clock"][ca], h, "closed by a forger"]]
    # Another node's writes the hub has not seen (honest after a LAN sync, or forged): not taken,
    # the change waits (200, result `waiting`) and nothing changes (issue 11).
    st, body = push1("state brings another node's new writes", s, expect=(200,), code=None, collection="mediation_cases", rid="med-0001",
                     mutates=False)
    if st == 200 and (body or {}).get("results", [{}])[0].get("result") != "waiting":
        r.fail("state brings another node's new writes", f"result {body!r}, expected 'waiting'")
    s = json.loads(json.dumps(med))
    s["fields"]["status"][0][3] = "rewritten under its dot"
    push1("another node's value changed under its dot (same clock)", s, expect=(200, 403), code="forbidden",
          collection="mediation_cases", rid="med-0001", mutates=False)
    s = json.loads(json.dumps(med))
    h = now_hlc()
    s["clock"]["hotline"] = 1
    s["exists"] = [["hotline", 1, h, True]]
    s["fields"]["mediator"][0][3] = "Forged Mediator"
    s["fields"]["notes"] = [["hotline", 1, h, "an honest note"]]
    # Two contents under one dot (a forger's, or a restored database's relayed by an innocent
    # peer): refused for that record only, result `collision`, nothing changes.
    st, body = push1("another node's value changed under its dot with an own write", s, expect=(200,), code=None,
                     collection="mediation_cases", rid="med-0001", mutates=False)
    if st == 200 and (body or {}).get("results", [{}])[0].get("result") != "collision":
        r.fail("another node's value changed under its dot with an own write", f"result {body!r}, expected 'collision'")
    s = json.loads(json.dumps(med))
    s["clock"]["hotline"] = 1
    s["exists"] = [["hotline", 1, h, True]]
    s["fields"]["notes"] = [["hotline", 1, h, "drops the mediator"]]
    s["fields"]["mediator"] = [["hotline", 1, h, "x"]]
    s["fields"]["mediator"] = [v for v in s["fields"]["mediator"]]
    del s["fields"]["partyA"]  # dropping another node's value without a write of its own there is fine only on recreate
    s["fields"]["partyB"] = [[ca, 1, h, "Zhao"]]  # a value the hub does not hold under that dot
    push1("another node's value forged at an existing dot", s, expect=(403,), code="forbidden",
          collection="mediation_cases", rid="med-0001")
    s = json.loads(json.dumps(stk))
    s["fields"]["itemName"][0][3] = "Rice 50kg"
    push1("second station rewrites hotline's value under its dot", s, expect=(200, 403), node="civil-affairs",
          headers={**r.auth("civil-affairs"), "Content-Type": "application/json"}, collection="charity_stock", rid="stk-0001", code="forbidden")
    push1("push as the hub's own node", simple_state(node="hub"), expect=(403,), code="forbidden", node="hub")
    # ---- issue 12: counters, time ----------------------------------------------------------------
    cw = r.hub.writer("civil-affairs")
    s = json.loads(json.dumps(stk))
    h = now_hlc()
    s["clock"][cw] = 1
    s["exists"] = [[cw, 1, h, True]]
    s["fields"]["quantity"] = [[cw, 1, h, 5]]  # hotline's count and increments gone, civil's own +5 instead
    push1("another node's counter entries removed", s, expect=(403,), code="forbidden", node="civil-affairs",
          headers={**r.auth("civil-affairs"), "Content-Type": "application/json"}, collection="charity_stock", rid="stk-0001")
    s = {"clock": {"hotline": 2}, "exists": [["hotline", 2, h, True]],
         "fields": {"quantity": [["hotline", 1, h, {"count": 9223372036854775807, "seen": {}}], ["hotline", 2, h, 1]]}}
    push1("a counter stocktake past ±(2^53-1)", s, code="counter_overflow", rid="hostile-overflow")
    s = simple_state(fields={"quantity": {"count": 5, "seen": {"civil-affairs": 3}}})
    push1("a stocktake claiming a total the record does not hold", s)
    push1("a write stamped at the end of time", simple_state(hlc=(1 << 63) - 1), code="clock_drift", rid="hostile-time")
    push1("a write stamped a year ahead", simple_state(hlc=now_hlc(365 * 86_400_000)), code="clock_drift", rid="hostile-time")
    # Another node's write a year ahead, brought by a station (taken from a LAN peer whose clock
    # is wrong): origin binding first, so it waits; the push's other records go on.
    far = simple_state(node="civil-affairs", hlc=now_hlc(365 * 86_400_000))
    st, body = push("another node's write a year ahead, with an own record", push_body("hotline", [
        change("charity_stock", "hostile-far-other", far), change("charity_stock", "hostile-far-own", simple_state())]),
        expect=(200,), code=None, mutates=True)
    results = [x.get("result") for x in (body or {}).get("results", [])] if st == 200 else []
    if st == 200 and results != ["waiting", "created"]:
        r.fail("another node's write a year ahead, with an own record", f"results {results!r}, expected ['waiting', 'created']")
    # A new history entry of the pusher's own must be the conflict it names (review round 3, F7).
    h = now_hlc()
    forged_entry = {"clock": {"hotline": 3}, "exists": [["hotline", 3, h, True]], "fields": {"name": [["hotline", 3, h, "settled"]]},
                    "resolved": [{"conflict": "00000000deadbeef", "field": "name", "policy": "lww", "how": "choose", "by": ["hotline", 3, h],
                                  "values": [["hotline", 1, h, "a"], ["hotline", 2, h, "b"]], "result": "settled"}]}
    # invalid_state: an entry listing two values of one node ended no conflict any node had.
    push1("own resolution entry under an id its values do not make", forged_entry, expect=(400, 403), code=("forbidden", "invalid_state"),
          rid="hostile-entry")
    # Review round 4, F5: an entry with the right id whose claims the state contradicts: the
    # values it says it ended are still in the field (the conflict is open).
    open_entry = json.loads(json.dumps(med))
    h = now_hlc()
    ca_status = open_entry["fields"]["status"][0]
    open_entry["clock"]["hotline"] = 2
    open_entry["exists"] = [["hotline", 2, h, True]]
    open_entry["fields"]["status"] = [ca_status, ["hotline", 1, h, "closed"]]
    open_entry["fields"]["notes"] = [["hotline", 2, h, "settled it"]]
    open_entry["resolved"] = [{"conflict": conflict_id("mediation_cases", "med-0001", "status", [(ca_status[0], ca_status[1]), ("hotline", 1)]),
                               "field": "status", "policy": "manual", "how": "choose", "by": ["hotline", 2, h],
                               "values": [ca_status, ["hotline", 1, h, "closed"]], "result": "closed"}]
    push1("own resolution entry for a conflict still open", open_entry, expect=(403,), code="forbidden",
          collection="mediation_cases", rid="med-0001")
    # A token that may write a collection but not read it learns nothing there (F6): its guess at
    # another node's write is answered alike whether the record holds exactly that or is absent.
    dropbox = {**r.auth("dropbox"), "Content-Type": "application/json"}
    answers = []
    for rid in ("med-0001", "med-absent"):
        st, body = push1(f"write-only token guesses another node's write ({rid})", med, expect=(200,), code=None,
                         collection="mediation_cases", rid=rid, node="dropbox", headers=dropbox)
        answers.append([x.get("result") for x in (body or {}).get("results", [])] if st == 200 else st)
    if answers != [["waiting"], ["waiting"]]:
        r.fail("write-only token guesses another node's write", f"answers {answers!r}, expected waiting for both")
    # A state "older" than the hub's that claims the hub's dot (hotline, 1) with other content (a
    # clock that went backwards, or a restored database writing again): two writes under one dot.
    # Never "unchanged" (issue 11): answered `collision` for that record, nothing of it changes
    # (and the rest of a batch would go on: one such record must not hold up a station's sync).
    old = json.loads(json.dumps(stk))
    old["clock"] = {hw: 1}
    old["exists"] = [[hw, 1, now_hlc(-3_600_000), True]]
    old["fields"] = {"itemName": [[hw, 1, now_hlc(-3_600_000), "Rice 5kg"]]}
    st, body = push1("clock gone backwards (another write under a used dot)", old, expect=(200,), code=None,
                     collection="charity_stock", rid="stk-0001")
    result = None
    try:
        result = body["results"][0]["result"]
    except (TypeError, KeyError, IndexError):
        pass
    if st == 200 and result != "collision":
        r.fail("clock gone backwards (another write under a used dot)", f"answered {result!r}, expected 'collision'")
    elif st == 200:
        r.notes.append("a state claiming a used dot with other content (clock gone backwards) is not taken: result `collision`, nothing changes")

    # ---- sizes --------------------------------------------------------------------------------
    big = b'{"node": "hotline", "changes": [], "pad": "' + b"x" * (33 << 20) + b'"}'
    push("body over 32 MiB", big, expect=(413,), code="too_large")
    del big
    h = now_hlc()
    push("batch of 1001 changes", push_body("hotline", [change("charity_stock", f"b-{i}", simple_state(hlc=h)) for i in range(1001)]),
         expect=(413,), code="too_large")
    bomb = gzip.compress(b" " * (65 << 20), compresslevel=9)
    push("gzip bomb (65 MiB of spaces)", bomb, expect=(413,), code="too_large", headers={**HJ, "Content-Encoding": "gzip"})
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    stream = co.compress(b'{"node": "hotline", "changes": [], "pad": "') + co.compress(b"a" * (70 << 20)) + co.flush()
    push("gzip bomb inside a JSON string (70 MiB)", stream, expect=(413,), code="too_large", headers={**HJ, "Content-Encoding": "gzip"})
    # Issue 13: 480 valid states of 64 KiB each (30 MiB, under every size limit) gzip to about 85 KiB;
    # the node takes at most 64 times what was sent plus 1 MiB (a client sends such a page plain).
    h = now_hlc()
    cheap = gzip.compress(push_body("hotline", [change("hotline_calls", f"cheap-{i}", simple_state(hlc=h, fields={"notes": "x" * 65536}))
                                                for i in range(480)]).encode())
    push(f"gzip of 30 MiB of valid states in {len(cheap) >> 10} KiB (over 64 times what was sent)", cheap, expect=(413,), code="too_large",
         headers={**HJ, "Content-Encoding": "gzip"})
    del cheap
    push("gzip header, plain body", push_body("hotline", []), code="bad_request", headers={**HJ, "Content-Encoding": "gzip"})
    push("gzip truncated", gzip.compress(push_body("hotline", [change("charity_stock", "gz", simple_state())]).encode())[:-12],
         code="bad_request", headers={**HJ, "Content-Encoding": "gzip"})
    push("gzip of invalid JSON", gzip.compress(b"{{{"), code="bad_request", headers={**HJ, "Content-Encoding": "gzip"})
    push("unsupported Content-Encoding br", push_body("hotline", []), code="bad_request", headers={**HJ, "Content-Encoding": "br"})
    push("Content-Encoding gzip, gzip", gzip.compress(gzip.compress(b"{}")), code="bad_request", headers={**HJ, "Content-Encoding": "gzip, gzip"})

    # ---- pulls: cursors and limits ------------------------------------------------------------
    for label, q in (("limit 0", "limit=0"), ("limit -1", "limit=-1"), ("limit 1001", "limit=1001"), ("limit abc", "limit=abc"),
                     ("limit 1e3", "limit=1e3"), ("limit 2^64", f"limit={2**64}"), ("limit empty", "limit=")):
        r.case(f"pull {label}", "GET", f"{P}?{q}", H, code="bad_request")
    for label, q in (("garbage", "since=garbage"), ("negative seq", "since=abc.-1"), ("seq not a number", "since=abc.x"),
                     ("traversal", "since=..%2F..%2Fetc%2Fpasswd"), ("SQL", "since=1%27%20OR%20%271%27%3D%271"),
                     ("huge seq", f"since=abc.{10**40}"), ("10 KiB", "since=" + "a" * 10240), ("dots only", "since=..")):
        r.case(f"pull cursor {label}", "GET", f"{P}?{q}", H, code="invalid_cursor")
    r.case("pull as another node (X-StationSync-Node)", "GET", P, {**H, "X-StationSync-Node": "civil-affairs"}, expect=(403,), code="forbidden")
    # A cursor of this database past the end of its feed (handed out by a peer posing as the hub):
    # served from the start.
    _, health = r.case("health, for the database id", "GET", "/v1/health", {}, expect=(200,))
    database = health.get("database") if isinstance(health, dict) else "x"
    _, page = r.case("pull cursor past the end of the feed", "GET", f"{P}?since={database}.{10**12}", H, expect=(200,))
    if not (isinstance(page, dict) and page.get("changes")):
        r.fail("pull cursor past the end of the feed", "served nothing: the caller would miss every change before it")
    # Review round 7, F3a: one record repeated in a push (a 1 MB record 1000 times cost minutes).
    push("one record twice in a push", push_body("hotline", [change("charity_stock", "twice", simple_state())] * 2), code="bad_request")
    # The session's proof: an odd challenge gets no proof (and no error); a good one gets 64 hex digits.
    for label, challenge, want in (("bad challenge", "not-hex", False), ("challenge", "ab" * 32, True)):
        _, session = r.case(f"session with a {label}", "GET", "/v1/session", {**H, "X-StationSync-Challenge": challenge}, expect=(200,))
        has = isinstance(session, dict) and isinstance(session.get("proof"), str) and len(session["proof"]) == 64
        if has != want:
            r.fail(f"session with a {label}", f"proof present: {has}, expected {want}")

    # ---- authentication -----------------------------------------------------------------------
    tok = hub.tokens["hotline"]
    tid, secret = tok.split(".", 1)
    for label, value in (("missing", None), ("empty", ""), ("Bearer alone", "Bearer"), ("Bearer and a space", "Bearer "),
                         ("Basic", f"Basic {tok}"), ("Token scheme", f"Token {tok}"), ("no scheme", tok),
                         ("wrong secret", f"Bearer {tid}.{'A' * len(secret)}"), ("id only", f"Bearer {tid}"),
                         ("unknown id", f"Bearer 0000000000000000.{secret}"), ("trailing garbage", f"Bearer {tok}x"),
                         ("two tokens", f"Bearer {tok} {tok}"), ("revoked", f"Bearer {hub.tokens['ghost']}"),
                         ("64 KiB", "Bearer " + "a" * 65536), ("SQL", "Bearer x' OR '1'='1"), ("dots", "Bearer ....")):
        hdr = {} if value is None else {"Authorization": value}
        exp = (401, 431) if label == "64 KiB" else (401,)
        want = "token_revoked" if label == "revoked" else "unauthorized" if label != "64 KiB" else None
        r.case(f"auth {label} (session)", "GET", "/v1/session", hdr, expect=exp, code=want)
        if label in ("missing", "wrong secret", "revoked"):
            r.case(f"auth {label} (push)", "POST", P, {**hdr, "Content-Type": "application/json"},
                   push_body("hotline", [change("charity_stock", "auth", simple_state())]), expect=(401,), code=want)
            r.case(f"auth {label} (pull)", "GET", P, hdr, expect=(401,), code=want)
    # Variants RFC 7235 allows (case-insensitive scheme): accepted, read-only.
    for label, value in (("lowercase bearer", f"bearer {tok}"), ("uppercase BEARER", f"BEARER {tok}"), ("two spaces", f"Bearer  {tok}")):
        r.case(f"auth {label} (accepted)", "GET", "/v1/session", {"Authorization": value}, expect=(200,))

    # ---- paths and methods --------------------------------------------------------------------
    for path in ("/v1/../../etc/passwd", "/v1/%2e%2e/%2e%2e/etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/v1/changes/../../../etc/passwd",
                 "/v1/changes%00", "/v1//changes/..", "/etc/passwd", "/v2/changes", "/v1/changes/x", "/" + "a/" * 2000):
        r.case(f"path {path[:40]}", "GET", path, H, expect=(400, 404), code=None)
    for method, path in (("DELETE", P), ("PUT", P), ("PATCH", P), ("POST", "/v1/health"), ("DELETE", "/v1/session"),
                         ("POST", "/v1/schema"), ("TRACE", P), ("OPTIONS", P)):
        r.case(f"method {method} {path}", method, path, H, body=b"{}" if method in ("PUT", "PATCH", "POST") else None, expect=(404, 405))

    # ---- the conflict API ---------------------------------------------------------------------
    r.case("conflicts status bogus", "GET", "/v1/conflicts?status=bogus", H, code="bad_request")
    r.case("conflicts unknown collection", "GET", "/v1/conflicts?collection=nope", H, code="unknown_collection")
    r.case("conflicts collection with SQL", "GET", "/v1/conflicts?collection=x%27%3B%20DROP%20TABLE%20record%3B--", H, code="unknown_collection")
    r.case("conflicts collection not readable", "GET", "/v1/conflicts?collection=residents", r.auth("charity"), expect=(403,), code="forbidden")
    st, page = r.case("pull by a token reading one collection", "GET", P, r.auth("charity"), expect=(200,))
    if st == 200 and {c["collection"] for c in page["changes"]} - {"charity_stock"}:
        r.fail("pull by a token reading one collection", "the pull returned collections the token may not read")
    r.case("conflict id unknown", "GET", "/v1/conflicts/0000000000000000", H, expect=(404,), code="not_found")
    r.case("conflict id with SQL", "GET", "/v1/conflicts/x%27%20OR%20%271%27%3D%271", H, expect=(404,), code="not_found")
    r.case("conflict id 10 KiB", "GET", "/v1/conflicts/" + "f" * 10240, H, expect=(404,), code="not_found")
    r.case("conflicts without a token", "GET", "/v1/conflicts", {}, expect=(401,), code="unauthorized")

    # ---- raw HTTP: broken framing, slow clients -----------------------------------------------
    r.raw("garbage request line", b"HELLO THERE\r\n\r\n", expect=(400, None))
    r.raw("HTTP/0.9 style request", b"GET /v1/health\r\n\r\n", expect=(400, 505, None))
    r.raw("NUL bytes in the request line", b"GET /v1/\x00health HTTP/1.1\r\nHost: x\r\n\r\n", expect=(400, 404, None))
    r.raw("header without a colon", b"GET /v1/health HTTP/1.1\r\nHost: x\r\nBroken header\r\n\r\n", expect=(400, None))
    r.raw("1 MiB header", b"GET /v1/session HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n", expect=(400, 431, None))
    r.raw("10000 headers", b"GET /v1/session HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(10000)) + b"\r\n",
          expect=(400, 401, 431, None))
    auth_line = f"Authorization: Bearer {tok}\r\n".encode()
    r.raw("body shorter than Content-Length, then closed",
          b"POST /v1/changes HTTP/1.1\r\nHost: x\r\n" + auth_line + b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
          + push_body("hotline", [change("charity_stock", "short", simple_state())]).encode()[:200], expect=(400, None), half_close=True)
    r.raw("invalid chunked encoding",
          b"POST /v1/changes HTTP/1.1\r\nHost: x\r\n" + auth_line + b"Transfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n",
          expect=(400, None))
    r.raw("Content-Length and chunked together",
          b"POST /v1/changes HTTP/1.1\r\nHost: x\r\n" + auth_line + b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
          expect=(400, None))
    r.raw("negative Content-Length",
          b"POST /v1/changes HTTP/1.1\r\nHost: x\r\n" + auth_line + b"Content-Length: -5\r\n\r\n{}", expect=(400, None))
    chunk = b"x" * (1 << 20)
    chunked = b'{"node": "hotline", "changes": [], "pad": "' + b"".join(chunk for _ in range(33)) + b'"}'
    r.raw("chunked body over 32 MiB",
          b"POST /v1/changes HTTP/1.1\r\nHost: x\r\n" + auth_line + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
          + b"".join(b"%x\r\n" % len(chunked[i:i + (1 << 20)]) + chunked[i:i + (1 << 20)] + b"\r\n" for i in range(0, len(chunked), 1 << 20))
          + b"0\r\n\r\n", expect=(413,))
    del chunked
    r.slow_clients("200 idle half-sent requests (slowloris)", 200)

    # ---- accepted on purpose: SQL-looking and odd ids are stored literally -------------------
    def stored(rid, field_value):
        def check(status, parsed):
            if not parsed or parsed.get("results", [{}])[0].get("result") not in ("created", "applied"):
                return f"unexpected push answer {parsed}"
            for c in r.pull_all()[0]:
                if c["collection"] == "charity_stock" and c["id"] == rid:
                    got = c["state"]["fields"]["name"][0][3]
                    return None if got == field_value else f"stored value {got!r}, pushed {field_value!r}"
            return f"record id {rid!r} did not round-trip (not in the pull)"
        return check

    for label, rid in (("SQL id", "'; DROP TABLE record; --"), ("SQL id 2", "x\" OR 1=1; DELETE FROM record; --"),
                       ("unicode id", "记录-🙂-\u202e"), ("id with a slash and dots", "../../etc/passwd")):
        val = f"value of {label}"
        push1(f"{label} stored literally", simple_state(fields={"name": val}), expect=(200,), code=None, rid=rid,
              mutates=True, check=stored(rid, val))
    for label, rid in (("empty id", ""), ("id with NUL", "a\u0000b"), ("id of 257 bytes", "i" * 257), ("id of 100 KiB", "i" * 102400)):
        val = f"value of {label}"
        st, ans = push1(f"{label}", simple_state(fields={"name": val}), expect=(200, 400), code=None, rid=rid,
                        mutates=True, check=stored(rid, val))
        if st == 400 and ans and len(ans.get("message", "")) > 2048:
            r.notes.append(f"{label}: the 400 message echoes {len(ans['message'])} characters of the id")
    push1("id of 256 bytes stored literally", simple_state(fields={"name": "max id"}), expect=(200,), code=None, rid="m" * 256,
          mutates=True, check=stored("m" * 256, "max id"))
    # The tables are still there: a full pull works and a normal sync still works.
    r.pull_all()
    hub.station("hotline", "put", "charity_stock", "after-hostile", '{"itemName": "still works", "quantity": 1}')
    hub.station("hotline", "sync", "--peer", f"http://127.0.0.1:{hub.port}", "--token", hub.tokens["hotline"])
    r.state_of("charity_stock", "after-hostile")
    r.digest_value = None


def schemathesis(exe, name, port, token, only, seed, timeout, work, count):
    """One schemathesis run of Protocol/openapi.yaml against 127.0.0.1:port with `token`, limited
    by `only` (its filter arguments); its output in NAME.out, its report in NAME/. Prints the
    summary and the statuses seen; returns (problems, warnings, test cases): 5xx answers and
    failed checks are problems, a tool error or no summary a warning."""
    problems, warnings = [], []
    report = os.path.join(work, name)
    # One worker: several threads trip a CPython 3.11 AST bug inside schemathesis's generator
    # ("AST constructor recursion depth mismatch"), a tool error that says nothing about the node.
    cmd = [exe, "run", os.path.join(ROOT, "Protocol", "openapi.yaml"), "--url", f"http://127.0.0.1:{port}",
           "-H", f"Authorization: Bearer {token}", *only,
           "--checks", "not_a_server_error,response_schema_conformance",
           "--max-examples", str(count), "--workers", "1", "--seed", seed, "--no-color",
           "--suppress-health-check", "all", "--generation-database", "none", "--request-timeout", str(timeout),
           "--report", "ndjson", "--report-dir", report]
    shown = " ".join("'Authorization: Bearer …'" if "Bearer" in c else c for c in cmd[1:])
    print(f"hostile: {name} {shown}", flush=True)
    t0 = time.time()
    # cwd: schemathesis keeps a .schemathesis/ cache in its working directory.
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=3600, cwd=work)
    out = p.stdout + p.stderr
    with open(os.path.join(work, f"{name}.out"), "w") as f:
        f.write(out)
    m = re.search(r"Test cases:\s*\n\s*(\d+) generated, ([^\n]*)", out)
    cases = int(m.group(1)) if m else 0
    print(f"hostile: {name}: {m.group(0).split(chr(10))[-1].strip() if m else 'no test-case summary'} "
          f"in {time.time() - t0:.1f} s (exit {p.returncode})")
    statuses = {}
    for file in sorted(os.listdir(report)) if os.path.isdir(report) else []:
        if file.endswith(".ndjson"):
            with open(os.path.join(report, file), errors="replace") as f:
                for code in re.findall(r'"status_code":\s*(\d{3})', f.read()):
                    statuses[code] = statuses.get(code, 0) + 1
    if statuses:
        print(f"hostile: {name} responses: " + ", ".join(f"{n} x {c}" for c, n in sorted(statuses.items())))
        fivexx = sum(n for c, n in statuses.items() if c.startswith("5"))
        if fivexx:
            problems.append(f"{fivexx} responses with 5xx during {name} (see {name}.out and the ndjson report)")
    failed = re.search(r"(\d+) failed", m.group(2)) if m else None
    if failed or re.search(r"Server error|Response violates schema|Undocumented HTTP status", out):
        lines = [ln[:200] for ln in out.splitlines() if ln.strip()]
        start = next((i for i, ln in enumerate(lines) if "FAILURES" in ln), max(0, len(lines) - 40))
        print("\n".join("  " + ln for ln in lines[start:start + 60]))
        problems.append(f"{name} found failures ({failed.group(0) if failed else 'see above'}); full output in {name}.out")
    elif p.returncode != 0:
        err = re.findall(r"(Runtime Error|[A-Za-z]+Error: [^\n]{0,160})", out)
        warnings.append(f"{name} exited {p.returncode} without a failed check (a tool error: {'; '.join(dict.fromkeys(err)) or f'see {name}.out'})")
    elif not m:
        warnings.append(f"{name} printed no test-case summary")
    return problems, warnings, cases


def integrity_problems(db, whose):
    """SQLite's integrity check of a database after schemathesis, as problems."""
    import sqlite3
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        check = con.execute("PRAGMA integrity_check").fetchall()
    finally:
        con.close()
    return [] if check == [("ok",)] else [f"after schemathesis, integrity_check of {whose} database: {check}"]


def run_schemathesis(hub, count, exe):
    """schemathesis against the live hub's sync routes; returns (problems, warnings, test cases)."""
    problems, warnings, cases = schemathesis(exe, "schemathesis", hub.port, hub.tokens["hotline"], ["--exclude-tag", "records"],
                                             "20261126", 30, hub.work, count)
    if not hub.alive():
        problems.append(f"the hub died during schemathesis: {hub.tail()}")
        return problems, warnings, cases
    try:
        if request(hub.port, "GET", "/v1/health")[0] != 200:
            problems.append("the hub no longer answers /v1/health after schemathesis")
    except Exception as e:  # noqa: BLE001
        problems.append(f"the hub no longer answers after schemathesis: {e}")
    # What schemathesis got the hub to take must still be readable and syncable: a new station
    # pulls everything, an existing one syncs from scratch, and SQLite finds the file sound.
    url = f"http://127.0.0.1:{hub.port}"
    try:
        hub.station("late", "init", "--node", "civil-affairs")
        hub.station("late", "sync", "--peer", url, "--token", hub.tokens["civil-affairs"])
        hub.station("hotline", "sync", "--peer", url, "--token", hub.tokens["hotline"], "--full")
        hub.run(hub.hub_bin, "info", "--db", hub.db, "--json")
    except Fatal as e:
        problems.append(f"after schemathesis, what the hub took cannot be synced or read: {e}")
    problems += integrity_problems(hub.db, "the hub's")
    return problems, warnings, cases


def run_records_schemathesis(hub, count, exe):
    """schemathesis against the records API of a live `station serve` (tag `records`), with a
    user's token; returns (problems, warnings). The station holds the sample records first, and
    afterwards must still answer, read its records and pass SQLite's integrity check."""
    db = os.path.join(hub.work, "records-station.sqlite")
    hub.run(hub.station_bin, "init", "--node", "charity", "--db", db)
    for f in sorted(os.listdir(os.path.join(ROOT, "seeds", "sample"))):
        if f.endswith(".jsonl"):
            hub.run(hub.station_bin, "import", f[:-6], os.path.join(ROOT, "seeds", "sample", f), "--db", db)
    token = hub.run(hub.station_bin, "user", "add", "Hostile Tester", "--db", db).strip()
    err = os.path.join(hub.work, "records-station.err")
    server = servers.Server([hub.station_bin, "serve", "--db", db, "--token", "records-lan-secret", "--listen", "127.0.0.1:0"],
                            os.path.join(hub.work, "records-station.out"), err)
    try:
        server.start(timeout=30)
    except servers.ServerError as e:
        return [f"station serve did not start: {e}"], []
    try:
        problems, warnings, _ = schemathesis(exe, "schemathesis-records", server.port, token, ["--include-tag", "records"],
                                             "20261207", 90, hub.work, count)
        if server.proc.poll() is not None:
            problems.append("station serve died during schemathesis: " + "".join(open(err, errors="replace").readlines()[-20:]))
            return problems, warnings
        if request(server.port, "GET", "/v1/health")[0] != 200:
            problems.append("station serve no longer answers /v1/health after schemathesis")
    finally:
        server.stop()
    try:
        hub.run(hub.station_bin, "list", "charity_stock", "--json", "--db", db)
        hub.run(hub.station_bin, "info", "--json", "--db", db)
    except Fatal as e:
        problems.append(f"after schemathesis, the station's records cannot be read: {e}")
    problems += integrity_problems(db, "the station's")
    return problems, warnings


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bin_dir")
    ap.add_argument("--count", type=int, default=20, help="schemathesis examples per operation")
    ap.add_argument("--schemathesis", default=os.environ.get("SCHEMATHESIS_BIN") or shutil.which("schemathesis"))
    ap.add_argument("--no-schemathesis", action="store_true")
    ap.add_argument("--verbose", action="store_true", help="print every case's status and answer")
    args = ap.parse_args()
    global VERBOSE
    VERBOSE = args.verbose
    t0 = time.time()
    hub = Hub(args.bin_dir)
    runner = Runner(hub)
    ok = True
    sch_problems = []
    try:
        hub.setup()
        tokens_before = hub.token_list()
        hub.start()
        hub.seed()
        run_cases(runner)
        if hub.token_list() != tokens_before:
            runner.data_changes.append("(tokens)")
            runner.violations.append(("tokens", "`hub token list --json` changed during the hostile requests"))
        print(f"hostile: {runner.requests} requests, {len(runner.server_errors)} 5xx, {len(runner.crashes)} crashes, "
              f"{len(runner.data_changes)} data changes ({runner.cases} cases, {time.time() - t0:.1f} s)")
        if runner.parser_refusals:
            runner.notes.append("malformed HTTP is refused by the HTTP parser (Hummingbird/NIO) before any route, with an empty "
                                "body rather than the JSON error, then the connection is closed: " + ", ".join(runner.parser_refusals))
        for n in runner.notes:
            print(f"hostile: note: {n}")
        for name, problem in runner.known:
            print(f"hostile: KNOWN ISSUE (not failing) {name}: {problem}")
        for name, problem in runner.violations:
            print(f"hostile: FAIL {name}: {problem}")
        ok = not runner.violations
        if args.no_schemathesis:
            print("hostile: schemathesis skipped (--no-schemathesis)")
        elif not args.schemathesis or not os.access(args.schemathesis, os.X_OK):
            print("hostile: WARNING: schemathesis is not installed; skipping the schema-driven run", file=sys.stderr)
        else:
            sch_problems, sch_warnings, _ = run_schemathesis(hub, args.count, args.schemathesis)
            for w in sch_warnings:
                print(f"hostile: WARNING: {w}", file=sys.stderr)
            for p in sch_problems:
                print(f"hostile: FAIL schemathesis: {p}")
            records_problems, records_warnings = run_records_schemathesis(hub, args.count, args.schemathesis)
            for w in records_warnings:
                print(f"hostile: WARNING: {w}", file=sys.stderr)
            for p in records_problems:
                print(f"hostile: FAIL schemathesis (records): {p}")
            sch_problems = sch_problems + records_problems
    except Fatal as e:
        print(f"hostile: FAIL: {e}")
        for name, problem in runner.violations:
            print(f"hostile: FAIL {name}: {problem}")
        ok = False
    finally:
        hub.stop()
    ok = ok and not sch_problems
    print(f"hostile: {'ok' if ok else 'FAILED'} in {time.time() - t0:.1f} s")
    if ok and not os.environ.get("HOSTILE_KEEP"):
        shutil.rmtree(hub.work, ignore_errors=True)
    else:
        print(f"hostile: kept {hub.work} (hub.err has the hub's log)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
