"""A failed allocation in the compiled code: MemoryError, no crash, nothing freed twice.

Every C block grows through one helper (workloads/native/memory.pxd: grow, and
map_init of the hash map), which keeps the old block and raises MemoryError
when the memory is not there.  Its test hook makes that happen on purpose:
with KVSIM_FAIL_ALLOCATION=N the N-th allocation of each extension module is
refused.  Here a subprocess replays a trace through every compiled policy
(batch and key by key) and runs the timed model's compiled loop, for N from
0 to past the last allocation (a run of every N up to 63 was clean too,
but takes minutes): each part must end either
normally or with a MemoryError, the process must exit normally (no
segfault, no double free, which the allocator aborts on) and nothing may be
reported as an ignored exception.  A MemoryError met where nothing may raise
(a kernel's lookup) is recorded and raised by the caller (Kernel.fail).
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from policies import engine

pytestmark = pytest.mark.skipif(engine() != "compiled", reason="the compiled engine is not running")

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import numpy as np
from experiments.analysis import replay
from policies import make_fast_policy, policy_class
from policies.compiled import compiled_names
from sim.compiled_model import CompiledModel
from tests.policies.tracedata import zipf_trace
from tests.sim.test_model_vs_naive import scenario

keys, sizes = zipf_trace(3000, 400, 0.9, seed=2, size_sigma=0.7)
parts = [(name, way) for name in compiled_names() for way in ("batch", "keys")] + [("model", "run")]
parts += [("lru+" + admission, way) for admission in ("bloomfilter", "adaptsize") for way in ("batch", "keys")]
for name, way in parts:
    try:
        if "+" in name:  # an admission filter's blocks (its errors are raised by its kernel's check)
            filtered = make_fast_policy("lru", 60, admission=name.split("+")[1])
            if way == "batch":
                replay(filtered, keys, sizes)
            else:
                for key, size in zip(keys.tolist(), sizes.tolist()):
                    filtered.access(key, size)
        elif name == "model":
            CompiledModel(scenario(requests=2000), 3).run()
        elif way == "batch":
            params = {"future": keys.tolist()} if policy_class(name).offline else {}
            replay(make_fast_policy(name, 60, **params), keys, sizes)
        else:
            policy = make_fast_policy(name, 50_000, **({"future": keys.tolist()} if policy_class(name).offline else {}))
            for key, size in zip(keys.tolist(), sizes.tolist()):
                if not policy.lookup(key):
                    policy.insert(key, size)
        print(name, way, "ok")
    except MemoryError:
        print(name, way, "MemoryError")
"""


def run_with_refusal(n: int) -> list[str]:
    environment = {**os.environ, "KVSIM_FAIL_ALLOCATION": str(n), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=environment, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, f"N={n}: exit {done.returncode}\n{done.stderr[-2000:]}"
    assert "Exception ignored" not in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]
    lines = done.stdout.split("\n")[:-1]
    assert all(line.endswith((" ok", " MemoryError")) for line in lines), lines
    return lines


#: which allocation of each module is refused: each of the first few (the blocks every part
#: builds first), then ever later ones (growth as the caches fill), then one past them all
REFUSALS = [0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 10**9]


def test_each_allocation_refused_in_turn_ends_in_a_memory_error_or_a_normal_run():
    refused_anywhere = set()
    for n in REFUSALS:
        lines = run_with_refusal(n)
        refused_anywhere |= {line.rsplit(" ", 1)[0] for line in lines if line.endswith("MemoryError")}
    assert lines and all(line.endswith(" ok") for line in lines)  # nothing refused: every part runs
    # Refusals reached the timed model's loop, the slot map (key by key) and kernels' own blocks.
    assert {"model run", "lfuda batch", "slru batch", "slru keys", "arc batch"} <= refused_anywhere
