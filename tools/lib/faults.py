#!/usr/bin/env python3
"""Faulted sync runs: real `station` processes sync with a real `hub` through the fault-injecting
proxy (faultproxy.py), and every run must converge with nothing lost.

    faults.py BIN_DIR [--runs N] [--seed S] [--stations K] [--rounds R] [--records M]

One run (seeded, reproducible from the seed printed on failure):
  - a fresh hub and K stations (own databases, own tokens);
  - R rounds; in each, every station first writes offline: new `volunteers` records of its own,
    updates of some of them, a delete, a concurrent edit of the shared records' `team` (lww) and
    `residentId` (manual) fields, and counter increments of their `hoursServed`; then all stations sync
    at once through the proxy, each `station sync` re-run until it succeeds (the client also
    retries inside one run);
  - at the end, every station syncs twice straight with the hub (no faults).
Checks: every replica holds byte-identical record states; each station's own records hold exactly
its last write (deleted ones deleted); each shared register holds exactly the last round's writes
of every station (they are concurrent: nothing newer has seen them), none lost; each shared counter
equals the sum of all increments (a duplicated or replayed push must not count twice); SQLite's
integrity check passes on every database; the hub answered no request with a 5xx.
"""
import argparse
import collections
import concurrent.futures
import json
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from cluster import CommandError, Hub, Tools, integrity, records  # noqa: E402
from faultproxy import FAULTS, FaultProxy  # noqa: E402

COLLECTION = "volunteers"
SHARED = 3
SYNC_ATTEMPTS = 40


class Failure(Exception):
    pass


class Station:
    def __init__(self, name, db, token):
        self.name, self.db, self.token = name, db, token
        self.own = {}          # id -> {field: value}: the station's last write of each field
        self.deleted = set()
        self.next_id = 0
        self.sync_commands = 0
        self.failed_syncs = 0


def write_round(tools, work, station, rnd, rng, args, shared_last, counter_totals):
    """The station's offline writes of one round, through the real CLI."""
    lines = []
    for _ in range(rng.randint(args.records // 2, args.records)):
        rid = f"{station.name}-{station.next_id:05d}"
        station.next_id += 1
        fields = {"fullName": f"Volunteer {rid}", "phone": f"555-{rng.randrange(10000):04d}", "skills": rng.choice(["cooking", "tutoring", "repairs", "driving"])}
        station.own[rid] = dict(fields)
        lines.append({"id": rid, **fields})
    alive = [rid for rid in station.own if rid not in station.deleted]
    for rid in rng.sample(alive, min(len(alive), max(1, len(alive) // 10))):
        phone = f"556-{rng.randrange(10000):04d}"
        station.own[rid]["phone"] = phone
        lines.append({"id": rid, "phone": phone})
    for j in range(SHARED):
        team, resident = f"team {station.name} r{rnd}", f"res-{station.name}-r{rnd}-{rng.randrange(100)}"
        shared_last[(f"shared-{j}", "team")][station.name] = team
        shared_last[(f"shared-{j}", "residentId")][station.name] = resident
        # fullName: the collection requires it when a record is created (lww: the same on every node).
        lines.append({"id": f"shared-{j}", "fullName": f"Shared volunteer {j}", "team": team, "residentId": resident})
    path = os.path.join(work, f"{station.name}-r{rnd}.jsonl")
    with open(path, "w") as f:
        for line in lines:
            f.write(json.dumps(line) + "\n")
    tools.run(tools.station, "import", "--db", station.db, COLLECTION, path, "--batch-size", str(rng.choice([7, 50, 1000])))
    for _ in range(2):
        j, amount = rng.randrange(SHARED), rng.randint(1, 9)
        tools.run(tools.station, "add", "--create", "--db", station.db, COLLECTION, f"shared-{j}", "hoursServed", str(amount))
        counter_totals[f"shared-{j}"] += amount
    alive = [rid for rid in station.own if rid not in station.deleted and rid not in {line["id"] for line in lines}]
    if alive:
        victim = rng.choice(alive)
        tools.run(tools.station, "delete", "--db", station.db, COLLECTION, victim)
        station.deleted.add(victim)


def sync_until_done(tools, station, url, batch, timeout):
    """Runs `station sync` until it succeeds; returns its JSON summary."""
    last = ""
    for _ in range(SYNC_ATTEMPTS):
        station.sync_commands += 1
        p = tools.run(tools.station, "sync", "--db", station.db, "--peer", url, "--token", station.token, "--json",
                      "--batch-size", str(batch), "--timeout", str(timeout), "--connect-timeout", "2", check=False)
        if p.returncode == 0:
            return json.loads(p.stdout.strip().splitlines()[-1])
        station.failed_syncs += 1
        last = p.stderr.strip()[-500:]
        if "refused" in last and "token" in last:
            break
    raise Failure(f"{station.name}: sync never succeeded in {SYNC_ATTEMPTS} attempts; last error: {last}")


def check(hub, stations, shared_last, counter_totals):
    at_hub = records(hub.db, COLLECTION)
    for s in stations:
        mine = records(s.db, COLLECTION)
        if mine != at_hub:
            diff = sorted(k for k in set(mine) | set(at_hub) if mine.get(k) != at_hub.get(k))
            raise Failure(f"{s.name} differs from the hub in {len(diff)} records, e.g. {diff[:3]}")
    expected_ids = {(COLLECTION, rid) for s in stations for rid in s.own} | {(COLLECTION, f"shared-{j}") for j in range(SHARED)}
    if set(at_hub) != expected_ids:
        missing, extra = expected_ids - set(at_hub), set(at_hub) - expected_ids
        raise Failure(f"records missing at the hub: {sorted(missing)[:5]} ({len(missing)}); unexpected: {sorted(extra)[:5]}")
    lost = 0
    for s in stations:
        for rid, want in s.own.items():
            state = json.loads(at_hub[(COLLECTION, rid)])
            for name, value in want.items():
                got = state["fields"].get(name, [])
                # A dot names the writer, NODE.INCARNATION (record-state.md): its node is the part before the dot.
                if len(got) != 1 or got[0][0].split(".")[0] != s.name or got[0][3] != value:
                    lost += 1
                    print(f"  lost: {s.name}'s {rid}.{name} = {value!r}, the hub holds {got}", file=sys.stderr)
            exists = state["exists"]
            if len(exists) != 1 or exists[0][3] != (rid not in s.deleted):
                raise Failure(f"{rid}: exists register {exists}, deleted by its owner: {rid in s.deleted}")
    for (rid, name), last in shared_last.items():
        state = json.loads(at_hub[(COLLECTION, rid)])
        got = sorted((v[0].split(".")[0], v[3]) for v in state["fields"].get(name, []))
        want = sorted(last.items())
        if got != want:
            lost += 1
            print(f"  {rid}.{name}: the register holds {got}, the last concurrent writes were {want}", file=sys.stderr)
    for rid, total in counter_totals.items():
        state = json.loads(at_hub[(COLLECTION, rid)])
        got = sum(v[3] for v in state["fields"].get("hoursServed", []))
        if got != total:
            raise Failure(f"{rid}.hoursServed = {got}, but the increments add up to {total}")
    if lost:
        raise Failure(f"{lost} accepted writes lost")
    for db in [hub.db] + [s.db for s in stations]:
        result = integrity(db)
        if result != "ok":
            raise Failure(f"integrity_check of {db}: {result}")


def one_run(tools, seed, args, totals):
    rng = random.Random(seed)
    work = tempfile.mkdtemp(prefix=f"stationsync-faults-{seed}-")
    hub = Hub(tools.hub, os.path.join(work, "hub.sqlite"), os.path.join(work, "hub.log"))
    proxy = None
    try:
        tools.run(tools.hub, "init", "--db", hub.db)
        stations = []
        for k in range(args.stations):
            name = f"desk-{k}"
            db = os.path.join(work, f"{name}.sqlite")
            tools.run(tools.station, "init", "--db", db, "--node", name)
            token = tools.run(tools.hub, "token", "add", "--db", hub.db, name).stdout.strip()
            stations.append(Station(name, db, token))
        hub.start()
        proxy = FaultProxy(hub.port, seed=seed, fault_rate=args.fault_rate, stall_seconds=args.timeout + 1)
        proxy_url = f"http://127.0.0.1:{proxy.start()}"
        shared_last = {(f"shared-{j}", f): {} for j in range(SHARED) for f in ("team", "residentId")}
        counter_totals = {f"shared-{j}": 0 for j in range(SHARED)}
        for rnd in range(args.rounds):
            for s in stations:
                write_round(tools, work, s, rnd, rng, args, shared_last, counter_totals)
            batches = {s.name: rng.choice([5, 20, 100, 500]) for s in stations}
            with concurrent.futures.ThreadPoolExecutor(len(stations)) as pool:
                list(pool.map(lambda s: sync_until_done(tools, s, proxy_url, batches[s.name], args.timeout), stations))
        proxy.enabled = False
        for _ in range(2):
            for s in stations:
                sync_until_done(tools, s, hub.url, 500, 60)
        check(hub, stations, shared_last, counter_totals)
        five = sum(n for code, n in proxy.statuses.items() if code.startswith("5"))
        if five:
            raise Failure(f"the hub answered {five} requests with a 5xx: {dict(proxy.statuses)}")
        totals["runs"] += 1
        totals["records"] += len(records(hub.db, COLLECTION))
        totals["sync commands"] += sum(s.sync_commands for s in stations)
        totals["failed sync commands"] += sum(s.failed_syncs for s in stations)
        for key, n in proxy.counts.items():
            totals[key] += n
        shutil.rmtree(work, ignore_errors=True)
    except (Failure, CommandError) as e:
        totals["failed runs"] += 1
        print(f"faults: run with seed {seed} FAILED: {e}\n  (kept {work}; replay: faults.py BIN --seed {seed} --runs 1)", file=sys.stderr)
    finally:
        if proxy:
            proxy.stop()
        hub.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("bin")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None, help="the first run's seed (default: random)")
    parser.add_argument("--stations", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--records", type=int, default=120, help="new records per station per round, at most")
    parser.add_argument("--fault-rate", type=float, default=0.35)
    parser.add_argument("--timeout", type=float, default=3, help="the sync client's --timeout (a stall lasts 1 s longer)")
    args = parser.parse_args()
    tools = Tools(args.bin)
    first = args.seed if args.seed is not None else random.randrange(1, 1 << 30)
    totals = collections.Counter()
    started = time.time()
    for i in range(args.runs):
        one_run(tools, first + i, args, totals)
        if sys.stderr.isatty():
            print(f"\r  {i + 1}/{args.runs} runs", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if totals["failed runs"]:
        print(f"faults: {totals['failed runs']} of {args.runs} runs FAILED (seeds {first}...{first + args.runs - 1})")
    else:
        injected = {k: totals[k] for k in FAULTS + ["replayed"] if totals[k]}
        print(f"faults: {totals['runs']} faulted runs passed (seeds {first}...{first + args.runs - 1}), "
              f"{totals['requests']} requests, {sum(totals[k] for k in FAULTS)} faults injected "
              f"({', '.join(f'{k} {v}' for k, v in injected.items())}), {totals['sync commands']} sync commands "
              f"({totals['failed sync commands']} failed and re-run), {totals['records']} records checked, "
              f"0 divergences, 0 lost writes, 0 5xx, {time.time() - started:.0f} s")
    sys.exit(1 if totals["failed runs"] else 0)


main()
