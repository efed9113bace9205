"""The plan's figure, read back from its artists: each panel shades its own target's misses, the
legend stands beside the panels, a byte axis is ticked at round binary units, the notes say what
the failure series are and what caps an unmet range, whose last point keeps its margin."""

import matplotlib.pyplot as plt
import pytest

from experiments import plots
from experiments.plan import plan
from experiments.plan.figure import NOT_MET, BinaryUnitLocator, make_figure
from tests.experiments.conftest import write_config
from tests.experiments.test_plan import FIXED_SEEDS, TINY

MiB = 2**20


def drawn(planned):
    """The plan's figure, laid out as saved."""
    with plt.rc_context(plots.STYLE):
        fig = make_figure(planned)
        fig.canvas.draw()
    return fig


def note(fig) -> str:
    return " ".join(fig.get_supxlabel().split())


@pytest.mark.parametrize(
    "low,high,unit",
    [(1.8 * MiB, 3.4 * MiB, MiB), (1.7 * MiB, 2.2 * MiB, MiB), (1_500, 9_000, 1024), (300, 900, 1)],
)
def test_a_byte_axis_is_ticked_at_round_numbers_of_its_binary_unit(low, high, unit):
    # MaxNLocator ticked plan_recsys at 2,000,000 and 2,400,000 B: "1.91 MiB", "2.29 MiB"
    ticks = [t for t in BinaryUnitLocator().tick_values(low, high) if low <= t <= high]
    assert len(ticks) >= 2
    hundredths = [100 * t / unit for t in ticks]  # 1.8, 2, 2.25 MiB: a round number of the unit
    assert all(abs(h - round(h)) < 1e-6 for h in hundredths), ticks


def test_a_log_byte_axis_is_ticked_at_powers_of_two_of_its_unit():
    ticks = BinaryUnitLocator(log=True).tick_values(3 * MiB, 100 * MiB)
    assert [t / MiB for t in ticks] == [2, 4, 8, 16, 32, 64, 128]


@pytest.fixture(scope="module")
def survived(tmp_path_factory):
    """TINY planned for a hit ratio and an easy p99 with a node down (the hit ratio decides)."""
    folder = tmp_path_factory.mktemp("planfig")
    path = write_config(folder, TINY)
    return plan(path, hit_ratio=0.4, p99_ms=1000, survive=1, range="5:100", **FIXED_SEEDS)


def test_each_panel_shades_where_its_own_target_is_not_met(survived):
    fig = drawn(survived)
    hit, p99 = fig.axes
    assert hit.title.get_text().startswith("hit ratio") and p99.title.get_text().startswith("p99")
    # the small capacities miss the hit ratio, every capacity meets a p99 of a second: shaded on the left only
    assert hit.patches and not p99.patches
    below = min(patch.get_x() + patch.get_width() for patch in hit.patches)
    assert below <= survived.value
    plt.close(fig)


def test_the_legend_stands_beside_the_panels_and_the_note_says_what_the_failures_are(survived):
    fig = drawn(survived)
    assert [ax.get_legend() for ax in fig.axes] == [None, None] and len(fig.legends) == 1
    legend = fig.legends[0]
    labels = [text.get_text() for text in legend.get_texts()]
    assert "target" in labels and NOT_MET in labels and "worst node down" in labels
    box = legend.get_window_extent()
    assert not any(box.overlaps(ax.get_window_extent()) for ax in fig.axes)  # it hides no target line
    said = note(fig)
    assert "Worst node down: each seed's cluster loses each node in turn" in said
    if "likely worst node down" in labels:
        assert "Likely worst node down: only each seed's likely worst node was failed" in said
    plt.close(fig)


@pytest.mark.parametrize(
    "top,cap",
    [(40, "where the cluster holds less than the stream's footprint"), (400, "capped by misses no capacity removes")],
)
def test_an_unmet_range_keeps_its_last_point_whole_and_says_what_stops_it(tmp_path, top, cap):
    planned = plan(write_config(tmp_path, TINY), hit_ratio=0.99, range=f"10:{top}", **FIXED_SEEDS)
    assert not planned.met
    fig = drawn(planned)
    (ax,) = fig.axes
    last = max(v.value for v in planned.verdicts)
    assert last == top and ax.get_xlim()[1] >= 1.1 * last  # the margin beyond the range's top
    said = note(fig)
    keys = planned.question.sample.distinct_keys
    assert f"the range's top, {top} objects per node" in said or f"stops at {top} objects per node" in said
    assert cap in said and f"({keys:,} keys)" in said
    assert (2 * top >= keys) == ("capped by" in said)  # 2 nodes: the cluster holds 2 x top
    plt.close(fig)
