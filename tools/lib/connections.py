#!/usr/bin/env python3
"""Connections cannot pin a node: real stations keep syncing while an attacker holds connections.

    connections.py BIN_DIR [--target hub|station] [--connections 1500] [--stalled 20] [--seconds 40]
                           [--stations 4] [--idle-timeout 30] [--body-timeout 120] [--rss-bound-mb 400]

One run against a real `hub serve` (or `station serve --token`) on loopback:
  - the attacker, from 12 loopback addresses (127.0.0.2 to 127.0.0.13), holds `--connections`
    connections for the whole run, opening each again a second after the node closes it: a third
    bare TCP connections that send nothing, a third requests cut off in their headers, a third
    headers dripping in a byte every 2 s;
  - with a valid token, `--stalled` pushes declaring a 31 MiB body send 30 MiB and stall, and as
    many drip theirs in at 1 KiB every 2 s (each opened again 5 s after the node ends it);
  - with the same token, from 10 more addresses (127.0.0.20 to 127.0.0.29), `--trickled` pushes
    declaring a 10 KB body send it a byte a second: more than the node's connections, each within
    every byte budget and never idle (the node takes 8 bodies of one caller at once, review round 9);
  - meanwhile `--stations` real stations (from 127.0.0.1) write a record and run `station sync`
    over and over, and `/v1/health` is asked once a second.
Checks: every honest sync exits 0; every health request is answered; at the end every station holds
every other station's records; the node's peak RSS (VmHWM) stays under `--rss-bound-mb`. Prints the
figures: connections the attacker opened and held at most, honest syncs and their p50 / p99 / max,
health answers and their max, the node's peak RSS.

The node runs with its default limits (`--idle-timeout` and `--body-timeout` pass the node's own
options, 30 s and 120 s by default). With 1,500 connections it holds more than half of the
connections it accepts, so it closes connections idle for 2 s (its idle-connection pressure) and
stations get in; a 150 s run with the defaults: 1,045 syncs, p99 0.75 s, peak RSS 144 MB at the
hub; 938 syncs, p99 1.05 s, peak RSS 139 MB at `station serve`.
"""
import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import servers

ATTACKER_ADDRESSES = [f"127.0.0.{i}" for i in range(2, 14)]
TRICKLE_ADDRESSES = [f"127.0.0.{i}" for i in range(20, 30)]


class Failure(Exception):
    pass


def run(*cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       env={**os.environ, "LOG_LEVEL": "error"}, timeout=600)
    if check and p.returncode != 0:
        raise Failure(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stdout}{p.stderr}")
    return p


def start_server(cmd, log_path):
    server = servers.Server(cmd, log_path, env={"LOG_LEVEL": "warning"})
    try:
        server.start()
    except servers.ServerError as e:
        raise Failure(str(e))
    return server.proc, server.port


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


class Attack:
    def __init__(self, port, token, stop_at):
        self.port, self.token, self.stop_at = port, token, stop_at
        self.opened = 0
        self.open_now = 0
        self.most_open = 0
        self.refused = 0

    async def hold(self, index, kind):
        addresses = TRICKLE_ADDRESSES if kind == "trickle-body" else ATTACKER_ADDRESSES
        address = addresses[index % len(addresses)]
        while time.time() < self.stop_at:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection("127.0.0.1", self.port, local_addr=(address, 0)), timeout=10)
            except (OSError, asyncio.TimeoutError):
                self.refused += 1
                await asyncio.sleep(1)
                continue
            self.opened += 1
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)
            try:
                await self.misbehave(kind, reader, writer)
            except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError):
                pass
            finally:
                self.open_now -= 1
                writer.close()
            await asyncio.sleep(5 if kind.endswith("body") else 1)

    async def closed(self, reader, seconds):
        """Waits up to `seconds` for the node to close the connection (or answer): True if it did."""
        try:
            data = await asyncio.wait_for(reader.read(65536), timeout=seconds)
            return True if not data else None
        except asyncio.TimeoutError:
            return False

    async def misbehave(self, kind, reader, writer):
        remaining = lambda: max(0.1, self.stop_at - time.time())  # noqa: E731
        if kind == "bare":
            await self.closed(reader, remaining())
        elif kind == "half-header":
            writer.write(b"GET /v1/health HTTP/1.1\r\nHost: node\r\n")
            await writer.drain()
            await self.closed(reader, remaining())
        elif kind == "drip-header":
            for byte in b"GET /v1/session HTTP/1.1\r\nHost: node\r\nX-Padding: " + b"a" * 4096:
                writer.write(bytes([byte]))
                await writer.drain()
                if await self.closed(reader, 2) is not False or time.time() > self.stop_at:
                    return
        elif kind == "trickle-body":
            # A small body (within every byte budget) a byte a second: never idle, never done.
            writer.write(f"POST /v1/changes HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer {self.token}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: 10000\r\n\r\n{{".encode())
            while time.time() < self.stop_at:
                writer.write(b" ")
                await writer.drain()
                if await self.closed(reader, 1) is not False:
                    return
        elif kind in ("stalled-body", "drip-body"):
            size = 31 << 20
            writer.write(f"POST /v1/changes HTTP/1.1\r\nHost: node\r\nAuthorization: Bearer {self.token}\r\n"
                         f"Content-Type: application/json\r\nContent-Length: {size}\r\n\r\n".encode())
            if kind == "stalled-body":
                writer.write(b'{"node":"snoop","changes":[],"pad":"')
                for _ in range(30):  # 30 of the 31 MiB, then nothing
                    writer.write(b"a" * (1 << 20))
                    await writer.drain()
                await self.closed(reader, remaining())
            else:
                writer.write(b'{"node":"snoop","changes":[],"pad":"')
                while time.time() < self.stop_at:
                    writer.write(b"a" * 1024)
                    await writer.drain()
                    if await self.closed(reader, 2) is not False:
                        return


async def honest_station(tools, db, peer, token, name, stop_at, times, failures):
    n = 0
    while time.time() < stop_at:
        n += 1
        p = await asyncio.create_subprocess_exec(
            tools["station"], "put", "--db", db, "volunteers", f"{name}-{n:04d}", json.dumps({"fullName": f"{name} {n}"}),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        _, err = await p.communicate()
        if p.returncode != 0:
            failures.append(f"{name} put: {err.decode()[-300:]}")
        started = time.time()
        p = await asyncio.create_subprocess_exec(
            tools["station"], "sync", "--db", db, "--peer", peer, "--token", token, "--json",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "LOG_LEVEL": "error"})
        out, err = await p.communicate()
        times.append(time.time() - started)
        if p.returncode != 0:
            failures.append(f"{name} sync exited {p.returncode}: {err.decode()[-500:]}")
        await asyncio.sleep(0.2)
    return n


async def health_probe(port, stop_at, times, failures):
    loop = asyncio.get_running_loop()
    while time.time() < stop_at:
        started = time.time()
        try:
            await loop.run_in_executor(None, lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/health", timeout=30).read())
            times.append(time.time() - started)
        except OSError as e:
            failures.append(f"/v1/health: {e}")
        await asyncio.sleep(1)


def percentile(values, q):
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("bin_dir")
    ap.add_argument("--target", choices=["hub", "station"], default="hub")
    ap.add_argument("--connections", type=int, default=1500)
    ap.add_argument("--stalled", type=int, default=20)
    ap.add_argument("--max-connections", type=int, default=0, help="the node's --max-connections (default: its own)")
    ap.add_argument("--sync-max", type=float, default=0, help="fail if an honest sync takes longer (0: no bound)")
    ap.add_argument("--trickled", type=int, default=1100,
                    help="small push bodies sent a byte a second with one token, from 10 more addresses (more than the node's connections)")
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--stations", type=int, default=4)
    ap.add_argument("--idle-timeout", type=float, default=30)
    ap.add_argument("--body-timeout", type=float, default=120)
    ap.add_argument("--rss-bound-mb", type=float, default=400)
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    tools = {name: os.path.join(args.bin_dir, name) for name in ("hub", "station")}
    work = tempfile.mkdtemp(prefix="stationsync-connections-")
    proc = None
    try:
        names = [f"desk-{i}" for i in range(args.stations)]
        limits = ["--idle-timeout", str(args.idle_timeout), "--body-timeout", str(args.body_timeout)]
        if args.max_connections:
            limits += ["--max-connections", str(args.max_connections)]
        if args.target == "hub":
            node_db = os.path.join(work, "hub.sqlite")
            run(tools["hub"], "init", "--db", node_db)
            tokens = {name: run(tools["hub"], "token", "add", "--db", node_db, name).stdout.strip().split()[-1] for name in names}
            attacker_token = run(tools["hub"], "token", "add", "--db", node_db, "snoop", "--read", "volunteers", "--write", "volunteers").stdout.strip().split()[-1]
            proc, port = start_server([tools["hub"], "serve", "--db", node_db, "--listen", "127.0.0.1:0", *limits], os.path.join(work, "node.log"))
        else:
            node_db = os.path.join(work, "lan.sqlite")
            run(tools["station"], "init", "--db", node_db, "--node", "lan")
            secret = "lan-secret-0123456789"
            tokens = {name: secret for name in names}
            attacker_token = secret
            proc, port = start_server([tools["station"], "serve", "--db", node_db, "--listen", "127.0.0.1:0", "--token", secret, *limits],
                                      os.path.join(work, "node.log"))
        dbs = {}
        for name in names:
            dbs[name] = os.path.join(work, f"{name}.sqlite")
            run(tools["station"], "init", "--db", dbs[name], "--node", name)
        peer = f"http://127.0.0.1:{port}"
        baseline = peak_rss_mb(proc.pid)

        async def everything():
            stop_at = time.time() + args.seconds
            attack = Attack(port, attacker_token, stop_at)
            kinds = ["bare", "half-header", "drip-header"]
            tasks = [asyncio.create_task(attack.hold(i, kinds[i % 3])) for i in range(args.connections)]
            tasks += [asyncio.create_task(attack.hold(i, "stalled-body")) for i in range(args.stalled)]
            tasks += [asyncio.create_task(attack.hold(i, "drip-body")) for i in range(args.stalled)]
            tasks += [asyncio.create_task(attack.hold(i, "trickle-body")) for i in range(args.trickled)]
            await asyncio.sleep(2)  # the attack first
            sync_times, sync_failures, health_times, health_failures = [], [], [], []
            honest = [asyncio.create_task(honest_station(tools, dbs[n], peer, tokens[n], n, stop_at, sync_times, sync_failures)) for n in names]
            probe = asyncio.create_task(health_probe(port, stop_at, health_times, health_failures))
            writes = await asyncio.gather(*honest)
            await probe
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            return attack, writes, sync_times, sync_failures, health_times, health_failures

        attack, writes, sync_times, sync_failures, health_times, health_failures = asyncio.run(everything())
        peak = peak_rss_mb(proc.pid)
        problems = []
        if proc.poll() is not None:
            problems.append(f"the node exited with {proc.returncode}")
        problems += sync_failures[:10]
        problems += health_failures[:10]
        if not sync_times:
            problems.append("no honest sync ran")
        if args.sync_max and sync_times and max(sync_times) > args.sync_max:
            problems.append(f"an honest sync took {max(sync_times):.1f} s, over --sync-max {args.sync_max:.0f} s (kept out)")
        if peak > args.rss_bound_mb:
            problems.append(f"the node's peak RSS {peak:.0f} MB is over the bound {args.rss_bound_mb:.0f} MB")
        # Afterwards: every station holds every other's records.
        if not problems:
            for _ in range(2):
                for name in names:
                    run(tools["station"], "sync", "--db", dbs[name], "--peer", peer, "--token", tokens[name])
            for name in names:
                listed = json.loads(run(tools["station"], "list", "--db", dbs[name], "volunteers", "--json").stdout)
                have = {r["id"] for r in listed}
                for other, n in zip(names, writes):
                    missing = [f"{other}-{k:04d}" for k in range(1, n + 1) if f"{other}-{k:04d}" not in have]
                    if missing:
                        problems.append(f"{name} lacks {len(missing)} records of {other}, e.g. {missing[0]}")
        figures = {
            "target": args.target, "seconds": args.seconds,
            "attackerConnectionsOpened": attack.opened, "attackerConnectionsOpenAtOnce": attack.most_open,
            "attackerConnectsFailed": attack.refused, "stalledBodies": args.stalled, "drippingBodies": args.stalled,
            "honestSyncs": len(sync_times), "syncP50": round(statistics.median(sync_times), 3) if sync_times else None,
            "syncP99": round(percentile(sync_times, 0.99), 3), "syncMax": round(max(sync_times, default=0), 3),
            "healthAnswered": len(health_times), "healthMax": round(max(health_times, default=0), 3),
            "nodeRSSMBBefore": round(baseline, 1), "nodeRSSMBPeak": round(peak, 1), "rssBoundMB": args.rss_bound_mb,
        }
        print(json.dumps(figures))
        if problems:
            print("connections: FAILED\n  " + "\n  ".join(problems), file=sys.stderr)
            with open(os.path.join(work, "node.log")) as f:
                print(f.read()[-3000:], file=sys.stderr)
            sys.exit(1)
        print(f"connections ({args.target}): {len(sync_times)} honest syncs all succeeded under {attack.most_open} attacker connections "
              f"(p99 {figures['syncP99']} s); node peak RSS {figures['nodeRSSMBPeak']} MB")
    finally:
        if proc and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
