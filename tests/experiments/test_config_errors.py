"""Bad configs stop with exit status 2 and one line naming the key; nothing is written."""

import pytest

from experiments.config import ConfigError, from_dict, load
from tests.experiments.conftest import SMALL, kvsim

CASES = [
    ("[cluster]\ncapacty = 10\n", "unknown key 'cluster.capacty' (did you mean 'cluster.capacity'?)"),
    ("[clustr]\nnodes = 2\n", "unknown section or key 'clustr' (did you mean 'cluster'?)"),
    ('[cluster]\nnodes = "four"\n', "cluster.nodes: must be an integer in [1, 4096]; got 'four'"),
    ("[cluster]\nnodes = 0\n", "cluster.nodes: must be an integer in [1, 4096]; got 0"),
    (
        "[cluster]\ncapacity = -5\n",
        'cluster.capacity: must be a positive integer (objects) or a size such as "64MiB" (bytes); got -5',
    ),
    ('[cluster]\ncapacity = "64 parsecs"\n', "cluster.capacity: must be a positive integer"),
    ('[cluster]\npolicy = "lur"\n', "cluster.policy: unknown policy 'lur' (did you mean 'lru'?)"),
    (
        '[cluster]\npolicy = "clock"\npolicy_params = { bit = 2 }\n',
        "policy 'clock' has no parameter 'bit'; valid: bits",
    ),
    (
        '[cluster]\nbalancer = "modulus"\n',
        "cluster.balancer: must be one of 'consistent', 'modulo', 'rendezvous', 'random', 'p2c', 'bounded'; got 'modulus' (did you mean 'modulo'?)",
    ),
    ("[workload]\nalpha = -1\n", "workload.alpha: must be a number in [0, 100]; got -1"),
    ("[workload]\nrate = 0\n", "workload.rate: must be a number in (0, 1e+12]; got 0"),
    ("[workload]\nkeys = 2e12\n", "workload.keys: must be an integer in [1, 1099511627776]; got 2000000000000"),
    ("[run]\nseeds = []\n", "run.seeds: must be a non-empty list of at most 1000 integers from 0 to 2**63 - 1"),
    ('[run]\ninterval = "often"\n', "run.interval: must be \"auto\" or a number of seconds in (0, 1e+12]; got 'often'"),
    ("[run]\ninterval = 0\n", 'run.interval: must be "auto" or a number of seconds in (0, 1e+12]; got 0'),
    (
        '[backend]\nlatency = { dist = "gamma", k = 2 }\n',
        "backend.latency: dist must be one of 'constant', 'exponential', 'lognormal'; got 'gamma'",
    ),
    ('[backend]\nlatency = { dist = "lognormal", median_ms = 5 }\n', "backend.latency: dist 'lognormal' needs sigma"),
    (
        '[sweep]\n"cluster.capacityy" = [1, 2]\n',
        "sweep.'cluster.capacityy': unknown key 'cluster.capacityy' (did you mean 'cluster.capacity'?)",
    ),
    ('[sweep]\n"cluster.capacity" = [10, -1]\n', "sweep.'cluster.capacity'[1]: must be a positive integer"),
    ('[sweep]\n"cluster.policy" = "lru"\n', "sweep.'cluster.policy': must be a non-empty list of values"),
    ("[cluster\nnodes = 2\n", "not valid TOML"),
    (
        '[cluster]\npolicy = "belady"\n',
        "cluster.policy: 'belady' needs the future of the request stream and works only in `kvsim replay`",
    ),
    ("[cluster]\nreplicas = 5\n", "cluster.replicas must be at most cluster.nodes (4); got 5"),
    ("[[cluster.failures]]\nnode = 9\ndown_at = 10\n", "cluster.failures[0].node must be in [0, 3]; got 9"),
    (
        "[[cluster.failures]]\nnode = 1\ndown_at = 10\nup_at = 5\n",
        "cluster.failures[0].up_at must be after down_at (10); got 5",
    ),
    ("[[cluster.failures]]\nnode = 1\n", "cluster.failures: [0]: needs down_at"),
    (
        "[[cluster.failures]]\nnode = 1\ndown = 3\n",
        "cluster.failures: [0]: unknown key 'down' (did you mean 'down_at'?)",
    ),
    (
        '[cluster]\nttl = { dist = "uniform", low_s = 5, high_s = 1 }\n',
        "cluster.ttl: high_s must be greater than low_s",
    ),
    ('[cluster]\nttl_mode = "hit"\n', "cluster.ttl_mode: must be one of 'insert', 'refresh'; got 'hit'"),
    (
        '[workload]\narrivals = { process = "onoff", mean_on_s = 1 }\n',
        "workload.arrivals: process 'onoff' needs mean_off_s",
    ),
    ('[workload]\narrivals = "bursty"\n', 'workload.arrivals: must be "poisson"'),
    ("[workload]\nwrite_fraction = 1.5\n", "workload.write_fraction: must be a number in [0, 1]; got 1.5"),
    (
        '[[workload.classes]]\nname = "users"\nalpha = -2\n',
        "workload.classes: [0].alpha: must be a number in [0, 100]; got -2",
    ),
    ("[[workload.classes]]\nshare = 1\n", "workload.classes: [0]: needs name"),
    ('[updates]\nevery_s = 3600\nclasses = ["items"]\n', "updates.classes: no key class 'items'; classes: default"),
    (
        "[workload]\nrotate_every_s = 10\nnew_keys_per_s = 1\n",
        "workload: rotate_every_s and new_keys_per_s cannot both be set",
    ),
]


@pytest.mark.parametrize("text,message", CASES)
def test_bad_config_message(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_cli_bad_config_exits_2_with_one_line_and_writes_nothing(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace("capacity = 100", "capacity = -100"))
    out = tmp_path / "out"
    done = kvsim("run", path, "--out", out)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "cluster.capacity" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()


def test_cli_missing_config_file(tmp_path):
    done = kvsim("run", tmp_path / "nope.toml")
    assert done.returncode == 2 and "no such config file" in done.stderr


def test_cli_bad_workers():
    done = kvsim("run", "--workers", "0")
    assert done.returncode == 2 and "--workers" in done.stderr


def test_defaults_fill_every_key():
    experiment = from_dict({})
    assert experiment.config.cluster.policy == "lru"
    assert experiment.seeds == [1, 2, 3]
    assert experiment.swept_keys == []


SWEEP_ERRORS = {
    "a sweep over a key that does not exist": (
        SMALL.replace('"cluster.capacity" = [50, 200]', '"cluster.capacityy" = [50, 200]'),
        "sweep.'cluster.capacityy': unknown key 'cluster.capacityy' (did you mean 'cluster.capacity'?)",
    ),
    "a swept value that fails its check": (
        SMALL.replace("[50, 200]", "[50, 0]"),
        "sweep.'cluster.capacity'[1]: must be a positive integer (objects)",
    ),
    "a point that fails as a whole": (
        SMALL.replace("capacity = 100", "capacity = 100\npolicy_params = { bits = 2 }").replace(
            '"cluster.capacity" = [50, 200]', '"cluster.policy" = ["clock", "lru"]'
        ),
        "cluster.policy_params: policy 'lru' has no parameter 'bits'",
    ),
}


@pytest.mark.parametrize("case", list(SWEEP_ERRORS))
def test_cli_bad_sweep_exits_2_with_one_line_and_writes_nothing(tmp_path, case):
    text, message = SWEEP_ERRORS[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    out = tmp_path / "out"
    done = kvsim("run", path, "--out", out)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert message in done.stderr
    assert not out.exists()
