"""Traces for the tests: writers of small trace files in the three formats, and generators of traces
shaped like the real ones the team keeps in ``../shared``.

The real traces (libCacheSim's CloudPhysics sample, the LIRS paper's traces)
may not be shipped with the project, so a user's clone has none.  Whatever a
test proves on them it also proves on a generated trace with the same traits:
``block_io_trace()`` stands for CloudPhysics, ``lirs_pattern()`` for the LIRS
traces.  Where ``../shared`` exists, ``present()`` adds the real ones as
extra cases of the same tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from workloads.hashing import unit_interval
from workloads.rng import rng_for
from workloads.traces import oracle_general_records as oracle_records  # noqa: F401  (tests use it)
from workloads.traces import write_oracle_general

#: the shared data directory next to the repository (the team's machines have it, a user's clone does not)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
LIBCACHESIM_DATA = SHARED / "libcachesim-data"
CLOUDPHYSICS = LIBCACHESIM_DATA / "cloudPhysicsIO.oracleGeneral.bin"
LIRS_TRACES = SHARED / "lirs-traces"
#: the LIRS traces the tests read where ../shared has them, and their lengths (lirs-traces/SOURCE.txt)
LIRS_LENGTHS = {
    "2_pools": 100_000,
    "cpp": 9047,
    "cs": 6781,
    "gli": 6015,
    "multi1": 15858,
    "ps": 10448,
    "sprite": 133996,
}


def write_csv(path, keys, times=None, sizes=None, ops=None, header=("version", "time", "op", "size", "lbn")):
    """libCacheSim's CSV layout by default: version,time,op,size,lbn."""
    n = len(keys)
    times = np.arange(n) if times is None else times
    sizes = np.ones(n, dtype=np.int64) if sizes is None else sizes
    ops = ["28"] * n if ops is None else ops
    lines = [",".join(header)]
    lines += [
        f"1,{t},{o},{s},{k}"
        for t, o, s, k in zip(np.asarray(times).tolist(), ops, np.asarray(sizes).tolist(), np.asarray(keys).tolist())
    ]
    Path(path).write_text("\n".join(lines) + "\n")
    return Path(path)


def write_txt(path, keys):
    Path(path).write_text("".join(f"{k}\n" for k in np.asarray(keys).tolist()))
    return Path(path)


def write_bin(path, keys, times=None, sizes=None):
    return write_oracle_general(path, keys, times, sizes)


def zipf_keys(n, keys=1000, alpha=0.9, seed=0) -> np.ndarray:
    """n keys of a finite Zipf law over `keys` ids (scrambled), reproducibly."""
    from workloads import Poisson, Workload, Zipf

    return np.concatenate([b.key for b in Workload(Zipf(keys, alpha), Poisson(1.0)).batches(seed, n)])


# -- a block-I/O trace, for the CloudPhysics sample ---------------------------------------

SECTOR = 512
DISK_SECTORS = 1 << 26  # 32 GiB of 512-byte sectors: the sample's block numbers reach 65 million
#: an object's size in sectors, and the share of objects of that size: the sample's (48,974 objects), rounded
SECTORS_SHARES = {1: 8, 2: 1, 3: 1, 4: 0.5, 5: 0.5, 8: 8.5, 16: 15.5, 24: 0.5, 32: 1, 64: 1, 96: 0.5, 120: 5.5}
SECTORS_SHARES |= {128: 38, 136: 13}


class BlockTrace(NamedTuple):
    keys: np.ndarray  # int64 start sectors
    sizes: np.ndarray  # bytes, one size per key
    times: np.ndarray  # int64 seconds, non-decreasing
    writes: np.ndarray  # bool: a write (SCSI 0x2a) or a read (0x28)

    def csv_ops(self) -> list[str]:
        """The SCSI opcodes libCacheSim's CSV layout logs."""
        return np.where(self.writes, "2a", "28").tolist()


def sectors_of(lbns) -> np.ndarray:
    """Each block number's size in sectors: drawn once per object, from its hash, with SECTORS_SHARES' odds."""
    shares = np.array(list(SECTORS_SHARES.values()))
    cdf = np.cumsum(shares) / shares.sum()
    return np.array(list(SECTORS_SHARES))[np.searchsorted(cdf, unit_interval(lbns, salt=5), side="right")]


def block_io_trace(
    n_requests: int = 30_000,
    seed: int = 0,
    hot_objects: int = 10_000,
    alpha: float = 0.8,
    run_share: float = 0.45,
    mean_run: int = 8,
    repeat_share: float = 0.025,
) -> BlockTrace:
    """A block-I/O trace with the traits of libCacheSim's CloudPhysics sample, generated.

    The sample (113,872 requests to 48,974 objects of 512 B to 68 KiB, most
    of 60 KiB or more) mixes three kinds of request, and so does this trace:

    * sequential runs (`run_share` of the requests): each request starts at
      the sector where the previous one ended, from a random place on the
      disk, for `mean_run` requests on average; most are read only once, so
      about half the requests are to objects never seen before (the sample:
      43%), and a quarter of them continue the request before;
    * immediate repeats of the previous request (`repeat_share`; the
      sample: 2.4%), which some policies treat apart (LIRS);
    * re-reads of a hot set of `hot_objects` blocks with Zipf(`alpha`)
      popularity (the busiest block takes about 2% of the requests; the
      sample's, 1.4%).

    Sizes come from ``sectors_of`` (one per object, as the sample's
    oracleGeneral file has).  About 16 requests a second, 60% of them
    writes, as in the sample.  Reproducible from `seed`.
    """
    rng = rng_for(seed, "block-io trace")
    weights = 1.0 / np.arange(1, hot_objects + 1) ** alpha
    hot = rng.integers(0, DISK_SECTORS, hot_objects)[rng.choice(hot_objects, n_requests, p=weights / weights.sum())]
    draws = rng.random(n_requests)
    keys = np.empty(n_requests, dtype=np.int64)
    left_in_run = 0
    for i in range(n_requests):
        if left_in_run:
            keys[i] = keys[i - 1] + sectors_of(keys[i - 1 : i])[0]
            left_in_run -= 1
        elif i and draws[i] < repeat_share:
            keys[i] = keys[i - 1]
        elif draws[i] < repeat_share + run_share / mean_run:
            keys[i] = rng.integers(0, DISK_SECTORS)
            left_in_run = rng.geometric(1 / mean_run) - 1
        else:
            keys[i] = hot[i]
    sizes = sectors_of(keys).astype(np.int64) * SECTOR
    times = 5_000_000 + np.arange(n_requests, dtype=np.int64) // 16
    return BlockTrace(keys, sizes, times, rng.random(n_requests) < 0.6)


# -- the LIRS paper's access patterns ---------------------------------------------------

#: the generated patterns (LIRS: Jiang and Zhang, SIGMETRICS 2002, section 5), standing for the LIRS traces
LIRS_PATTERNS = ("loop", "zigzag", "two-pools", "hot-and-scan", "multi")


def lirs_pattern(name: str, blocks: int = 1500, n_requests: int = 12_000, seed: int = 0) -> np.ndarray:
    """Block numbers 0..`blocks`-1 in one of the LIRS paper's access patterns, `n_requests` long.

    * loop: 0, 1, ..., blocks-1, again and again (LRU misses every time once
      the loop is longer than the cache);
    * zigzag: forward through the blocks, then back, again and again;
    * two-pools: a pool of a tenth of the blocks takes half the requests,
      uniformly, the other blocks the other half;
    * hot-and-scan: a hot tenth of the blocks re-read at random, broken by
      sequential scans of the rest, each block read once per scan;
    * multi: several programs at once: a loop, a zigzag, the two pools and
      immediate repeats, interleaved at random, in disjoint block ranges
      (as the traces of concurrent programs are).
    """
    rng = rng_for(seed, f"lirs pattern {name}")
    steps = np.arange(n_requests)
    if name == "loop":
        return steps % blocks
    if name == "zigzag":
        phase = steps % (2 * blocks)
        return np.where(phase < blocks, phase, 2 * blocks - 1 - phase)
    if name == "two-pools":
        small = blocks // 10
        in_small = rng.random(n_requests) < 0.5
        return np.where(in_small, rng.integers(0, small, n_requests), rng.integers(small, blocks, n_requests))
    if name == "hot-and-scan":
        hot = blocks // 10
        keys = rng.integers(0, hot, n_requests)
        scan_at = np.flatnonzero(rng.random(n_requests) < 0.3)  # a third of the requests continue the scan
        keys[scan_at] = hot + np.arange(len(scan_at)) % (blocks - hot)
        return keys
    if name == "multi":
        share = blocks // 4
        program = rng.integers(0, 4, n_requests)  # which program issues each request; 3 repeats the one before
        program[0] = 0
        keys = np.zeros(n_requests, dtype=np.int64)
        for which, part in enumerate(("loop", "zigzag", "two-pools")):
            mine = program == which  # the program's requests, in its own order, in its own block range
            keys[mine] = which * share + lirs_pattern(part, share, int(mine.sum()), seed)
        issued = np.where(program == 3, 0, steps)
        return keys[np.maximum.accumulate(issued)]
    raise ValueError(f"unknown LIRS pattern {name!r}; valid: {', '.join(LIRS_PATTERNS)}")


def lirs_cases() -> list[str]:
    """The generated patterns, and the LIRS traces ("lirs-cpp", ...) where ../shared has them."""
    real = [f"lirs-{name}" for name in LIRS_LENGTHS if (LIRS_TRACES / f"{name}.txt").exists()]
    return [*LIRS_PATTERNS, *real]


def lirs_file(case: str, folder: Path) -> tuple[Path, int]:
    """A case's text file (a generated pattern is written into `folder`) and its number of requests."""
    if case.startswith("lirs-"):
        name = case.removeprefix("lirs-")
        return LIRS_TRACES / f"{name}.txt", LIRS_LENGTHS[name]
    keys = lirs_pattern(case)
    return write_txt(Path(folder) / f"{case}.txt", keys), len(keys)
