"""Figures: planned from what was swept, drawn from DIR's files, with theory where it applies."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import experiments
from experiments import plots
from experiments.config import resolve
from experiments.plots import overlays
from experiments.plots.tables import distinct_parts
from sim.metrics import TIMESERIES
from tests.experiments.conftest import kvsim, write_config

GRID = """
name = "grid"
[run]
requests = 2000
warmup = 500
seeds = [1, 2]
interval = 60               # one row of timeseries.csv per run: no time course to draw
[workload]
keys = 2000
rate = 5000
[cluster]
nodes = 2
[sweep]
"cluster.policy" = ["lru", "fifo"]
"cluster.capacity" = [50, 100, 200]
"""


@pytest.mark.parametrize(
    "sweep,expected",
    [
        ({}, ["latency_cdf", "node_load"]),
        ({"cluster.capacity": [1, 2, 3]}, ["capacity_curve", "p99_capacity", "latency_cdf", "node_load"]),
        ({"cluster.capacity": [1, 2]}, ["capacity_curve", "p99_capacity", "latency_cdf", "node_load"]),
        ({"cluster.ttl": [1, 2, 3], "cluster.capacity": [1, 2]}, ["ttl_curve", "latency_cdf", "node_load"]),
        (
            {"cluster.policy": ["lru", "fifo"], "workload.alpha": [0.6, 0.8]},
            ["policy_compare", "latency_cdf", "node_load"],
        ),
        (
            {"cluster.nodes": [1, 2, 4], "cluster.balancer": ["modulo", "consistent"]},
            ["node_scaling", "latency_cdf", "node_load"],
        ),
        ({"workload.alpha": [0.6, 0.8, 1.0]}, ["sweep_curve", "latency_cdf", "node_load"]),
    ],
)
def test_plan_follows_the_swept_keys(sweep, expected):
    assert plots.plan(sweep) == expected


def test_plan_extras():
    assert plots.plan({}, one_node=True) == ["latency_cdf"]
    assert plots.plan({}, timeseries=True)[-1] == "timeseries"


@pytest.fixture(scope="module")
def grid_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("grid")
    experiments.run(write_config(directory, GRID), out=directory / "out")
    return directory / "out"


def figure_files(directory):
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir()) if path.suffix in (".png", ".svg")}


def test_run_draws_the_planned_figures_and_kvsim_plot_redraws_the_same_bytes(grid_dir):
    planned = ["capacity_curve", "p99_capacity", "policy_compare", "latency_cdf", "node_load"]
    drawn = figure_files(grid_dir)
    assert sorted(drawn) == sorted(f"{name}{suffix}" for name in planned for suffix in (".png", ".svg"))
    assert all(drawn[f"{name}.png"].startswith(b"\x89PNG") for name in planned)
    for path in grid_dir.glob("*.png"):
        path.unlink()
    done = kvsim("plot", grid_dir)
    assert done.returncode == 0, done.stderr
    assert "capacity_curve, p99_capacity, policy_compare, latency_cdf, node_load" in done.stdout
    assert figure_files(grid_dir) == drawn  # no timestamps: same files, same bytes


def test_figures_name_their_axes_with_units(grid_dir):
    # Matplotlib's SVG keeps every text it draws in a comment beside its glyphs.
    capacity = (grid_dir / "capacity_curve.svg").read_text()
    for text in ("capacity per node (objects)", "hit ratio (fraction of requests)", "Che", "lru", "fifo"):
        assert text in capacity
    assert "p99 latency (ms)" in (grid_dir / "p99_capacity.svg").read_text()
    assert "latency (ms)" in (grid_dir / "latency_cdf.svg").read_text()
    assert "mean node" in (grid_dir / "node_load.svg").read_text()


def test_timeseries_is_drawn_when_timeseries_csv_appears(grid_dir):
    assert set(plots.TIMESERIES_PANELS) < set(TIMESERIES)  # the panels draw columns the runs write
    rows = [
        {
            "seed": seed,
            "cluster.policy": policy,
            "cluster.capacity": capacity,
            "t_start": t,
            "t_end": t + 0.5,
            "requests": 500,
            "hit_ratio": 0.5 - (0.3 if 2 <= t < 4 else 0),
            "p99_ms": 10 + (20 if 2 <= t < 4 else 0),
            "backend_rps": 200 + (400 if 2 <= t < 4 else 0),
            "backend_utilisation": 0.2 + (0.4 if 2 <= t < 4 else 0),
            "nodes": 4,
            "moved": 0.0,
            "cold_misses": 0,
            "gutter_hits": 0,
            "near_hits": 0,
        }
        for seed in (1, 2)
        for policy in ("lru", "fifo")
        for capacity in (50, 100, 200)
        for t in np.arange(0, 8, 0.5)
    ]
    timeseries = grid_dir / "timeseries.csv"
    pd.DataFrame(rows).to_csv(timeseries, index=False)
    try:
        written = plots.draw(grid_dir)
        assert grid_dir / "timeseries.png" in written and grid_dir / "timeseries.svg" in written
        svg = (grid_dir / "timeseries.svg").read_text()
        for text in ("time (s)", *plots.TIMESERIES_PANELS.values()):
            assert text in svg
        assert "nodes serving" not in svg  # a fixed fleet (fleet.csv has no rows): no panel of nodes
        figure = plots.PLOTS["timeseries"](plots.load(grid_dir))
        scales = {ax.get_ylabel(): ax.get_yscale() for ax in figure.axes}
        note = figure.get_supxlabel()
        plt.close(figure)
        # p99 on a log scale (one saturated line must not flatten the others), the others linear
        assert scales == {"hit ratio": "linear", "p99 latency (ms)": "log", "backend load (requests/s)": "linear"}
        assert "averaged over 2 seeds" in " ".join(note.split())  # the rows have seeds 1 and 2
        # plain numbers on the log axis (10 to 30 ms, within a decade), not "1.5 x 10^1"
        p99 = next(ax for ax in figure.axes if ax.get_ylabel() == "p99 latency (ms)")
        assert p99.yaxis.get_minor_formatter()(15.0, 0) == "15" and p99.yaxis.get_major_formatter()(100.0, 0) == "100"
    finally:
        timeseries.unlink()
    plots.draw(grid_dir)
    assert not (grid_dir / "timeseries.png").exists()  # a figure no longer planned is removed


def test_a_fleet_that_changed_gets_a_nodes_panel_on_top_and_each_change_marked(grid_dir):
    rows = [
        {
            "seed": seed,
            "cluster.policy": policy,
            "cluster.capacity": capacity,
            "t_start": t,
            "t_end": t + 0.5,
            "requests": 500,
            "hit_ratio": 0.5,
            "p99_ms": 10,
            "backend_rps": 200,
            "backend_utilisation": 0.2,
            "nodes": 2 + (t >= 2) - (5 <= t < 6),  # one joins at 2 s; one is down from 5 s to 6 s
            "moved": 0.0,
            "cold_misses": 0,
            "gutter_hits": 0,
            "near_hits": 0,
        }
        for seed in (1, 2)
        for policy in ("lru", "fifo")
        for capacity in (50, 100, 200)
        for t in np.arange(0, 8, 0.5)
    ]
    changes = [
        {
            "seed": 1,
            "cluster.policy": "lru",
            "cluster.capacity": 50,
            "time_s": time,
            "decided_s": time,
            "kind": kind,
            "node_ids": node,
            "nodes": nodes,
            "moved_share": 0.3,
            "orphaned": 0,
            "signal": "",
            "reason": reason,
        }
        for time, kind, node, nodes, reason in [
            (2.0, "add", "2", 3, "planned"),
            (5.0, "down", "0", 2, "failure"),
            (6.0, "up", "0", 3, "failure"),
        ]
    ]
    timeseries, fleet = grid_dir / "timeseries.csv", grid_dir / "fleet.csv"
    before = fleet.read_text()
    pd.DataFrame(rows).to_csv(timeseries, index=False)
    pd.DataFrame(changes).to_csv(fleet, index=False)
    try:
        figure = plots.PLOTS["timeseries"](plots.load(grid_dir))
        axes = figure.axes
        assert [ax.get_ylabel() for ax in axes] == ["nodes serving", *plots.TIMESERIES_PANELS.values()]
        for ax in axes:
            marks = {
                (line.get_xdata()[0], line.get_linestyle())
                for line in ax.get_lines()
                if len(set(line.get_xdata())) == 1 and len(line.get_xdata()) == 2
            }
            assert marks == {(2.0, "-"), (5.0, ":"), (6.0, ":")}
        drawn = [line for line in axes[0].get_lines() if len(line.get_xdata()) > 2]
        # named above the top panel, at their times; the note says what the two styles mean
        names = {text.xy[0]: text.get_text() for text in axes[0].texts}
        assert names == {2.0: "node 2 joins", 5.0: "node 0 down", 6.0: "node 0 back"}
        said = " ".join(figure.get_supxlabel().split())
        assert "solid: nodes joined, left or were resized; dotted: a node went down or came back" in said
        plt.close(figure)
        assert max(line.get_ydata().max() for line in drawn) == 3 and min(line.get_ydata().min() for line in drawn) == 2
        written = plots.draw(grid_dir)
        assert grid_dir / "timeseries.svg" in written and "nodes serving" in (grid_dir / "timeseries.svg").read_text()
    finally:
        timeseries.unlink()
        fleet.write_text(before)


@pytest.mark.parametrize("share", [0.5, 0.01], ids=["near", "far"])
def test_the_backend_panel_draws_the_backends_capacity(grid_dir, share):
    # GRID's backend: the default latency and concurrency; its capacity is concurrency over mean latency
    config = plots.load(grid_dir).config
    capacity = overlays.backend_capacity(config)
    mean_ms = overlays.latency_seconds(config["backend"]["latency"]).mean * 1000
    assert capacity == pytest.approx(config["backend"]["concurrency"] / mean_ms * 1000)
    load = share * capacity  # half the capacity (drawn as a line), or a hundredth (said in words)
    rows = [
        {"seed": seed, "cluster.policy": policy, "cluster.capacity": size, "t_start": t, "t_end": t + 0.5}
        | {"requests": 500, "hit_ratio": 0.5, "p99_ms": 10.0, "backend_rps": load, "backend_utilisation": share}
        | {"nodes": 2, "moved": 0.0, "cold_misses": 0, "gutter_hits": 0, "near_hits": 0}
        for seed in (1, 2)
        for policy in ("lru", "fifo")
        for size in (50, 100, 200)
        for t in np.arange(0, 4, 0.5)
    ]
    timeseries = grid_dir / "timeseries.csv"
    pd.DataFrame(rows).to_csv(timeseries, index=False)
    try:
        figure = plots.PLOTS["timeseries"](plots.load(grid_dir))
        backend = next(ax for ax in figure.axes if ax.get_ylabel() == "backend load (requests/s)")
        flat = [
            line for line in backend.get_lines() if len(set(line.get_ydata())) == 1 and line.get_linestyle() == "--"
        ]
        texts = [text.get_text() for text in backend.texts]
        top = backend.get_ylim()[1]
        plt.close(figure)
    finally:
        timeseries.unlink()
    if share == 0.5:
        assert [line.get_ydata()[0] for line in flat] == [pytest.approx(capacity)]  # one line: every point shares it
        assert texts == [f"backend capacity {capacity:,.0f}/s"]
        assert top > capacity  # on the panel, above the load
    else:  # a line at 100x the load would flatten it: the panel keeps the load's scale and says where it is
        assert flat == [] and top < 2 * load
        assert texts == [f"backend capacity {capacity:,.0f}/s: 100x the highest load, off the panel"]


def test_plot_without_an_experiment_exits_2(tmp_path):
    done = kvsim("plot", tmp_path / "nothing")
    assert done.returncode == 2 and "no experiment here (no manifest.json)" in done.stderr
    assert done.stderr.count("\n") == 1


THEORY = {
    "run": {"requests": 40_000, "warmup": 30_000, "seeds": [1, 2]},
    "workload": {"keys": 10_000, "alpha": 0.9, "rate": 2000},
    "backend": {"latency": 1.0},
}  # a fast backend: fills follow misses closely, as theory assumes


@pytest.mark.parametrize("nodes,capacity", [(1, 1000), (4, 250)])
def test_che_overlay_matches_simulated_lru(nodes, capacity):
    config = {**THEORY, "cluster": {"nodes": nodes, "capacity": capacity}}
    simulated = experiments.run(config)["hit_ratio"].mean()
    # Four nodes of 250 behave as one LRU of 1,000: the same prediction for both.
    assert overlays.lru_hit_ratio(resolve(config).config.written()) == pytest.approx(simulated, abs=0.01)


def test_ttl_overlay_matches_a_cache_that_never_evicts():
    config = {
        **THEORY,
        "workload": {"keys": 5000, "alpha": 0.8, "rate": 5000},
        "cluster": {"nodes": 2, "capacity": 5000, "ttl": 0.2},
    }
    simulated = experiments.run(config)["hit_ratio"].mean()
    assert overlays.ttl_hit_ratio(resolve(config).config.written()) == pytest.approx(simulated, abs=0.01)


@pytest.mark.parametrize(
    "cluster",
    [
        {"policy": "fifo"},  # Che's formula here is LRU's
        {"ttl": 1.0},  # expiry is not in it
        {"capacity": "64KiB"},  # it counts objects
    ],
)
def test_no_che_curve_where_it_does_not_apply(cluster):
    assert overlays.lru_hit_ratio(resolve({"cluster": cluster}).config.written()) is None


def test_a_trillion_key_catalogue_runs_and_draws_no_theory_curve():
    """Its pmf would take 8 TB: the run draws keys in constant memory, and the overlays skip the curve."""
    config = {"run": {"requests": 5_000, "warmup": 0, "seeds": [1]}, "workload": {"keys": 10**12}}
    assert len(experiments.run(config)) == 1
    resolved = resolve({**config, "cluster": {"capacity": 10**12, "ttl": 1.0}}).config.written()
    assert overlays.lru_hit_ratio(resolve(config).config.written()) is None and overlays.ttl_hit_ratio(resolved) is None


def test_no_ttl_curve_when_the_cache_can_evict():
    assert (
        overlays.ttl_hit_ratio(
            resolve({"workload": {"keys": 5000}, "cluster": {"capacity": 4999, "ttl": 1}}).config.written()
        )
        is None
    )


def test_plot_on_a_damaged_directory_is_one_line(tmp_path):
    (tmp_path / "manifest.json").write_text("{not json")
    done = kvsim("plot", tmp_path)
    assert done.returncode == 2 and "not a kvsim manifest" in done.stderr and "Traceback" not in done.stderr
    empty = kvsim("plot", tmp_path / "nothing")
    assert empty.returncode == 2 and "no manifest.json" in empty.stderr


def test_a_legend_of_swept_tables_names_only_what_differs_between_them():
    values = ["{down_s=20, gap_s=0, order=id}", "{down_s=20, gap_s=40, order=id}"]
    assert distinct_parts(values) == {values[0]: "{gap_s=0}", values[1]: "{gap_s=40}"}
    assert distinct_parts(["lru", "fifo"]) == {} and distinct_parts([values[0]]) == {}


def test_legends_give_a_swept_ttl_its_unit(tmp_path):
    config = tmp_path / "ttl.toml"
    config.write_text(
        GRID.replace('"cluster.policy" = ["lru", "fifo"]', '"cluster.ttl" = [0.5, 2]').replace("grid", "ttl")
    )
    experiments.run(str(config), out=str(tmp_path / "out"), workers=1)
    figure = plots.PLOTS["latency_cdf"](plots.load(tmp_path / "out"))
    legends = [text.get_text() for ax in figure.axes if ax.get_legend() for text in ax.get_legend().get_texts()]
    legends += [text.get_text() for legend in figure.legends for text in legend.get_texts()]
    plt.close(figure)
    shown = " ".join(" ".join(legends).split())
    assert "ttl=0.5 s" in shown and "ttl=2.0 s" in shown, legends
    assert plots.labels.value_label("cluster.policy", "lru") == "lru"  # a name has no unit
    assert plots.labels.value_label("cluster.capacity", 50) == "capacity=50"  # (its axis says objects or bytes)
