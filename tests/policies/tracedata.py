"""Request sequences for the policy tests, and a bridge to libcachesim.

* ``block_traces()`` are the block-I/O traces: a generated one
  (tests/trace_files.py's ``block_io_trace``) always, and the shared
  CloudPhysics sample (libCacheSim's oracleGeneral binary: 24-byte
  little-endian records) where ``../shared`` next to the repository has it.
* ``zipf_trace()`` generates a Zipf request sequence with a fixed, varied size
  per object.
* ``golden_trace()`` is the small trace of the golden miss counts: drawn
  from splitmix64 alone, so no library's random stream can change it.
* ``parity_files()`` are the parity tests' traces as files libcachesim reads:
  a Zipf and the generated block-I/O trace, and CloudPhysics where present.
* ``write_oracle_general()`` writes a sequence in the oracleGeneral format, and
  ``libcachesim_run()`` replays such a file through ``libcachesim`` (counting
  objects via the reader's ``ignore_obj_size`` option, or bytes).
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

from tests.trace_files import CLOUDPHYSICS, block_io_trace
from workloads.hashing import mix64, unit_interval

REPO = Path(__file__).resolve().parents[2]

ORACLE_GENERAL = np.dtype([("time", "<u4"), ("obj_id", "<u8"), ("obj_size", "<u4"), ("next_access_vtime", "<i8")])


def read_oracle_general(path) -> np.ndarray:
    return np.fromfile(path, dtype=ORACLE_GENERAL)


def block_traces() -> dict:
    """{name: (keys, sizes)}: "block-io", generated, and "cloudphysics" where ../shared has the sample."""
    generated = block_io_trace()
    traces = {"block-io": (generated.keys, generated.sizes)}
    if CLOUDPHYSICS.exists():
        records = read_oracle_general(CLOUDPHYSICS)
        traces["cloudphysics"] = (records["obj_id"].astype(np.int64), records["obj_size"].astype(np.int64))
    return traces


def zipf_trace(n_requests: int, n_objects: int, alpha: float, seed: int, size_sigma: float = 1.5):
    """(keys, sizes): Zipf(alpha) popularity over scrambled ids, one size per object.

    Sizes are drawn once per object from a lognormal with median 4 KiB and
    log-standard deviation `size_sigma` (1.5: most between 200 B and 80 KiB),
    clipped to [64 B, 256 KiB], so byte-counting caches see very different sizes.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, n_objects + 1) ** alpha
    ranks = rng.choice(n_objects, size=n_requests, p=weights / weights.sum())
    ids = rng.permutation(n_objects).astype(np.int64) * 7919 + 1_000_003  # sparse, scrambled ids
    sizes_per_object = np.clip(rng.lognormal(np.log(4096), size_sigma, n_objects), 64, 262_144).astype(np.int64)
    return ids[ranks], sizes_per_object[ranks]


def golden_trace(n_requests: int = 10_000, n_objects: int = 1000):
    """(keys, sizes): Zipf(1) popularity over scrambled ids, one size per object, from integer hashing.

    Every step is exact integer or correctly rounded IEEE arithmetic (no
    pow, no log, no numpy random stream, whose values may change between
    versions), so the trace, and the golden miss counts taken on it, are the
    same on every machine.  Sizes are 16 B to 4 KiB, spread over powers of two.
    """
    weights = 1.0 / np.arange(1, n_objects + 1)
    cdf = np.cumsum(weights) / weights.sum()
    ranks = np.minimum(np.searchsorted(cdf, unit_interval(np.arange(n_requests), salt=1), side="right"), n_objects - 1)
    ids = (mix64(np.arange(n_objects), salt=2) >> np.uint64(2)).astype(np.int64)  # distinct, scrambled, < 2**62
    shift = (mix64(np.arange(n_objects), salt=3) % np.uint64(9)).astype(np.int64)
    jitter = (mix64(np.arange(n_objects), salt=4) % np.uint64(16)).astype(np.int64)
    sizes = (np.int64(16) << shift) + jitter
    return ids[ranks], sizes[ranks]


def next_access(keys) -> np.ndarray:
    """Index of the next request to the same key, or -1 if there is none."""
    keys = np.asarray(keys)
    nxt = np.full(len(keys), -1, dtype=np.int64)
    seen: dict = {}
    for i in range(len(keys) - 1, -1, -1):
        key = int(keys[i])
        nxt[i] = seen.get(key, -1)
        seen[key] = i
    return nxt


def write_oracle_general(path, keys, sizes) -> Path:
    """Write (keys, sizes) as an oracleGeneral file, next-access fields included."""
    records = np.zeros(len(keys), dtype=ORACLE_GENERAL)
    records["time"] = np.arange(len(keys)) // 10 + 1
    records["obj_id"] = np.asarray(keys, dtype=np.uint64)
    records["obj_size"] = np.asarray(sizes, dtype=np.uint32)
    nxt = next_access(keys)
    records["next_access_vtime"] = np.where(nxt >= 0, nxt + 1, -1)  # 1-based, as libCacheSim writes it
    records.tofile(path)
    return Path(path)


def libcachesim_run(
    path, cache_class: str, capacity: int, count_bytes: bool, admissioner=None, **params
) -> tuple[float, float]:
    """(miss ratio, byte miss ratio) of libcachesim's ``cache_class`` on an oracleGeneral file.

    Counting objects uses ``ReaderInitParam(ignore_obj_size=True)``: the reader
    then hands every request to the cache with size 1, so the capacity counts
    objects; the byte miss ratio it reports is then also over size-1 objects.
    """
    import libcachesim as lcs

    reader = lcs.TraceReader(
        str(path), lcs.TraceType.ORACLE_GENERAL_TRACE, lcs.ReaderInitParam(ignore_obj_size=not count_bytes)
    )
    cache = getattr(lcs, cache_class)(capacity, admissioner=admissioner, **params)
    return cache.process_trace(reader)


def libcachesim_misses(path, n_requests: int, cache_class: str, capacity: int, count_bytes: bool, **params) -> int:
    miss_ratio, _ = libcachesim_run(path, cache_class, capacity, count_bytes, **params)
    return round(miss_ratio * n_requests)


def fresh_thread_misses(path, n_requests: int, cache_class: str, capacity: int, count_bytes: bool) -> int:
    """``libcachesim_misses`` run in a fresh thread: libCacheSim's per-thread generator at its first state,
    as LHD's and Cacheus's are at seed 0 (a thread that ran other caches has moved it on)."""
    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.update(misses=libcachesim_misses(path, n_requests, cache_class, capacity, count_bytes))
    )
    thread.start()
    thread.join()
    return result["misses"]


def long_parity_files(directory: Path, n_requests: int) -> dict:
    """A Zipf(0.9) trace over 100,000 objects and a generated block-I/O trace of `n_requests` each, as
    (keys, sizes, oracleGeneral file) written in `directory`: the long parity campaigns' traces."""
    generated = {
        "zipf": zipf_trace(n_requests, 100_000, 0.9, seed=11, size_sigma=1.0),
        "block-io": tuple(block_io_trace(n_requests=n_requests, hot_objects=100_000, seed=3)[:2]),
    }
    return {
        name: (*trace, write_oracle_general(directory / f"{name}.bin", *trace)) for name, trace in generated.items()
    }


def parity_files(directory: Path) -> dict:
    """The parity files' Zipf(0.9) trace and generated block-I/O trace, as (keys, sizes, oracleGeneral file)
    written in `directory`; and CloudPhysics, read by libcachesim from its own file, where ../shared has it."""
    generated = {
        "zipf-0.9": zipf_trace(n_requests=20000, n_objects=2000, alpha=0.9, seed=4, size_sigma=0.7),
        "block-io": tuple(block_io_trace()[:2]),
    }
    traces = {
        name: (*trace, write_oracle_general(directory / f"{name}.bin", *trace)) for name, trace in generated.items()
    }
    if CLOUDPHYSICS.exists():
        records = read_oracle_general(CLOUDPHYSICS)
        traces["cloudphysics"] = (
            records["obj_id"].astype(np.int64),
            records["obj_size"].astype(np.int64),
            CLOUDPHYSICS,
        )
    return traces
