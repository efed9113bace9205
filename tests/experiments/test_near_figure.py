"""The stale-near-reads figure, read back from its artists: what it draws from summary.csv's columns."""

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from experiments import plots
from experiments.config import load, resolve
from experiments.configs import path as shipped


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


SIZES, DELAYS = [0, "32KiB", "256KiB"], [600, 0, 60]  # the delays out of order: drawn sorted

#: per (size, delay): (near hits, stale near reads), means over seeds
MEANS = {
    (0, 0): (0, 0),
    (0, 60): (0, 0),
    (0, 600): (0, 0),
    ("32KiB", 0): (1000.0, 0.0),
    ("32KiB", 60): (1000.0, 25.0),
    ("32KiB", 600): (1000.0, 30.0),
    ("256KiB", 0): (4000.0, 0.0),
    ("256KiB", 60): (4000.0, 320.0),
    ("256KiB", 600): (4000.0, 960.0),
}


def near_tables() -> plots.Tables:
    rows = [
        {"near.capacity": size, "near.invalidation_delay_s": delay, "seeds": 1, "hit_ratio_mean": 0.45}
        | {"hit_ratio_ci95": 0.0, "p99_ms_mean": 70.0, "near_hits_mean": hits, "near_stale_mean": stale}
        for size in SIZES
        for delay in DELAYS
        for hits, stale in [MEANS[size, delay]]
    ]
    empty = pd.DataFrame(columns=["seed", "node", "requests", "share", "hit_ratio"])
    return plots.Tables(
        name="near",
        config=resolve({}).config.written(),
        sweep={"near.capacity": SIZES, "near.invalidation_delay_s": DELAYS},
        seeds=1,
        summary=pd.DataFrame(rows),
        nodes=empty,
        latency=pd.DataFrame(columns=["seed", "probability", "latency_ms"]),
    )


def test_stale_near_reads_and_their_share_of_near_hits_against_the_delay_a_line_per_size():
    fig = plots.PLOTS["near_stale"](near_tables())
    count, share = fig.axes
    for ax in (count, share):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["capacity=32KiB", "capacity=256KiB"]
        assert all(line.get_xdata().tolist() == [0, 60, 600] for line in ax.get_lines())
        assert ax.get_xlabel() == "invalidation delay to the near caches (s)"
    assert [line.get_ydata().tolist() for line in count.get_lines()] == [[0.0, 25.0, 30.0], [0.0, 320.0, 960.0]]
    assert [line.get_ydata().tolist() for line in share.get_lines()] == [[0.0, 0.025, 0.03], [0.0, 0.08, 0.24]]
    # The cluster alone (a near cache of no capacity) has no near hit to share: left out, and said so.
    notes = " ".join(fig.get_supxlabel().split())
    assert "Not drawn, no near hits (no near cache): capacity=0." in notes


def test_the_shipped_near_cache_sweep_draws_it_and_other_sweeps_do_not():
    experiment = load(shipped("near_cache"))
    assert "near_stale" in plots.plan({**experiment.grid, **experiment.zipped})
    assert "near_stale" not in plots.plan({"near.capacity": SIZES})
    assert "near_stale" not in plots.plan({"cluster.capacity": [1, 2, 3]})
