"""`kvsim validate`: a trace through a real Redis or memcached, and through kvsim's model of it.

    kvsim validate redis TRACE --memory 64MiB [--policy allkeys-lru|allkeys-lfu|allkeys-random]
    kvsim validate memcached TRACE --memory 64MiB [--growth-factor 1.25]
                   [--rate 20000] [--requests N] [--value-size BYTES] [--out DIR] [--force] [--seed S]

It starts the server (the binary on PATH) on 127.0.0.1 at a free port with
that memory limit and policy (experiments/validate/servers.py), and replays the trace
as a cache-aside client does: GET each key, and SET it, with a value of the
trace's size, when the GET missed.  Requests go in pipelined batches of
distinct keys (the batch's GETs, then its SETs), paced at --rate requests a
second; the wall-clock time of each GET and SET is recorded.  The server's
own hit and miss counters and its resident keys are read at the end.

The same batches, at the same times, then go through kvsim's model of the
server (redis-lru, redis-lfu, redis-random or memcached, with the server's
settings and, for Redis, its measured memory with no keys) as through a
client of its own: a batch's GETs, then SETs of what *the model* missed.
For comparison, they also go through textbook LRU at the same memory,
counting the values' bytes only (what a simulator without a server model
predicts), and counting what the server charges per entry (the algorithm's
part of the gap).
It prints the hit ratios and writes DIR/validate.json; the server is
stopped and its files removed at the end, also on Ctrl-C.  A DIR that holds
anything already (another validation's report, or any other file) is
refused before the server starts, unless --force: then the report replaces
DIR's validate.json.

Keys are sent as 16 hexadecimal digits of the trace's 64-bit key id; values
are repeated bytes (never a number, which Redis would store as an integer).
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from experiments.config import ConfigError
from experiments.config.checks import Invalid, parse_bytes, shown
from experiments.output.domains import check_numbers
from experiments.output.outdir import LOCK_NAME, OutputError, atomic_write, check_out
from experiments.trace.inputs import MAX_COUNT
from experiments.validate.servers import MemcachedServer, RedisServer, Server
from policies import make_policy
from policies.server_memory import entry_bytes

REDIS_POLICIES = ("allkeys-lru", "allkeys-lfu", "allkeys-random")
KEY_BYTES = 16  # keys are sent as 16 hex digits
BATCH_REQUESTS = 64  # requests a pipelined batch at most
BATCH_BYTES = 64 * 1024  # value bytes a batch at most: Redis counts the replies it holds as used memory
MIB = 1024 * 1024
#: --memory at most: the server allocates up to this much on this machine
MAX_MEMORY = 2**40
#: --rate at most (requests a second: a pace no server reaches, so the replay goes as fast as it can)
MAX_RATE = 1e9
#: --rate and --seed when not given
DEFAULT_RATE, DEFAULT_SEED = "20000", "0"


class ValidateError(ConfigError):
    """A bad argument to `kvsim validate`: reported in one line, exit status 2."""


@dataclass
class Options:
    """The checked arguments."""

    server: str
    trace: Path
    memory: int
    policy: str | None
    rate: float
    requests: int | None
    value_size: int | None
    seed: int
    out: Path
    growth_factor: float | None = None  # memcached's -f (None: its default)


def check_options(
    server: str,
    trace: Path,
    memory: str,
    policy: str | None = None,
    rate: str = DEFAULT_RATE,
    requests: str | None = None,
    value_size: str | None = None,
    seed: str = DEFAULT_SEED,
    out: Path | None = None,
    growth_factor: str | None = None,
) -> Options:
    """The options of `kvsim validate`, each as its flag's text, checked before anything starts.

    A ValidateError names the first bad one by its flag.
    """
    try:
        memory_bytes = parse_bytes(memory)
    except Invalid as error:
        raise ValidateError(f"--memory {error}") from None
    if growth_factor is not None and server != "memcached":
        raise ValidateError("--growth-factor applies to memcached only: it is memcached's -f")
    if server == "memcached":
        if policy is not None:
            raise ValidateError("--policy applies to redis only: memcached has one eviction policy")
        if memory_bytes % MIB or memory_bytes < 2 * MIB:
            raise ValidateError(f"--memory for memcached is -m: whole MiB, at least 2MiB; got {memory!r}")
    elif policy is None:
        policy = "allkeys-lru"
    elif policy not in REDIS_POLICIES:
        raise ValidateError(f"--policy must be one of {', '.join(REDIS_POLICIES)}; got {policy!r}")
    if memory_bytes > MAX_MEMORY:
        raise ValidateError(
            f"--memory may be at most 1TiB (the server allocates it on this machine); got {shown(memory)}"
        )
    return Options(
        server=server,
        trace=trace,
        memory=memory_bytes,
        policy=policy,
        rate=_number(rate, "--rate", float, 1, MAX_RATE),
        requests=None if requests is None else _number(requests, "--requests", int, 1, MAX_COUNT),
        value_size=None if value_size is None else _value_size(value_size, SERVERS[server]),
        seed=_number(seed, "--seed", int, 0, 2**63 - 1),
        out=out or Path("results") / f"validate-{server}-{trace.name.split('.')[0]}",
        growth_factor=None if growth_factor is None else _growth_factor(growth_factor),
    )


def _growth_factor(text: str) -> float:
    """--growth-factor: memcached's -f, which it takes when above 1 (memcached.c); here also finite."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 1):
        raise ValidateError(f"--growth-factor must be a number > 1, as memcached's -f; got {text!r}")
    return value


def _number(text: str, flag: str, kind, low, high):
    try:
        value = kind(text)
    except (ValueError, OverflowError):
        value = None
    if value is None or not math.isfinite(value) or not low <= value <= high:
        what = "an integer" if kind is int else "a number"
        raise ValidateError(f"{flag} must be {what} from {low} to {high:.6g}; got {text!r}")
    return value


def _value_size(text: str, server: type[Server]) -> int:
    """--value-size: bytes from 0 to the longest value the server accepts (a longer one it refuses whole)."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= server.max_value:
        raise ValidateError(
            f"--value-size must be a whole number of bytes from 0 to {server.max_value} for {server.kind} "
            f"({server.value_limit}: the longest value it accepts); got {text!r}"
        )
    return value


#: the servers by name
SERVERS = {"redis": RedisServer, "memcached": MemcachedServer}


def server_for(options: Options) -> Server:
    """The server to start (not started yet): redis-server or memcached with the options' memory and policy."""
    if options.server == "redis":
        return RedisServer(options.memory, options.policy)
    return MemcachedServer(options.memory // MIB, growth_factor=options.growth_factor)


def refuse_another(out: Path, force: bool) -> None:
    """OutputError unless `out` is missing, empty (its writer lock aside) or --force: nothing is replaced unasked."""
    out = check_out(out)
    if force or not out.exists():
        return
    held = sorted(path.name for path in out.iterdir() if path.name != LOCK_NAME)
    if "validate.json" in held:
        raise OutputError(
            f"--out {out} holds another validation's report (validate.json); choose another --out, "
            "or pass --force to replace it"
        )
    if held:
        shown_names = ", ".join(held[:3]) + (", ..." if len(held) > 3 else "")
        raise OutputError(
            f"--out {out} is not empty (it holds {shown_names}); choose another --out, "
            "or pass --force to write validate.json there"
        )


def write_report(report: dict, options: Options) -> Path:
    """DIR/validate.json, its numbers checked first; its path."""
    path = options.out / "validate.json"
    check_numbers(report, "validate.json")
    atomic_write(path, json.dumps(report, indent=2) + "\n")
    return path


# -- the replay ------------------------------------------------------------------------------------


@dataclass
class Log:
    """What was sent: the requests' keys and sizes, cut into batches, each batch's times, the server's answers.

    A batch is its GETs at `get_times[i]`, then SETs of the keys that missed at
    `set_times[i]` (the GET time when nothing missed); a model replays it as
    the same client would: its GETs, then SETs of what *it* missed.
    """

    keys: list = field(default_factory=list)
    sizes: list = field(default_factory=list)
    hits: list = field(default_factory=list)  # the server's answer to each GET
    bounds: list = field(default_factory=list)  # (start, end) of each batch
    get_times: list = field(default_factory=list)  # seconds since the epoch
    set_times: list = field(default_factory=list)
    sets: int = 0  # SETs sent
    refused: int = 0  # SETs the server refused (out of memory, too large)


def batches(keys: list, sizes: list):
    """(start, end) of pipelined batches: distinct keys, at most BATCH_REQUESTS and BATCH_BYTES (one at least)."""
    start, n = 0, len(keys)
    while start < n:
        seen, total, end = set(), 0, start
        while end < n and end - start < BATCH_REQUESTS and keys[end] not in seen:
            if end > start and total + sizes[end] > BATCH_BYTES:
                break
            seen.add(keys[end])
            total += sizes[end]
            end += 1
        yield start, end
        start = end


def replay_on_server(server, keys: list, sizes: list, pace) -> Log:
    """Send one chunk of the trace: per batch, its GETs, then SETs of the misses."""
    log = Log(keys=keys, sizes=sizes)
    names = [b"%016x" % (key & 0xFFFF_FFFF_FFFF_FFFF) for key in keys]
    for start, end in batches(keys, sizes):
        pace(end - start)
        get_time = time.time()
        hits = server.get_many(names[start:end])
        missed = [i for i, hit in zip(range(start, end), hits) if not hit]
        set_time = time.time() if missed else get_time
        if missed:
            log.refused += server.set_many([names[i] for i in missed], [sizes[i] for i in missed])
        log.hits += hits
        log.bounds.append((start, end))
        log.get_times.append(get_time)
        log.set_times.append(set_time)
        log.sets += len(missed)
    return log


class Pacer:
    """Holds requests back to `rate` a second from the first one."""

    def __init__(self, rate: float):
        self.rate, self.sent, self.start = rate, 0, None

    def __call__(self, requests: int) -> None:
        if self.start is None:
            self.start = time.monotonic()
        delay = self.start + self.sent / self.rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self.sent += requests


def replay_log(policy, log: Log, sizes: list | None = None) -> list:
    """The logged batches through a policy, as a cache-aside client (with its own sizes if
    given): GETs, then SETs of the policy's misses.  Whether each GET hit."""
    timed, hits = policy.timed, []
    lookup, insert = policy.lookup, policy.insert
    sizes = sizes or log.sizes
    keys = log.keys
    for (start, end), get_time, set_time in zip(log.bounds, log.get_times, log.set_times):
        if timed:
            policy.advance(get_time)
        answers = [lookup(key) for key in keys[start:end]]
        if timed:
            policy.advance(set_time)
        for i, hit in zip(range(start, end), answers):
            if not hit:
                insert(keys[i], sizes[i])
        hits += answers
    return hits


# -- the comparison --------------------------------------------------------------------------------


def models(server, options: Options) -> dict:
    """kvsim's model of the running server, and textbook LRU at the same memory."""
    settings = server.settings()
    if options.server == "redis":
        server.warm_up(BATCH_REQUESTS, BATCH_BYTES // BATCH_REQUESTS)
        baseline = server.stats()["memory_used"]  # the empty server, in use
        name = "redis-" + options.policy.removeprefix("allkeys-")
        params = {"samples": int(settings["maxmemory-samples"]), "baseline": baseline, "seed": options.seed}
        if name == "redis-random":
            params.pop("samples")
        if name == "redis-lfu":
            params.update(log_factor=float(settings["lfu-log-factor"]), decay_time=int(settings["lfu-decay-time"]))
        room = options.memory - baseline
    else:
        name = "memcached"
        params = {
            # "stats settings" prints -f to two decimals: the factor asked for, when one was
            "growth_factor": options.growth_factor or float(settings["growth_factor"]),
            "min_chunk": int(settings["chunk_size"]),
            "hot_pct": int(settings["hot_lru_pct"]),
            "warm_pct": int(settings["warm_lru_pct"]),
            "hot_max_factor": float(settings["hot_max_factor"]),
            "warm_max_factor": float(settings["warm_max_factor"]),
            "cas": settings["cas_enabled"] == "yes",
        }
        room = options.memory
    try:
        model = make_policy(name, options.memory, capacity_bytes=True, key_bytes=KEY_BYTES, **params)
    except ValueError as error:
        raise ValidateError(f"--memory: {error}") from None
    return {
        "settings": settings,
        "name": name,
        "params": params,
        "model": model,
        "lru": make_policy("lru", options.memory),
        "lru_entries": make_policy("lru", max(1, room)),
    }


def validate(server, trace, options: Options) -> dict:
    """Replay the trace through the started server and the models; the report."""
    built = models(server, options)  # (warms Redis up first: count from here)
    before = server.stats()
    kinds = ("model", "lru", "lru_entries")
    hits = dict.fromkeys(kinds, 0)
    served = agreed = gets = sets = refused = 0
    pace = Pacer(options.rate)
    started = time.monotonic()
    for batch in trace.chunks():
        keys = batch.key.tolist()
        sizes = [options.value_size] * len(keys) if options.value_size is not None else batch.size.tolist()
        if options.requests is not None:
            keys, sizes = keys[: options.requests - gets], sizes[: options.requests - gets]
        if not keys:
            break
        log = replay_on_server(server, keys, sizes, pace)
        answers = replay_log(built["model"], log)
        hits["model"] += sum(answers)
        agreed += sum(a == b for a, b in zip(answers, log.hits))
        served += sum(log.hits)
        hits["lru"] += sum(replay_log(built["lru"], log))
        entry_sizes = [entry_bytes(options.server, KEY_BYTES, size) for size in log.sizes]
        hits["lru_entries"] += sum(replay_log(built["lru_entries"], log, entry_sizes))
        gets += len(keys)
        sets += log.sets
        refused += log.refused
    seconds = time.monotonic() - started
    if gets == 0:
        raise ValidateError(f"{options.trace}: no requests to replay")
    after = server.stats()
    counted = {name: after[name] - before[name] for name in ("hits", "misses")}
    model = built["model"]
    real = counted["hits"] / gets
    return {
        "server": options.server,
        "version": server.version(),
        "binary": server.path,
        "pid": server.process.pid,
        "machine": platform.machine(),
        "trace": str(options.trace),
        "memory": options.memory,
        "policy": options.policy,
        "settings": built["settings"],
        "value_size": options.value_size,
        "requests": gets,
        "sets": sets,
        "sets_refused": refused,
        "rate": options.rate,
        "achieved_rate": gets / seconds if seconds else None,
        "seconds": seconds,
        "server_hits": counted["hits"],
        "server_misses": counted["misses"],
        "server_counters_match": counted["hits"] == served and counted["hits"] + counted["misses"] == gets,
        "server_keys": after["keys"],
        "server_evictions": after["evictions"] - before["evictions"],
        "server_memory_used": after["memory_used"],
        "server_slabs_moved": after.get("slabs_moved"),
        "server_hit_ratio": real,
        "model": built["name"],
        "model_params": {**built["params"], "key_bytes": KEY_BYTES},
        "model_hit_ratio": hits["model"] / gets,
        "model_keys": len(model),
        "difference": hits["model"] / gets - real,
        "same_answer": agreed / gets,
        "lru_hit_ratio": hits["lru"] / gets,
        "lru_entries_hit_ratio": hits["lru_entries"] / gets,
    }


def describe(report: dict) -> str:
    """The report as a few lines for the terminal."""
    memory = report["memory"]
    label = f"{memory // MIB}MiB" if memory % MIB == 0 else f"{memory} bytes"
    setting = (
        f"{report['policy']}, maxmemory {label}"
        if report["server"] == "redis"
        else f"-m {memory // MIB}, -f {report['settings']['growth_factor']}"
    )
    binary = Path(report["binary"]).name
    rows = [
        (f"real {binary}", report["server_hit_ratio"], report["server_keys"]),
        (f"kvsim {report['model']}", report["model_hit_ratio"], report["model_keys"]),
        ("textbook LRU, value bytes", report["lru_hit_ratio"], None),
        ("textbook LRU, server's bytes", report["lru_entries_hit_ratio"], None),
    ]
    lines = [
        f"{report['server']} {report['version']} ({setting}), {report['requests']} requests of {report['trace']}",
        f"paced at {report['rate']:g}/s (achieved {report['achieved_rate']:.0f}/s, {report['seconds']:.1f} s); "
        f"{report['sets']} SETs ({report['sets_refused']} refused)",
        f"  {'':<30} {'hit ratio':>10} {'keys':>10}",
    ]
    lines += [f"  {name:<30} {ratio:>10.5f} {'' if keys is None else keys:>10}" for name, ratio, keys in rows]
    lines.append(f"  {'difference (kvsim - real)':<30} {report['difference']:>+10.5f}")
    if not report["server_counters_match"]:
        lines.append("  note: the server's counters differ from the replies it sent")
    return "\n".join(lines)
