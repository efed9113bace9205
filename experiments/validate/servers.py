"""Real Redis and memcached servers that kvsim starts, talks to and stops (for `kvsim validate`).

    with RedisServer(64 * 2**20, "allkeys-lru") as server:     # redis-server on PATH
        hits = server.get_many([b"k1", b"k2"])                 # [False, False]
        server.set_many([b"k1", b"k2"], [100, 100])
        server.stats()                                         # the server's own counters

A server is started on 127.0.0.1 at a free port, in a new session (Ctrl-C
reaches kvsim, which stops it), with its files in a temporary directory:
kvsim-<kind>-* under `scratch` if given, else under the system's temporary
directory ($TMPDIR, as Python's tempfile finds it), so that a caller (a
test, a CI job) may keep them in a folder of its own.
kvsim connects only once the process it started is listening on that port
(read from /proc where there is one) and checks the pid the server reports,
so it never talks to a server it did not start.  ``stop`` (also on leaving
the ``with`` block, whatever the reason) ends the process and removes the
directory.

The protocols are a few lines each, spoken over one socket with pipelining:
RESP (Redis) and memcached's text protocol.  No client library is needed:
what validation sends is GET and SET of plain keys, in batches, and a
library's per-command objects would only slow the batches down.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from policies.server_memory import MEMCACHED_ITEM_MAX

_START_TIMEOUT = 10.0  # seconds for a server to listen
_STOP_TIMEOUT = 5.0  # seconds for a server to exit on SIGTERM before SIGKILL


class ServerError(RuntimeError):
    """The server could not be started, or stopped answering."""


class Server:
    """A server process of our own and one connection to it.  Subclasses speak the protocol."""

    binary = ""
    kind = ""
    package = ""  # the Debian package that installs `binary`
    #: the longest value the server accepts in one SET (its default setting, named in `value_limit`)
    max_value = 0
    value_limit = ""

    def __init__(self, scratch: Path | None = None):
        self.scratch = scratch  # where the server's directory is made (None: the system's temporary directory)
        self.process: subprocess.Popen | None = None
        self.directory: Path | None = None
        self.path = ""
        self.port = 0
        self.sock: socket.socket | None = None
        self.reader = None
        self.last_log = "no log"  # the log's last line, kept when the directory goes

    # -- lifetime --------------------------------------------------------------------------
    def command_line(self, port: int) -> list[str]:
        raise NotImplementedError

    def start(self) -> Server:
        path = shutil.which(self.binary)
        if path is None:
            raise FileNotFoundError(f"{self.binary} not found on PATH (Debian: apt-get install {self.package})")
        self.path = path
        self.directory = Path(tempfile.mkdtemp(prefix=f"kvsim-{self.kind}-", dir=self.scratch))
        for _ in range(5):  # a port taken between our look and the server's bind: try another
            self.port = free_port()
            with open(self.directory / "server.log", "ab") as log:  # the child keeps its own copy
                self.process = subprocess.Popen(
                    [path, *self.command_line(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                    start_new_session=True,  # Ctrl-C reaches kvsim, which stops the server itself
                )
            if self._wait_listening():
                self._connect()
                return self
            self.process.wait()
        raise ServerError(f"{self.binary} did not start: {self.log_tail()}")

    def _wait_listening(self) -> bool:
        """True once our process listens on our port; False if it exited (the port was taken)."""
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            if listening(self.process.pid, self.port):
                return True
            time.sleep(0.01)
        raise ServerError(f"{self.binary} did not listen within {_START_TIMEOUT:.0f} s: {self.log_tail()}")

    def _connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.sock.makefile("rb", buffering=1 << 20)
        pid = self.pid()
        if pid != self.process.pid:
            self.stop()
            raise ServerError(f"port {self.port} is answered by pid {pid}, not by the {self.binary} kvsim started")

    def stop(self) -> None:
        """End the process (SIGTERM, then SIGKILL) and remove its directory; safe to call twice."""
        for stream in (self.reader, self.sock):
            if stream is not None:
                stream.close()
        self.reader = self.sock = None
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.directory is not None:
            self.last_log = self.log_tail()
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *_exc_info) -> None:
        self.stop()

    def log_tail(self) -> str:
        """The last line the server logged (kept after ``stop``)."""
        if self.directory is None:
            return self.last_log
        try:
            lines = (self.directory / "server.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return "no log"
        return lines[-1] if lines else "empty log"

    # -- reading replies --------------------------------------------------------------------
    def _line(self) -> bytes:
        line = self.reader.readline()
        if not line:
            raise ServerError(f"{self.binary} closed the connection: {self.log_tail()}")
        return line

    def _skip(self, n: int) -> None:
        """Read and drop `n` bytes (a value we asked for, and only count)."""
        while n:
            chunk = self.reader.read(min(n, 1 << 20))
            if not chunk:
                raise ServerError(f"{self.binary} closed the connection: {self.log_tail()}")
            n -= len(chunk)

    # -- what validation needs ----------------------------------------------------------------
    def pid(self) -> int:
        raise NotImplementedError

    def version(self) -> str:
        raise NotImplementedError

    def get_many(self, keys: list[bytes]) -> list[bool]:
        """GET each key (pipelined); True for each hit."""
        raise NotImplementedError

    def set_many(self, keys: list[bytes], sizes: list[int]) -> int:
        """SET each key to a value of its size (pipelined); the number the server refused.

        A value longer than `max_value` is not sent: the server refuses it
        (memcached: "object too large"; Redis closes the connection on a bulk
        string beyond proto-max-bulk-len), and it is counted refused.
        """
        fitting = [(key, size) for key, size in zip(keys, sizes) if size <= self.max_value]
        refused = len(keys) - len(fitting)
        if fitting:
            refused += self._set_many([key for key, _ in fitting], [size for _, size in fitting])
        return refused

    def _set_many(self, keys: list[bytes], sizes: list[int]) -> int:
        """SET each key to a value of its size (pipelined, each at most `max_value`); the number refused."""
        raise NotImplementedError

    def stats(self) -> dict:
        """The server's own counters: hits, misses, keys, evictions, memory_used."""
        raise NotImplementedError


class RedisServer(Server):
    """redis-server with `maxmemory` and a `maxmemory-policy`, no persistence."""

    binary = "redis-server"
    kind = "redis"
    package = "redis-server"
    max_value = 512 * 1024 * 1024
    value_limit = "its proto-max-bulk-len, 512MiB"

    def __init__(self, memory: int, policy: str = "allkeys-lru", scratch: Path | None = None):
        super().__init__(scratch)
        self.memory, self.policy = memory, policy

    def command_line(self, port):
        return [
            *("--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes"),
            *("--maxmemory", str(self.memory), "--maxmemory-policy", self.policy),
            *("--save", "", "--appendonly", "no", "--dir", str(self.directory), "--daemonize", "no"),
        ]

    def call(self, *args: bytes):
        self.sock.sendall(resp(args))
        return self._reply()

    def _reply(self):
        """One RESP reply: bytes for a bulk string (None for nil), int, or the status/error line."""
        line = self._line()
        kind, rest = line[:1], line[1:-2]
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.reader.read(n + 2)[:-2]
        if kind == b":":
            return int(rest)
        if kind == b"*":
            return [self._reply() for _ in range(int(rest))]
        return line[:-2]  # +OK or -ERR ...

    def info(self, section: str) -> dict:
        text = self.call(b"INFO", section.encode()).decode()
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line and not line.startswith("#"))

    def config(self, name: str) -> str:
        return self.call(b"CONFIG", b"GET", name.encode())[1].decode()

    def pid(self):
        return int(self.info("server")["process_id"])

    def version(self):
        return self.info("server")["redis_version"]

    def get_many(self, keys):
        self.sock.sendall(b"".join(b"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n" % (len(k), k) for k in keys))
        hits = []
        for _ in keys:
            n = int(self._line()[1:-2])
            if n >= 0:
                self._skip(n + 2)
            hits.append(n >= 0)
        return hits

    def _set_many(self, keys, sizes):
        self.sock.sendall(
            b"".join(
                b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, n, value(n)) for k, n in zip(keys, sizes)
            )
        )
        return sum(not self._line().startswith(b"+OK") for _ in keys)

    def stats(self):
        stats, memory = self.info("stats"), self.info("memory")
        return {
            "hits": int(stats["keyspace_hits"]),
            "misses": int(stats["keyspace_misses"]),
            "keys": self.call(b"DBSIZE"),
            "evictions": int(stats["evicted_keys"]),
            "memory_used": int(memory["used_memory"]),
        }

    def warm_up(self, keys: int, value_bytes: int) -> None:
        """Serve one batch as large as the replay's (SET, GET), then empty the server again:
        the memory it then counts is that of a server in use with no keys."""
        names = [b"kvsim-warm-%05d" % i for i in range(keys)]
        self.set_many(names, [value_bytes] * keys)
        self.get_many(names)
        self.call(b"FLUSHALL", b"SYNC")

    def settings(self) -> dict:
        names = ("maxmemory", "maxmemory-policy", "maxmemory-samples", "lfu-log-factor", "lfu-decay-time", "hz")
        return {name: self.config(name) for name in names}


class MemcachedServer(Server):
    """memcached with `-m` megabytes, its growth factor `-f` if given, and its default settings otherwise."""

    binary = "memcached"
    kind = "memcached"
    package = "memcached"
    max_value = MEMCACHED_ITEM_MAX
    value_limit = "its item size max, -I 1m"

    def __init__(self, megabytes: int, growth_factor: float | None = None, scratch: Path | None = None):
        super().__init__(scratch)
        self.megabytes, self.growth_factor = megabytes, growth_factor

    def command_line(self, port):
        user = ["-u", pwd.getpwuid(os.geteuid()).pw_name] if os.geteuid() == 0 else []  # root must say so
        factor = ["-f", repr(self.growth_factor)] if self.growth_factor is not None else []
        return ["-l", "127.0.0.1", "-p", str(port), "-U", "0", "-m", str(self.megabytes), *factor, *user]

    def _stats(self, which: bytes = b"") -> dict:
        self.sock.sendall(b"stats %s\r\n" % which if which else b"stats\r\n")
        found = {}
        while (line := self._line()) != b"END\r\n":
            _, name, text = line.decode().rstrip("\r\n").split(" ", 2)
            found[name] = text
        return found

    def pid(self):
        return int(self._stats()["pid"])

    def version(self):
        return self._stats()["version"]

    def get_many(self, keys):
        self.sock.sendall(b"get " + b" ".join(keys) + b"\r\n")
        found = set()
        while (line := self._line()) != b"END\r\n":  # VALUE <key> <flags> <bytes>
            _, key, _, size = line.split()
            self._skip(int(size) + 2)
            found.add(key)
        return [key in found for key in keys]

    def _set_many(self, keys, sizes):
        self.sock.sendall(b"".join(b"set %s 0 0 %d\r\n%s\r\n" % (k, n, value(n)) for k, n in zip(keys, sizes)))
        return sum(self._line() != b"STORED\r\n" for _ in keys)

    def stats(self):
        stats = self._stats()
        return {
            "hits": int(stats["get_hits"]),
            "misses": int(stats["get_misses"]),
            "keys": int(stats["curr_items"]),
            "evictions": int(stats["evictions"]),
            "memory_used": int(self._stats(b"slabs")["total_malloced"]),
            "slabs_moved": int(stats.get("slabs_moved", 0)),
        }

    def settings(self) -> dict:
        names = (
            "maxbytes",
            "growth_factor",
            "chunk_size",
            "item_size_max",
            "slab_chunk_max",
            "lru_segmented",
            "hot_lru_pct",
            "warm_lru_pct",
            "hot_max_factor",
            "warm_max_factor",
            "cas_enabled",
            "slab_automove",
            "num_threads",
        )
        found = self._stats(b"settings")
        return {name: found[name] for name in names if name in found}


# -- helpers -----------------------------------------------------------------------------------

_VALUE = b"v" * (1 << 20)  # values are this byte repeated: never a number, which Redis would store as one


def value(size: int) -> bytes:
    """A value of `size` bytes."""
    return _VALUE[:size] if size <= len(_VALUE) else b"v" * size


def resp(args) -> bytes:
    """A command in RESP: an array of bulk strings."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)


def free_port() -> int:
    """A TCP port nobody listens on at 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(pid: int, port: int) -> bool:
    """Whether process `pid` has a socket listening on 127.0.0.1:`port` (Linux /proc).

    Where there is no /proc, True once anything listens; the pid the server
    reports is checked after connecting anyway.
    """
    table = Path("/proc/net/tcp")
    if not table.exists():
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0
    address = f"0100007F:{port:04X}"
    inodes = set()
    for line in table.read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == address and fields[3] == "0A":  # LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    if not inodes:
        return False
    try:
        return any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process is gone, or fds are changing under us
        return False
