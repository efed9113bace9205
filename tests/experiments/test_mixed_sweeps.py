"""A sweep may give a key values of every form its check accepts, and its figures draw them all.

A key such as cluster.capacity takes an integer (objects) or a size
("1KiB"), cluster.ttl a number or a distribution, workload.arrivals a word
or a table.  A sweep that mixes forms is valid, its tables are written, and
the figures must place each value: on an axis when the values are numbers of
one kind, else as categories (bars), never a crash after the tables.  The
figures read the values back from the tables, where pandas turns a mixed
column into text, so each test here runs the command line end to end (and
some redraw the folder with `kvsim plot`).
"""

from __future__ import annotations

import json

import pytest

from experiments.cli import main
from tests.experiments.test_fuzz import toml

#: a figure that cannot lay itself out says so in a warning (as the user would see it): a failure here
pytestmark = pytest.mark.filterwarnings("error::UserWarning")

#: per key, values of every form its check accepts (a word or a number, a table of parameters)
MIXED = {
    "cluster.capacity": [100, "1KiB", 300],
    "cluster.ttl": [0, {"dist": "constant", "s": 5}, 2.5],
    "workload.object_size": [1, {"dist": "lognormal", "median": 2, "sigma": 0.5}, 3],
    "workload.alpha": [0, 0.5, 1],
    "workload.arrivals": ["poisson", {"process": "onoff", "mean_on_s": 0.01, "mean_off_s": 0.01, "off_ratio": 0.5}],
    "network.hit_latency": [0.2, {"dist": "exponential", "mean_ms": 0.2}],
    "backend.latency": [{"dist": "constant", "ms": 1}, 2],
    "cluster.node_service": [0.01, {"dist": "constant", "ms": 0.02}],
    "run.interval": ["auto", 0.01],
    "cluster.policy_params": [{}, {"bits": 2}],
    "backend.coalesce": [True, False],
}

BASE = {
    "run": {"requests": 400, "warmup": 100, "seeds": [1]},
    "workload": {"keys": 300, "rate": 5000},
    "cluster": {"nodes": 2, "capacity": 50, "policy": "clock", "node_concurrency": 4},
}


def run_and_draw(tmp_path, config: dict, redraw: bool = False) -> list[str]:
    """`kvsim run` the config (which draws from the tables it wrote), and with `redraw`
    `kvsim plot` its folder again: each succeeds; the figures drawn."""
    path = tmp_path / "mixed.toml"
    path.write_text(toml(config))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out), "--workers", "1"]) == 0
    drawn = sorted(p.name for p in out.glob("*.png"))
    if redraw:
        assert main(["plot", str(out)]) == 0
        assert sorted(p.name for p in out.glob("*.png")) == drawn
    return drawn


#: a sweep of one key alone: the figure that shows its values (a curve along an axis of numbers, or bars)
ALONE = {
    "cluster.capacity": "sweep_curve",  # 100 objects and 1 KiB share no axis: bars, not capacity_curve
    "cluster.ttl": "sweep_curve",  # a number and a distribution: bars, not ttl_curve
    "workload.object_size": "sweep_curve",
    "workload.alpha": "sweep_curve",  # 0, 0.5 and 1: integers and floats, one axis
    "cluster.policy_params": "sweep_curve",
    "backend.coalesce": "sweep_curve",
    "run.interval": "sweep_curve",
}
#: zipped together, as the lines of a capacity curve
ZIPPED = ("cluster.ttl", "workload.object_size", "workload.arrivals", "network.hit_latency", "backend.latency")


@pytest.mark.parametrize("key", sorted(ALONE))
def test_a_sweep_of_mixed_forms_draws_its_figures(tmp_path, capsys, key):
    drawn = run_and_draw(tmp_path, {**BASE, "sweep": {key: MIXED[key]}}, redraw=key == "cluster.capacity")
    assert f"{ALONE[key]}.png" in drawn
    assert not {"capacity_curve.png", "ttl_curve.png"} & set(drawn)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["sweep"]["grid"][key] == MIXED[key]  # as written, every form kept
    capsys.readouterr()


def test_mixed_values_name_the_lines_of_a_curve(tmp_path, capsys):
    """A capacity curve whose lines are points of a zip of mixed keys: the overlay reads each line's config."""
    zipped = {key: MIXED[key][:2] for key in ZIPPED}
    config = {**BASE, "sweep": {"cluster.capacity": [20, 40, 80], "zip": zipped}}
    drawn = run_and_draw(tmp_path, config, redraw=True)
    assert {"capacity_curve.png", "p99_capacity.png"} <= set(drawn)
    capsys.readouterr()
