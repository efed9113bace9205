"""What the notebooks' text says about their numbers is what their cells compute.

test_notebooks.py runs every notebook top to bottom; here the cells that
compute the numbers a text quotes run alone (the notebook's first code cell,
then the tagged ones, in a namespace of their own), and every number the
tagged text quotes is held to the computed value, rounded as quoted, as are
the comparisons the text makes in words.  A text that quotes a number no
check here covers fails too, so a new claim needs its check.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is in the test extra")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
DECIMAL = re.compile(r"\d+\.\d+")


def cells_tagged(notebook, tag: str) -> list[str]:
    return [cell.source for cell in notebook.cells if tag in cell.metadata.get("tags", [])]


def computed(name: str, tags: list[str]) -> dict:
    """The namespace after running notebook `name`'s setup cell and then its cells tagged `tags`, in order."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    setup = next(cell.source for cell in notebook.cells if cell.cell_type == "code")
    namespace: dict = {}
    exec("\n".join(line for line in setup.splitlines() if not line.startswith("%")), namespace)
    for cell in notebook.cells:
        if cell.cell_type == "code" and set(tags) & set(cell.metadata.get("tags", [])):
            exec(cell.source, namespace)
    plt.close("all")
    return namespace


def text(name: str, tag: str) -> str:
    """The notebook's cells tagged `tag`, as one line of words."""
    return " ".join(" ".join(cells_tagged(nbformat.read(NOTEBOOKS / name, as_version=4), tag)).split())


def held(prose: str, phrases: list[str]) -> None:
    """Each phrase (its numbers computed) is in the prose, and the prose quotes no decimal outside them."""
    for phrase in phrases:
        assert phrase in prose, f"the text should say {phrase!r}"
    quoted = sorted(DECIMAL.findall(prose))
    checked = sorted(number for phrase in phrases for number in DECIMAL.findall(phrase))
    assert quoted == checked, f"decimals quoted {quoted}, checked {checked}"


def test_notebook_02_says_what_drift_does_to_w_tinylfu():
    space = computed("02_eviction_policies.ipynb", ["drift-trace", "drift-race", "drift-sketch"])
    miss = {name: dict(zip(space["drift_capacities"], ratios)) for name, ratios in space["drift_results"].items()}
    online = [name for name in miss if name != "belady"]
    prose = text("02_eviction_policies.ipynb", "drift-text")
    # "the worst at 1,000 and 3,000 objects", and "its miss ratio even rises as the cache grows"
    for capacity in (1_000, 3_000):
        assert max(online, key=lambda name: miss[name][capacity]) == "wtinylfu"
    assert miss["wtinylfu"][1_000] > miss["wtinylfu"][300]
    (sample_300, halved_300), (sample_1000, halved_1000) = (
        space["sketch_halvings"][300],
        space["sketch_halvings"][1_000],
    )
    assert halved_1000 == 0  # "and it never does"
    at_10k = sorted(miss[name][10_000] for name in online)
    held(
        prose,
        [
            f"from {miss['wtinylfu'][300]:.3f} at 300 objects to {miss['wtinylfu'][1_000]:.3f} at 1,000",
            f"LRU's falls from {miss['lru'][300]:.3f} to {miss['lru'][1_000]:.3f}",
            f"ARC's from {miss['arc'][300]:.3f} to {miss['arc'][1_000]:.3f}",
            f"halves every {sample_300:,} main hits, {halved_300} times over the trace",
            f"would halve after {sample_1000:,} main hits",
            f"every online policy misses between {at_10k[0]:.3f} and {at_10k[-1]:.3f}",
        ],
    )


def test_notebook_05_says_why_coalescing_lowers_the_hit_ratio():
    runs = computed("05_tail_latency.ipynb", ["herd", "herd-constant"])["herd_runs"]
    prose = text("05_tail_latency.ipynb", "herd-text")
    off, on = runs["lognormal", False], runs["lognormal", True]
    # "Coalescing spares the backend (fewer requests, a lower p99), yet the hit ratio falls"
    assert on.backend_requests < off.backend_requests and on.p99_ms < off.p99_ms and on.hit_ratio < off.hit_ratio
    # a coalesced request counts as a miss: the misses are the backend's requests and the coalesced ones
    for r in (off, on):
        assert round((1 - r.hit_ratio) * r.requests) == r.backend_requests + r.coalesced
    constant_off, constant_on = runs["constant", False], runs["constant", True]
    # "the two hit ratios nearly meet": a tenth of the gap or less
    assert 0 <= constant_off.hit_ratio - constant_on.hit_ratio < (off.hit_ratio - on.hit_ratio) / 10
    held(
        prose,
        [
            f"from {off.hit_ratio:.3f} to {on.hit_ratio:.3f}",
            f"{constant_off.hit_ratio:.3f} without coalescing and {constant_on.hit_ratio:.3f} with it",
        ],
    )
