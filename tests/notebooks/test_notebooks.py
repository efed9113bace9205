"""Every teaching notebook runs top to bottom without an error.

Executed with nbclient in a fresh kernel whose working directory is the
repository root, so the notebooks import the checked-out packages.
"""

import json
from pathlib import Path

import pytest

from tests.trace_files import LIBCACHESIM_DATA

nbformat = pytest.importorskip("nbformat", reason="nbformat is in the test extra")
nbclient = pytest.importorskip("nbclient", reason="nbclient is in the test extra")

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

#: run first: keep every figure open after its cell, for the check below
KEEP_FIGURES = "%config InlineBackend.close_figures = False"

#: run last: the tick labels of every axis of every figure the notebook drew, as a reader sees them,
#: printed where two overlap
OVERLAPPING_TICK_LABELS = """
import matplotlib.pyplot as plt

for number in plt.get_fignums():
    figure = plt.figure(number)
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    for ax in figure.axes:
        for axis, start in ((ax.xaxis, "x0"), (ax.yaxis, "y0")):
            shown = [label for label in axis.get_ticklabels(which="both") if label.get_visible() and label.get_text()]
            boxes = [(label.get_window_extent(renderer), label.get_text()) for label in shown]
            boxes.sort(key=lambda box: getattr(box[0], start))
            for (one, text), (other, next_text) in zip(boxes, boxes[1:]):
                if one.overlaps(other):
                    print(f"OVERLAP {ax.get_title() or ax.get_xlabel()!r}: {text!r} and {next_text!r}")
"""


#: what a notebook's text quotes, held to what its cells computed: per notebook, Python expressions
#: evaluated in its kernel after the run, each a phrase its markdown must contain (whitespace aside),
#: or a claim (True) the text makes in words
QUOTED = {
    "02_eviction_policies": [
        "f'falls to {zipf_w_lru:.2f} on average in the Zipf phases'",
        "all(w > 0.98 for w in w_lru[40:60] + w_lru[100:120])",  # above 0.98 within 10,000 requests of a switch
        "f\"misses {slide_miss['lecar']:.3f} of the requests, about as LRU ({slide_miss['lru']:.3f}; "
        "LFU {slide_miss['lfu']:.3f})\"",
        "f\"misses {zipf_miss['lecar']:.3f}, LRU {zipf_miss['lru']:.3f} and LFU {zipf_miss['lfu']:.3f}\"",
        "0.15 < zipf_w_lru < 0.25",  # "about a fifth of the time"
        "loop_miss['lru'] == loop_miss['arc'] == 1.0",
        "f\"LHD misses {loop_miss['lhd']:.3f}, close to Belady's {loop_miss['belady']:.3f}\"",
        "f'peaks at age {peak_age:,}, the loop'",
    ],
    "08_a_living_fleet": [
        "f'dips to {dips[0]:.2f} (from {before:.2f} before the deploy)'",
        'f"the dip is {dips[20]:.2f}, and the backend\'s peak {peaks[20]:,.0f} requests/s instead of {peaks[0]:,.0f}"',
        "f'about the same either way ({extra[0]:,.0f} and {extra[20]:,.0f})'",
        "abs(extra[0] / extra[20] - 1) < 0.1",
        "max_gap <= 0.02",  # "within 0.02 at every row"
        "measured[int(0.3 * T / (rate * row))] >= 0.5 * theory.che_hit_ratio(p, capacity)",  # half in 0.3 T
        "f\"{during['backend']:,.0f} requests/s during the outage, against "
        "{mean_over(failed['backend'], 'backend_rps', 0, 40):,.0f} before\"",
        "f\"({during['gutter']:,.0f}/s), and costs a quarter more node-seconds\"",
        "round(failed['gutter'].node_seconds / failed['backend'].node_seconds, 2) == 1.25",
        "f\"does best ({during['rehash']:,.0f}/s)\"",
        "during['rehash'] < during['gutter'] < during['backend']",
        "f\"the target all day for {cost['static for the peak']:.1f} node-hours\"",
        "over['static for the peak'] == 0 and over['reactive'] == 0 and over['schedule'] == 0",
        "f\"({cost['static for the mean']:.1f} h) and misses the target for {over['static for the mean']:.0f} minutes\"",
        "abs(cost['static for the mean'] / cost['static for the peak'] - 2 / 3) < 0.02",  # "a third less"
        "f\"meets the target all day for {cost['reactive']:.1f} h\"",
        "f\"for {cost['schedule']:.1f} h, the price of the fleet for the mean\"",
        "abs(cost['schedule'] - cost['static for the mean']) < 0.5",
        "all(stale[size, 0] == 0 for size in sizes)",
        "f'({stale[400, 10]:.0f} per update at 10 s, against {estimate[400, 10]:.0f})'",
        "f'({stale[100, 10]:.0f} against {estimate[100, 10]:.0f})'",
        "abs(stale[400, 10] / estimate[400, 10] - 1) < 0.15 and stale[100, 10] < 0.7 * estimate[100, 10]",
    ],
}

#: run next to last: the values of the notebook's QUOTED expressions, as JSON (a claim a bool, others text)
QUOTES = """
import json as _json, numpy as _numpy
print(_json.dumps([_v if isinstance(_v, str) else bool(_v) if isinstance(_v, (bool, _numpy.bool_)) else repr(_v)
                   for _v in [{}]]))
"""


def test_there_are_notebooks():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07", "08"]
    assert set(QUOTED) <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    notebook = nbformat.read(path, as_version=4)
    assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code"), (
        "commit notebooks without outputs"
    )
    notebook.cells.insert(0, nbformat.v4.new_code_cell(KEEP_FIGURES))
    quoted = QUOTED.get(path.stem, [])
    notebook.cells.append(nbformat.v4.new_code_cell(QUOTES.format(", ".join(quoted))))
    notebook.cells.append(nbformat.v4.new_code_cell(OVERLAPPING_TICK_LABELS))
    client = nbclient.NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(REPO)}}
    )
    client.execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert not errors
    # The notebooks teach with plots: each must draw at least one.
    images = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if "image/png" in output.get("data", {})
    ]
    assert images, f"{path.name} drew no figure"
    overlaps = "".join(output.get("text", "") for output in notebook.cells[-1].get("outputs", []))
    assert not overlaps, overlaps
    text = " ".join(" ".join(cell.source.split()) for cell in notebook.cells if cell.cell_type == "markdown")
    values = json.loads("".join(output.get("text", "") for output in notebook.cells[-2].get("outputs", [])))
    assert len(values) == len(quoted)
    for expression, value in zip(quoted, values):
        assert value is True or (isinstance(value, str) and value in text), (expression, value)


# -- notebook 02's trace: where the tests look for it, or generated in a fresh clone --------------

EVICTION = REPO / "notebooks" / "02_eviction_policies.ipynb"


def tagged(notebook, tag: str) -> str:
    """The source of the notebook's cell tagged `tag`."""
    return next(cell.source for cell in notebook.cells if tag in cell.metadata.get("tags", []))


@pytest.mark.parametrize("where", [".", "notebooks"], ids=["from the repository", "from notebooks/"])
def test_notebook_02_looks_for_the_trace_where_the_tests_do(where, monkeypatch):
    monkeypatch.chdir(REPO / where)
    namespace = {"Path": Path}
    exec(tagged(nbformat.read(EVICTION, as_version=4), "trace-location"), namespace)
    assert namespace["shared"] == LIBCACHESIM_DATA / "cloudPhysicsIO.oracleGeneral.bin"


def test_notebook_02_writes_its_drifting_trace_and_skips_the_real_one_in_a_fresh_clone(tmp_path, monkeypatch):
    clone = tmp_path / "clone"  # a repository with no shared/ folder beside it
    for folder in ("notebooks", "policies"):
        (clone / folder).mkdir(parents=True)
    notebook = nbformat.read(EVICTION, as_version=4)
    setup = next(cell.source for cell in notebook.cells if cell.cell_type == "code")
    namespace = {}
    exec("\n".join(line for line in setup.splitlines() if not line.startswith("%")), namespace)
    monkeypatch.chdir(clone / "notebooks")
    exec(tagged(notebook, "drift-trace"), namespace)  # the drift section needs nothing beside the clone
    assert len(namespace["drift_keys"]) == 120_000 and namespace["path"].name == "drift.oracleGeneral.bin"
    exec(tagged(notebook, "trace-location"), namespace)
    exec(tagged(notebook, "trace-choice"), namespace)
    assert namespace["shared"] == tmp_path / "shared" / "libcachesim-data" / "cloudPhysicsIO.oracleGeneral.bin"
    assert namespace["trace_keys"] is None
