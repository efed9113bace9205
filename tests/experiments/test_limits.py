"""Runs that no machine should try are refused before they start, saying what was asked and the limit.

Each case is a config that is valid key by key; without the estimate it
would hang, exhaust memory, crash mid-run or print numbers that look right
and are not (a backend latency lost to float64 rounding).
"""

import pytest

from experiments.cli import main
from tests.experiments.conftest import write_config

SMALL_RUN = "[run]\nrequests = 2000\nwarmup = 0\nseeds = [1]\n"

CASES = {
    "rate": ("[workload]\nrate = 1e-300\n", "workload.rate: 2,000 requests at 1e-300/s span 2e+303 simulated seconds"),
    "lognormal sigma": (
        '[backend]\nlatency = { dist = "lognormal", median_ms = 5, sigma = 50 }\n',
        "backend.latency: mean inf s",
    ),
    "lognormal sigma beyond any tail": (
        '[backend]\nlatency = { dist = "lognormal", median_ms = 5, sigma = 1e300 }\n',
        "backend.latency: sigma must be a number in [0, 100]; got 1e+300",
    ),
    "concurrency": (
        "[backend]\nconcurrency = 1e300\n",
        "backend.concurrency: must be an integer in [1, 1000000]; got 1e+300",
    ),
    "failures": (
        "[cluster]\nmtbf_s = 1e-9\nmttr_s = 1e-9\n",
        "cluster.mtbf_s: 4 nodes failing every 1e-09 s",
    ),
    "on/off phases": (
        '[workload]\narrivals = { process = "onoff", mean_on_s = 1e-9, mean_off_s = 1e-9, off_ratio = 0.1 }\n',
        "workload.arrivals: on/off phases of 1e-09 s",
    ),
    "on/off phases of 10 ns in a run of 0.1 s, each drawn in turn": (  # (10 million: 2 to 4 minutes)
        '[workload]\narrivals = { process = "onoff", mean_on_s = 1e-8, mean_off_s = 1e-8, off_ratio = 0.5 }\n',
        "workload.arrivals: on/off phases of 1e-08 s and 1e-08 s make about 1e+07 phases in 0.1 simulated seconds; "
        "at most 2,000,000",
    ),
    "object size": (
        '[workload]\nobject_size = { dist = "lognormal", median = 1e12, sigma = 1 }\n',
        "objects may be at most 2**40 bytes",
    ),
    "ttl": ('[cluster]\nttl = { dist = "lognormal", median_s = 1, sigma = 50 }\n', "cluster.ttl: mean inf s"),
    "a key class's ttl": (
        '[[workload.classes]]\nname = "a"\nttl = 1e9\n',
        "workload.classes[0].ttl: 1e+09 s; at most 1e+08 s",
    ),
    "on/off phases longer than any run": (
        '[workload]\narrivals = { process = "onoff", mean_on_s = 1e7, mean_off_s = 1e7, off_ratio = 0.5 }\n',
        "workload.arrivals: phases of mean 1e+07 s last up to 1.38e+08 s",
    ),
    "on/off phases that need an infinite rate": (
        '[workload]\narrivals = { process = "onoff", mean_on_s = 1e-300, mean_off_s = 1, off_ratio = 0 }\n',
        "needs 2e+304 requests/s while on; at most 1e+12",
    ),
    "bulk updates every nanosecond": (
        '[updates]\nevery_s = 1e-9\nclasses = ["default"]\n',
        "updates.every_s: a bulk update every 1e-09 s makes 1e+08 in 0.1 simulated seconds; at most 100,000",
    ),
    "bulk updates that scan too much": (
        "[run]\nrequests = 2_000_000\nwarmup = 0\nseeds = [1]\n"
        '[updates]\nevery_s = 1e-3\nclasses = ["default"]\n[cluster]\ncapacity = 1_000_000\n',
        "updates.every_s: 1e+05 bulk updates that invalidate, each scanning up to 2e+06 cached entries",
    ),
    "new keys beyond a class's ids": (
        "[workload]\nnew_keys_per_s = 1e300\n",
        "workload.new_keys_per_s: must be a number in [0, 1e+12]; got 1e+300",
    ),
    "new keys for too long": (
        "[workload]\nnew_keys_per_s = 1e12\nrate = 1\n",
        "workload.new_keys_per_s: 1e+12 new keys a second over a run of up to",
    ),
    "rotations beyond int64": (
        "[workload]\nrotate_every_s = 1e-300\nrotate_by = 7\n",
        "workload.rotate_every_s: rotations every 1e-300 s by 7 ranks move the hot set",
    ),
    "node queues": (
        "[cluster]\nnodes = 4096\nnode_concurrency = 1_000_000\n",
        "cluster.node_concurrency: 4,096 nodes of 1,000,000 workers are 4,096,000,000 queue servers",
    ),
    "the hash ring": (
        "[cluster]\nnodes = 4096\nvnodes = 10_000\n",
        "cluster.vnodes: 4,096 nodes of 10,000 virtual nodes are 40,960,000 points",
    ),
    "rows of the time series": (
        "[run]\nrequests = 200_000\nwarmup = 0\nseeds = [1]\ninterval = 1e-9\n",
        "run.interval: 1e-09 s over a run of up to",
    ),
    "key classes": (
        "".join(f'[[workload.classes]]\nname = "c{i}"\nkeys = 10\n' for i in range(63)),
        "workload.classes: at most 62 tables (a key's top bits name its class); got 63",
    ),
    "capacity beyond what a cache holds": (
        '[cluster]\ncapacity = "9000000TiB"\n',
        "cluster.capacity: a capacity may be at most 2**50 (1 PiB, or as many objects)",
    ),
    "sweep points": (
        '[sweep]\n"cluster.capacity" = [' + ", ".join(map(str, range(1, 101))) + "]\n"
        '"workload.alpha" = [' + ", ".join(str(i / 100) for i in range(101)) + "]\n",
        "sweep: 10,100 points (the grid's lists multiplied, times sweep.zip's length); at most 10,000",
    ),
    "runs": (
        "[run]\nrequests = 10\nseeds = ["
        + ", ".join(map(str, range(1000)))
        + ']\n[sweep]\n"cluster.capacity" = ['
        + ", ".join(map(str, range(1, 102)))
        + "]\n",
        "run.seeds: 1000 seeds of 101 sweep points make 101,000 runs; at most 100,000",
    ),
    "clock bits": (
        '[cluster]\npolicy = "clock"\npolicy_params = { bits = -3 }\n',
        "bits must be an integer in [1, 32]",
    ),
    "s3fifo ratio": (
        '[cluster]\npolicy = "s3fifo"\npolicy_params = { small_size_ratio = 5 }\n',
        "small_size_ratio must be in (0, 1), got 5",
    ),
    "slru segments": (
        '[cluster]\npolicy = "slru"\npolicy_params = { n_seg = 0 }\n',
        "n_seg must be an integer in [1, 64]",
    ),
    "random seed": (
        '[cluster]\npolicy = "random"\npolicy_params = { seed = "x" }\n',
        "policy 'random' cannot be built with {'seed': 'x'}",
    ),
}


@pytest.mark.parametrize("body, message", CASES.values(), ids=CASES.keys())
def test_refused_up_front_in_one_line(tmp_path, capsys, body, message):
    config = write_config(tmp_path, body if "[run]" in body else SMALL_RUN + body)
    out = tmp_path / "out"
    assert main(["run", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kvsim: error: ") and err.count("\n") == 1 and message in err, err
    assert not out.exists()


def test_the_corrected_config_then_runs_into_the_same_folder(tmp_path, capsys):
    out = tmp_path / "out"
    bad = write_config(tmp_path, SMALL_RUN + '[cluster]\npolicy = "clock"\npolicy_params = { bits = -3 }\n', "bad.toml")
    assert main(["run", str(bad), "--out", str(out)]) == 2
    good = write_config(
        tmp_path, SMALL_RUN + '[cluster]\npolicy = "clock"\npolicy_params = { bits = 2 }\n', "good.toml"
    )
    assert main(["run", str(good), "--out", str(out), "--workers", "1"]) == 0
    assert (out / "results.csv").exists()
