#!/usr/bin/env python3
"""The node's observability, with the real executables on loopback (issue 14, item 6).

    metrics_test.py BIN_DIR

Starts `hub serve` (tools/lib/hostile.py's Hub), syncs a station with three records, then:
  - scrapes GET /metrics and parses it with prometheus-client's text parser (installed with pip
    when missing): requests by route and status with duration histograms, changes pushed and
    pulled, merge outcomes, records with conflicts, the station's lag and clock offset;
  - checks the request log: one line per request with its route, status, station and changes;
    and, for a hub started with --log-format json, one JSON object per line;
  - checks that a second hub on the same port says the port is taken (and exits 1), that SIGTERM
    ends with a clear line, and `hub stations --json`.
Prints `metrics: ok` and exits 0, or the failures and exits 1.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile import Hub  # noqa: E402

import servers


def ensure_parser():
    try:
        import prometheus_client.parser  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "prometheus-client"], check=True)
    from prometheus_client.parser import text_string_to_metric_families
    return text_string_to_metric_families


def main():
    parse = ensure_parser()
    bin_dir = sys.argv[1]
    failures = []

    def check(ok, what):
        if not ok:
            failures.append(what)

    hub = Hub(bin_dir)
    hub.setup()
    hub.start()
    try:
        url = f"http://127.0.0.1:{hub.port}"
        hub.station("hotline", "init", "--node", "hotline")
        for i in range(3):
            hub.station("hotline", "put", "hotline_calls", f"call-{i}", json.dumps({"callerName": f"Caller {i}", "status": "open"}))
        hub.station("hotline", "sync", "--peer", url, "--token", hub.tokens["hotline"])
        # Methods and paths a client chooses must not grow the metrics without bound: a method the
        # node does not serve is labelled `other`, a path no route has one label for all.
        import http.client
        for i, method in enumerate(["PROPFIND", "MKCOL", "PURGE", "GET", "GET"]):
            conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=10)
            conn.request(method, f"/made-up/{i}")
            conn.getresponse().read()
            conn.close()
        text = urllib.request.urlopen(url + "/metrics", timeout=10).read().decode()
        samples = {}
        for family in parse(text):
            for s in family.samples:
                samples[(s.name, tuple(sorted(s.labels.items())))] = s.value

        def value(name, **labels):
            return samples.get((name, tuple(sorted(labels.items()))))

        methods = {dict(k[1]).get("method") for k in samples if k[0] == "stationsync_http_requests_total"}
        routes = {dict(k[1]).get("route") for k in samples if k[0] == "stationsync_http_requests_total"}
        check(methods <= {"GET", "POST", "other"} and "other" in methods, f"methods labelled: {methods}")
        check(not any(r.startswith("/made-up") for r in routes if r), f"routes labelled: {routes}")
        check(value("stationsync_pushed_changes_total") == 3, f"pushed changes: {value('stationsync_pushed_changes_total')}")
        check(value("stationsync_merge_outcomes_total", result="created") == 3, "merge outcomes: created should be 3")
        check((value("stationsync_http_requests_total", method="POST", route="/v1/changes", status="200") or 0) >= 1, "requests: POST /v1/changes 200")
        check((value("stationsync_http_requests_total", method="GET", route="/v1/session", status="200") or 0) >= 1, "requests: GET /v1/session 200")
        check((value("stationsync_http_request_duration_seconds_count", method="POST", route="/v1/changes") or 0) >= 1, "duration histogram of pushes")
        check(value("stationsync_conflicted_records") == 0, "conflicted records gauge")
        check(value("stationsync_station_lag_sequences", station="hotline") == 0, "the station's lag")
        check(value("stationsync_station_clock_offset_ms", station="hotline") is not None, "the station's clock offset")
        check(value("stationsync_pulls_total") is not None and value("stationsync_pulled_changes_total") is not None, "pulls counted")
        # The store's own: how many writers each group commit took (a histogram; the push's at least).
        check((value("stationsync_group_commit_writers_count") or 0) >= 1, "group commit sizes counted")
        check((value("stationsync_group_commit_writers_sum") or 0) >= 1, "group commit writers summed")

        stations = json.loads(hub.run(hub.hub_bin, "stations", "--db", hub.db, "--json"))
        hot = [s for s in stations["stations"] if s["station"] == "hotline"]
        check(len(hot) == 1 and hot[0]["behind"] == 0 and hot[0]["pushedChanges"] == 3, f"hub stations --json: {stations}")

        taken = subprocess.run([hub.hub_bin, "serve", "--db", hub.db, "--listen", f"127.0.0.1:{hub.port}"], capture_output=True, text=True,
                               timeout=60, stdin=subprocess.DEVNULL)
        check(taken.returncode == 1 and "the port is taken" in taken.stderr, f"a second hub on the port: {taken.returncode} {taken.stderr[-300:]}")
    finally:
        hub.proc.send_signal(signal.SIGTERM)
        hub.proc.wait(20)
    log = open(hub.err_path).read()
    check(re.search(r"method=POST .*route=/v1/changes .*station=hotline status=200", log) is not None
          and re.search(r"changes=3 method=POST", log) is not None, f"request log line of the push:\n{log[-800:]}")
    check("stopped on SIGINT or SIGTERM" in log, "a line on SIGTERM")

    # --log-format json: every line an object.
    err_path = os.path.join(hub.work, "json.err")
    server = servers.Server([hub.hub_bin, "serve", "--db", hub.db, "--listen", "127.0.0.1:0", "--log-format", "json"],
                            os.path.join(hub.work, "json.out"), err_path)
    try:
        server.start(timeout=30)
        urllib.request.urlopen(f"{server.url}/metrics", timeout=10).read()
    except servers.ServerError as e:
        check(False, f"the json-logging hub did not start: {e}")
    server.stop(timeout=20)
    lines = [line for line in open(err_path).read().splitlines() if line.strip()]
    try:
        objects = [json.loads(line) for line in lines]
        check(all({"time", "level", "label", "message"} <= set(o) for o in objects) and len(objects) >= 2, f"json log lines: {lines[:3]}")
    except ValueError as e:
        failures.append(f"a --log-format json line is not JSON ({e}): {lines[:3]}")

    shutil.rmtree(hub.work, ignore_errors=True)
    if failures:
        for f in failures:
            print(f"metrics: FAIL {f}")
        sys.exit(1)
    print(f"metrics: ok ({len(samples)} samples scraped after a sync; request log, json log, port taken, SIGTERM, hub stations)")


if __name__ == "__main__":
    main()
