"""A fault-injecting HTTP proxy for loopback tests (netem is not in this kernel, toxiproxy is not
packaged for Debian).

It sits between a station and the hub. Each request the station sends is read whole (headers and a
Content-Length body: the StationSync client always sends one), forwarded on a fresh connection to
the hub with `Connection: close`, and the answer is relayed back; then the client connection is
closed. Before that, a seeded random draw picks at most one fault for the request:

    reset-before     the client connection is reset; the hub never sees the request
    reset-request    part of the request reaches the hub, then both connections are reset
    drop-response    the hub answers in full, the client connection is reset before any byte of it
    reset-response   part of the answer reaches the client, then the connection is reset
    truncate         part of the answer reaches the client, then a clean close (short body)
    stall            the answer is held past the client's timeout, then the connection closes
    duplicate        the request reaches the hub twice in a row; the client gets the second answer
    replay-later     the request is stored and sent to the hub again, unannounced, before a later one
    slow             request and answer trickle through in small chunks (a slow 3G link)

Every request and fault is counted; status codes of the hub's answers are tallied, so a 5xx is
visible. Usage (from Python):

    proxy = FaultProxy(upstream_port, seed=7, fault_rate=0.35, stall_seconds=4)
    port = proxy.start()            # a background thread runs the asyncio loop
    ...
    proxy.stop(); print(proxy.counts)
"""
import asyncio
import collections
import random
import re
import socket
import struct
import threading

FAULTS = ["reset-before", "reset-request", "drop-response", "reset-response", "truncate", "stall",
          "duplicate", "replay-later", "slow"]
# Relative weights of the faults when one is drawn; stalls cost seconds of waiting, so fewer.
WEIGHTS = [10, 10, 12, 12, 12, 2, 12, 10, 12]
MAX_REQUEST = 96 * 1024 * 1024


class BadRequest(Exception):
    pass


def _reset(writer):
    """Closes a connection with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


async def _read_request(reader):
    """One HTTP/1.1 request as bytes, with `Connection: close` forced; None at a clean EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial:
            return None
        raise BadRequest("connection closed inside the request head")
    lines = head[:-4].split(b"\r\n")
    length = 0
    kept = [lines[0]]
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        key = name.strip().lower()
        if key == b"content-length":
            length = int(value.strip())
        elif key == b"transfer-encoding":
            raise BadRequest("chunked request bodies are not supported by the fault proxy")
        if key in (b"connection", b"keep-alive"):
            continue
        kept.append(line)
    if length > MAX_REQUEST:
        raise BadRequest("request too large for the fault proxy")
    kept.append(b"Connection: close")
    body = await reader.readexactly(length) if length else b""
    return b"\r\n".join(kept) + b"\r\n\r\n" + body


class FaultProxy:
    def __init__(self, upstream_port, seed, fault_rate=0.35, stall_seconds=4.0, slow_bytes_per_second=256 * 1024,
                 upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.random = random.Random(seed)
        self.fault_rate = fault_rate
        self.stall_seconds = stall_seconds
        self.slow_rate = slow_bytes_per_second
        self.counts = collections.Counter()   # requests, faults by name
        self.statuses = collections.Counter()  # the hub's status codes, as seen by the proxy
        self.enabled = True
        self._stored = []
        self._loop = None
        self._thread = None
        self._server = None
        self._ready = threading.Event()

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self):
        """Starts listening on a free loopback port (returned) in a background thread."""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        return self.port

    def _run(self):
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    def stop(self):
        if self._loop is None:
            return

        async def shutdown():
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop = None

    # -- one client connection ---------------------------------------------------------------

    def _draw(self):
        if not self.enabled or self.random.random() >= self.fault_rate:
            return None
        return self.random.choices(FAULTS, WEIGHTS)[0]

    async def _client(self, reader, writer):
        try:
            request = await _read_request(reader)
            if request is None:
                writer.close()
                return
            self.counts["requests"] += 1
            # A request stored earlier reaches the hub again, ahead of this one (reordering).
            if self._stored and self.random.random() < 0.5:
                await self._exchange(self._stored.pop(0))
                self.counts["replayed"] += 1
            fault = self._draw()
            if fault:
                self.counts[fault] += 1
            await self._serve(fault, request, writer)
        except (BadRequest, asyncio.IncompleteReadError, ConnectionError, ValueError):
            self.counts["client-errors"] += 1
            _reset(writer)
        except asyncio.CancelledError:
            # The proxy is stopping (a stall in progress): end quietly.
            _reset(writer)

    async def _serve(self, fault, request, writer):
        if fault == "reset-before":
            _reset(writer)
            return
        if fault == "reset-request":
            await self._exchange(request[: self.random.randrange(1, len(request))], reset=True)
            _reset(writer)
            return
        if fault == "duplicate":
            await self._exchange(request)
        if fault == "replay-later":
            self._stored.append(request)
        answer = await self._exchange(request, slow=fault == "slow")
        if fault == "drop-response":
            _reset(writer)
            return
        if fault in ("reset-response", "truncate"):
            cut = self.random.randrange(1, max(2, len(answer)))
            writer.write(answer[:cut])
            await writer.drain()
            if fault == "reset-response":
                _reset(writer)
            else:
                writer.close()
            return
        if fault == "stall":
            await asyncio.sleep(self.stall_seconds)
            _reset(writer)
            return
        await self._send(writer, answer, slow=fault == "slow")
        writer.close()

    async def _exchange(self, request, reset=False, slow=False):
        """Sends a request to the hub on a new connection; returns the whole answer ('' if reset)."""
        try:
            reader, writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            self.counts["upstream-down"] += 1
            return b""
        try:
            await self._send(writer, request, slow=slow)
            if reset:
                _reset(writer)
                return b""
            answer = await reader.read()
        except ConnectionError:
            self.counts["upstream-errors"] += 1
            _reset(writer)
            return b""
        writer.close()
        m = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
        self.statuses[m.group(1).decode() if m else "none"] += 1
        return answer

    async def _send(self, writer, data, slow=False):
        if not slow:
            writer.write(data)
            await writer.drain()
            return
        chunk = 4096
        for i in range(0, len(data), chunk):
            writer.write(data[i:i + chunk])
            await writer.drain()
            await asyncio.sleep(chunk / self.slow_rate)
