"""What the figures draw, read back from the figure objects: steps, band limits, units, bars, rows, notes.

Each test builds the tables of a small experiment by hand (no simulation),
draws one figure and inspects its artists, so that it fails if the figure
draws something else than it should, not merely if no file appears.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.container import BarContainer

from experiments import plots
from experiments.config import resolve
from experiments.plots import labels, mrc, overlays
from experiments.plots.latency import pooled_cdf


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def tables(sweep: dict, summary: list[dict], config: dict | None = None, nodes=None, latency=None, seeds=3):
    """Tables of an experiment that swept `sweep`, with one summary row per dict (defaults filled in)."""
    base = {"seeds": seeds, "hit_ratio_ci95": 0.0, "p99_ms_mean": 10.0, "p99_ms_ci95": 0.0}
    base |= {"imbalance_mean": 1.1, "imbalance_ci95": 0.0}
    empty = pd.DataFrame(columns=["seed", "node", "requests", "share", "hit_ratio"])
    return plots.Tables(
        name="test",
        config=resolve(config or {}).config.written(),
        sweep=sweep,
        seeds=seeds,
        summary=pd.DataFrame([base | row for row in summary]),
        nodes=empty if nodes is None else nodes,
        latency=pd.DataFrame(columns=["seed", "probability", "latency_ms"]) if latency is None else latency,
    )


def note(fig) -> str:
    """The notes under a figure, unwrapped."""
    return " ".join(fig.get_supxlabel().split())


# -- latency CDF ------------------------------------------------------------------------


def test_latency_cdf_is_steps_through_the_recorded_points_with_a_legend_in_each_panel():
    rows = [
        {"seed": seed, "cluster.capacity": capacity, "latency_ms": ms, "probability": p}
        for capacity, shift in ((100, 0.0), (200, 1.0))
        for seed, points in ((1, [(0.2, 0.5), (5.0, 0.9), (20.0, 1.0)]), (2, [(0.3, 0.6), (6.0, 0.95), (30.0, 1.0)]))
        for ms, p in [(ms + shift, p) for ms, p in points]
    ]
    sweep = {"cluster.capacity": [100, 200]}
    fig = plots.PLOTS["latency_cdf"](tables(sweep, [], latency=pd.DataFrame(rows)))
    body, tail = fig.axes
    first = body.get_lines()[0]
    assert first.get_drawstyle() == "steps-post"
    # Six recorded latencies of two seeds, pooled: each run's CDF held until its next point, then averaged.
    assert first.get_xdata().tolist() == [0.2, 0.3, 5.0, 6.0, 20.0, 30.0]
    assert first.get_ydata().tolist() == pytest.approx([0.25, 0.55, 0.75, 0.925, 0.975, 1.0])
    assert all(line.get_drawstyle() == "steps-post" for ax in (body, tail) for line in ax.get_lines())
    for ax in (body, tail):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["capacity=100", "capacity=200"]
    # The tail leaves out the last step, where no request is slower (a log axis has no zero).
    assert tail.get_lines()[0].get_ydata().tolist() == pytest.approx([0.75, 0.45, 0.25, 0.075, 0.025])


def test_pooled_cdf_of_runs_with_their_own_latencies_is_the_cdf_of_all_their_requests():
    # Two runs of 4 requests each: {1, 2, 3, 4} ms and {2, 2, 5, 6} ms, recorded at every request.
    rows = pd.DataFrame(
        {
            "seed": [1, 1, 1, 1, 2, 2, 2],
            "latency_ms": [1.0, 2.0, 3.0, 4.0, 2.0, 5.0, 6.0],
            "probability": [0.25, 0.5, 0.75, 1.0, 0.5, 0.75, 1.0],
        }
    )
    latency, fraction = pooled_cdf(rows)
    everything = np.array([1, 2, 3, 4, 2, 2, 5, 6])
    assert fraction.tolist() == [np.mean(everything <= x) for x in latency]


# -- bands, coinciding lines, notes ---------------------------------------------------------


def test_bands_are_clipped_to_what_the_metric_can_be():
    sweep = {"cluster.nodes": [1, 2, 4]}
    summary = [
        {"cluster.nodes": n, "hit_ratio_mean": h, "hit_ratio_ci95": 0.05, "imbalance_mean": i, "imbalance_ci95": 0.3}
        for n, h, i in ((1, 0.97, 1.0), (2, 0.98, 1.05), (4, 0.99, 1.2))
    ]
    fig = plots.PLOTS["node_scaling"](tables(sweep, summary))
    hit, _, imbalance = fig.axes

    def band(ax):
        (collection,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
        return collection.get_paths()[0].vertices[:, 1]

    assert band(hit).max() == pytest.approx(1.0)  # 0.99 + 0.05 would pass 1
    assert band(imbalance).min() == pytest.approx(1.0)  # 1.0 - 0.3 would dip below the mean
    assert band(imbalance).max() == pytest.approx(1.5)


def test_a_line_lying_on_another_is_drawn_hollow_and_dashed_and_said_so():
    sweep = {"cluster.nodes": [1, 2, 4], "cluster.balancer": ["consistent", "modulo"]}
    summary = [
        {"cluster.nodes": n, "cluster.balancer": b, "hit_ratio_mean": h, "imbalance_mean": i}
        for b, lift in (("consistent", 0.0), ("modulo", 0.002))
        for n, h, i in ((1, 0.3 + lift, 1.0), (2, 0.4 + lift, 1.2 + 20 * lift), (4, 0.5 + lift, 1.4 + 40 * lift))
    ]
    fig = plots.PLOTS["node_scaling"](tables(sweep, summary))
    hit, _, imbalance = fig.axes
    consistent, modulo = hit.get_lines()[:2]
    assert consistent.get_linestyle() == "-" and consistent.get_markerfacecolor() != "none"
    assert modulo.get_linestyle() == "--" and modulo.get_markerfacecolor() == "none"
    # the note says what the figure shows: how far apart, computed (0.002 above), not "lies on"
    assert "Hit ratio: balancer=modulo lies 0.002 above balancer=consistent (closer than" in note(fig)
    assert "Load imbalance: balancer=modulo lies" not in note(fig)  # 0.08 apart at 4 nodes: seen apart
    assert [line.get_linestyle() for line in imbalance.get_lines()[:2]] == ["-", "--"]  # apart at 4, not at 1


@pytest.mark.parametrize(
    "lifts,said",
    [
        ((0.004, 0.011, 0.008), "clock lies 0.004 to 0.011 above lru"),
        ((-0.01, -0.01, -0.01), "clock lies 0.01 below lru"),
        ((0.003, -0.006, 0.0), "clock lies within 0.006 of lru, above and below"),
        ((0.0, 0.0, 0.0), "clock has the same values as lru"),
        ((0.0, 0.002, 0.0), "clock lies 0 to 0.002 above lru"),
    ],
)
def test_the_note_of_a_hidden_line_says_how_far_it_lies_from_the_one_it_hides(lifts, said):
    # the capacity curve said "clock lies on lru" where clock was visibly 0.011 above
    sweep = {"cluster.capacity": [200, 1000, 5000], "cluster.policy": ["lru", "clock"]}
    summary = [
        {"cluster.capacity": c, "cluster.policy": policy, "hit_ratio_mean": h + (lift if policy == "clock" else 0)}
        for policy in ("lru", "clock")
        for c, h, lift in zip((200, 1000, 5000), (0.17, 0.35, 0.63), lifts)
    ]
    fig = plots.PLOTS["capacity_curve"](tables(sweep, summary, config={"cluster": {"nodes": 1}}))
    assert f"Hit ratio: {said} (closer than a marker's height), drawn hollow and dashed over it." in note(fig)


def test_bands_narrower_than_the_markers_are_said_to_be_there():
    sweep = {"cluster.capacity": [100, 200, 400]}
    summary = [
        {"cluster.capacity": c, "hit_ratio_mean": h, "hit_ratio_ci95": 0.002}
        for c, h in ((100, 0.2), (200, 0.3), (400, 0.4))
    ]
    fig = plots.PLOTS["capacity_curve"](tables(sweep, summary))
    assert "the 95% confidence bands are drawn, but they are narrower than the markers" in note(fig)
    summary = [row | {"hit_ratio_ci95": 0.05} for row in summary]
    assert "narrower than the markers" not in note(plots.PLOTS["capacity_curve"](tables(sweep, summary)))


# -- theory curves ---------------------------------------------------------------------------

QUICKSTART = {"run": {"requests": 200_000, "warmup": 50_000}, "workload": {"keys": 100_000, "alpha": 0.9}}


def test_p99_rings_the_points_whose_offered_load_reaches_capacity():
    summary = [
        {"cluster.capacity": c, "hit_ratio_mean": 0.5, "p99_ms_mean": p99, "backend_utilisation_mean": u,
         "node_utilisation_mean": 0.0}
        for c, p99, u in ((500, 1100.0, 1.09), (1000, 14.0, 0.91), (2500, 13.0, 0.70))
    ]  # fmt: skip
    fig = plots.PLOTS["p99_capacity"](tables({"cluster.capacity": [500, 1000, 2500]}, summary))
    (ax,) = fig.axes
    rings = [line for line in ax.get_lines() if line.get_label() == "saturated"]
    assert len(rings) == 1 and rings[0].get_xdata().tolist() == [500] and rings[0].get_ydata().tolist() == [1100]
    assert rings[0].get_markeredgecolor() == "red" and rings[0].get_markerfacecolor() == "none"
    assert "ringed in red, 1 point(s) where offered load reaches capacity" in note(fig)
    calm = [row | {"backend_utilisation_mean": 0.5} for row in summary]
    fig = plots.PLOTS["p99_capacity"](tables({"cluster.capacity": [500, 1000, 2500]}, calm))
    assert not [line for line in fig.axes[0].get_lines() if line.get_label() == "saturated"]


def test_che_curve_is_labelled_with_its_assumption_and_the_saturated_point_is_named():
    # The quickstart's numbers: at 500 objects per node Che predicts 11,774 misses/s, beyond the
    # backend's 64 / 5.67 ms = 11,296/s; at 1,000 and above the backend keeps up.
    sweep = {"cluster.capacity": [500, 1000, 10_000]}
    summary = [{"cluster.capacity": c, "hit_ratio_mean": h} for c, h in ((500, 0.383), (1000, 0.486), (10_000, 0.801))]
    fig = plots.PLOTS["capacity_curve"](tables(sweep, summary, QUICKSTART))
    (ax,) = fig.axes
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert overlays.CHE == "Che's approximation (instant fills)" and overlays.CHE in legend
    assert f"{overlays.CHE}, steady state" in legend  # the 50,000-request warm-up does not fill 40,000 slots
    assert (
        "The backend is saturated at capacity per node 500: the predicted hit ratio leaves 11,774 misses/s for a "
        "backend that serves 11,296/s" in note(fig)
    )
    curve = next(line for line in ax.get_lines() if line.get_label() == overlays.CHE)
    assert curve.get_zorder() < ax.get_lines()[0].get_zorder()  # beneath the simulation
    assert curve.get_ydata()[-1] == pytest.approx(0.8029, abs=5e-4)  # from empty, as the runs measure


def test_che_from_an_empty_cache_is_what_a_short_warm_up_measures():
    """Measured from the start, a large LRU is still filling: Che's steady state is 0.08 too high."""
    from sim import BackendSpec, ClusterSpec, Scenario, run, theory
    from workloads import Constant, Poisson, Workload, Zipf

    law = Zipf(10_000, 0.9)
    scenario = Scenario(
        workload=Workload(law, Poisson(10_000.0)),
        cluster=ClusterSpec(nodes=1, capacity=4_000),
        backend=BackendSpec(latency=Constant(0.0), concurrency=1),
        hit_latency=Constant(0.0),
        requests=20_000,
        warmup=0,
    )
    simulated = np.mean([run(scenario, seed=seed).hit_ratio for seed in (1, 2)])
    assert overlays.che_from_empty(law.pmf(), 4_000, 0, 20_000) == pytest.approx(simulated, abs=0.006)
    assert theory.che_hit_ratio(law.pmf(), 4_000) - simulated > 0.05
    # With a warm-up longer than the characteristic time it is Che's steady state.
    assert overlays.che_from_empty(law.pmf(), 4_000, 10**6, 1000) == pytest.approx(
        theory.che_hit_ratio(law.pmf(), 4_000)
    )


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"workload": {"scan_fraction": 0.2, "scan_keys": 100}}, "scans"),
        ({"workload": {"write_fraction": 0.1}}, "writes"),
        ({"cluster": {"balancer": "p2c"}}, "the p2c balancer"),
        ({"cluster": {"replicas": 2}}, "replicas"),
        ({"cluster": {"failures": [{"node": 0, "down_at": 1, "up_at": 2}]}}, "failures"),
    ],
)
def test_no_theory_curve_where_its_assumptions_do_not_hold(change, reason):
    config = resolve(change).config.written()
    assert overlays.stream_departure(config) == reason
    assert overlays.lru_hit_ratio(config) is None
    assert overlays.stream_departure(resolve({}).config.written()) is None


def test_the_ttl_formula_is_drawn_in_a_steady_state_and_for_the_ttl_mode_of_the_run():
    from sim import theory
    from workloads import Zipf

    config = {"run": {"warmup": 5_000}, "workload": {"keys": 5_000, "alpha": 0.8, "rate": 10_000}}
    config["cluster"] = {"capacity": 5_000, "ttl": 0.2}
    p = Zipf(5_000, 0.8).pmf()
    assert overlays.ttl_hit_ratio(resolve(config).config.written()) == theory.ttl_hit_ratio_catalogue(p, 10_000, 0.2)
    refresh = resolve({**config, "cluster": {**config["cluster"], "ttl_mode": "refresh"}}).config.written()
    assert overlays.ttl_hit_ratio(refresh) == theory.ttl_hit_ratio_catalogue(p, 10_000, 0.2, reset_on_hit=True)
    short = resolve(
        {**config, "run": {"warmup": 1_000}}
    ).config.written()  # 0.1 s of warm-up: no entry is 0.2 s old yet
    assert overlays.ttl_hit_ratio(short) is None


# -- bars, rows, units -----------------------------------------------------------------------


def test_a_categorical_sweep_is_drawn_as_bars_not_lines():
    sweep = {"cluster.balancer": ["consistent", "modulo"]}
    summary = [
        {"cluster.balancer": b, "hit_ratio_mean": 0.69, "hit_ratio_ci95": 0.01} for b in sweep["cluster.balancer"]
    ]
    assert plots.plan(sweep) == ["sweep_curve", "latency_cdf", "node_load"]
    fig = plots.PLOTS["sweep_curve"](tables(sweep, summary))
    for ax in fig.axes:
        bars = [bar for container in ax.containers if isinstance(container, BarContainer) for bar in container]
        assert len(bars) == 2  # a bar per balancer
        assert not [line for line in ax.get_lines() if len(line.get_xdata()) > 2]  # no line through categories
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == ["consistent", "modulo"]


def node_rows(sweep_key, values, requests_of):
    return pd.DataFrame(
        [
            {"seed": seed, sweep_key: value, "node": node, "requests": r, "share": r / 1000, "hit_ratio": 0.5}
            for value in values
            for seed in (1, 2)
            for node, r in enumerate(requests_of(value, seed))
        ]
    )


def test_node_load_shows_one_row_for_a_key_routing_does_not_depend_on():
    sweep = {"cluster.capacity": [100, 200, 400]}
    nodes = node_rows("cluster.capacity", sweep["cluster.capacity"], lambda value, seed: [400 + seed, 600 - seed])
    fig = plots.PLOTS["node_load"](tables(sweep, [], nodes=nodes))
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["every capacity per node"]
    assert len(ax.collections[0].get_offsets()) == 4  # 2 nodes x 2 seeds, once
    assert "The same for every capacity per node" in note(fig)
    # Where the load does change with the key, every value keeps its row.
    sweep = {"workload.alpha": [0.6, 1.0]}
    nodes = node_rows("workload.alpha", sweep["workload.alpha"], lambda value, seed: [int(400 * value), 1000])
    (ax,) = plots.PLOTS["node_load"](tables(sweep, [], nodes=nodes)).axes
    assert [t.get_text() for t in ax.get_yticklabels()] == ["alpha=0.6", "alpha=1.0"]


@pytest.mark.parametrize(
    "value, text", [(512, "512 B"), (1536, "1.5 KiB"), (2**20, "1 MiB"), (64 * 2**20, "64 MiB"), (3 * 2**40, "3 TiB")]
)
def test_binary_sizes(value, text):
    assert labels.binary_size(value) == text


def test_a_byte_axis_ticks_at_round_binary_sizes():
    assert labels.BinaryLocator(log=True).tick_values(2**20, 2**36).tolist() == [2.0**e for e in range(20, 37, 5)]
    linear = labels.BinaryLocator(log=False).tick_values(0, 3 * 2**30)
    assert all(value % 2**29 == 0 for value in linear)  # multiples of half a GiB, not of 10**9
    # A capacity sweep in bytes with too many values to name each: binary sizes, not 10^6 ... 10^9.
    _, ax = plt.subplots()
    sizes = [f"{2**i}KiB" for i in range(10, 22)]
    ax.plot(labels.numeric_axis(sizes), np.linspace(0, 1, len(sizes)))
    labels.set_x_axis(ax, "cluster.capacity", sizes)
    ax.figure.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1 MiB", "4 MiB", "16 MiB", "64 MiB", "256 MiB", "1 GiB"]
    table = pd.DataFrame({"capacity": np.geomspace(2**20, 2**36, 20).astype(int), "miss_ratio": np.linspace(1, 0, 20)})
    fig = mrc.curve_figure(table, {"count_bytes": True, "trace": "t.bin", "policy": "lru", "method": "stack"})
    fig.canvas.draw()
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels() if t.get_text()]
    assert ticks and all(t.endswith(("MiB", "GiB")) for t in ticks), ticks
    assert fig.axes[0].get_xlabel() == "cache capacity (bytes)"
