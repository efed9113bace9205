"""Writers of small trace files in the three formats, for tests that generate their own traces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workloads.traces import oracle_general_records as oracle_records  # noqa: F401  (tests use it)
from workloads.traces import write_oracle_general

#: the shared data directory next to the repository (absent outside the team's machines)
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
LIBCACHESIM_DATA = SHARED / "libcachesim-data"
LIRS_TRACES = SHARED / "lirs-traces"


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
