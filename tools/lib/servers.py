"""The one way the drivers start a StationSync server process (`hub serve`, `station serve`) on
loopback and stop it: wait for its flushed `listening on URL` line and for `/v1/health` to
answer, and say why when it exits instead (the tail of its log)."""

import os
import re
import signal
import subprocess
import time
import urllib.request


class ServerError(Exception):
    """The server exited or did not answer in time."""


class Server:
    """A server process. `cmd` holds its `--listen HOST:PORT` (port 0: a free one; `start` again
    reuses the port found the first time, so a restarted hub keeps its address). Its stdout goes
    to `out_path`, its stderr to `err_path` (or with stdout when None)."""

    def __init__(self, cmd, out_path, err_path=None, env=None):
        self.cmd, self.out_path, self.err_path = list(cmd), out_path, err_path
        self.env = {**os.environ, **(env or {})}
        self.proc = None
        self.url = None

    @property
    def port(self):
        return int(self.url.rsplit(":", 1)[1]) if self.url else 0

    def start(self, timeout=60):
        cmd = list(self.cmd)
        if self.url and "--listen" in cmd:
            cmd[cmd.index("--listen") + 1] = f"127.0.0.1:{self.port}"
        out = open(self.out_path, "a+")
        begin = out.tell()
        err = open(self.err_path, "a") if self.err_path else subprocess.STDOUT
        self.proc = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            out.seek(begin)
            m = re.search(r"listening on (https?://\S+)", out.read())
            if m and healthy(m.group(1).rstrip("/")):
                self.url = m.group(1).rstrip("/")
                return self
            if self.proc.poll() is not None:
                raise ServerError(f"{os.path.basename(cmd[0])} {cmd[1]} exited with {self.proc.returncode}:\n{self.tail()}")
            time.sleep(0.05)
        self.kill()
        raise ServerError(f"{os.path.basename(cmd[0])} {cmd[1]} did not answer /v1/health within {timeout} s:\n{self.tail()}")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        """SIGKILL: no shutdown at all, as a power cut is for the process."""
        if self.alive():
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(30)

    def stop(self, timeout=30):
        """SIGTERM (a graceful shutdown), then SIGKILL after `timeout` seconds. Returns the exit code."""
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.returncode if self.proc else None

    def tail(self, lines=30):
        text = ""
        for path in filter(None, (self.out_path, self.err_path)):
            try:
                text += "".join(open(path, errors="replace").readlines()[-lines:])
            except OSError:
                pass
        return text


def healthy(url):
    try:
        urllib.request.urlopen(url + "/v1/health", timeout=2).read()
        return True
    except OSError:
        return False
