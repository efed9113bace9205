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
        '[backend]\nlatency = { dist = "lognormal", median_ms = 5, sigma = 1e300 }\n',
        "backend.latency: mean inf s",
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
    "object size": (
        '[workload]\nobject_size = { dist = "lognormal", median = 1e18, sigma = 1 }\n',
        "objects may be at most 2**40 bytes",
    ),
    "ttl": ('[cluster]\nttl = { dist = "lognormal", median_s = 1, sigma = 1e10 }\n', "cluster.ttl: mean inf s"),
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
    config = write_config(tmp_path, SMALL_RUN + body)
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
