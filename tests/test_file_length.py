"""No source file over 450 lines unless its first lines say why (issue 19's habit, held here).

A long file is usually two things that want a module each; where one thing
reads best in one place, its docstring says so near the top, with the words
"Over 450 lines", so that a reader knows it was chosen.
"""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("sim", "policies", "workloads", "experiments", "tests")
LIMIT = 450


def sources() -> list[Path]:
    return sorted(
        p for package in PACKAGES for pattern in ("*.py", "*.pyx", "*.pxd") for p in (REPO / package).rglob(pattern)
    )


def says_why(lines: list[str]) -> bool:
    return any("over 450 lines" in line.lower() for line in lines[:8])


def test_there_are_sources_to_check():
    assert len(sources()) > 200


@pytest.mark.parametrize("path", [p for p in sources() if len(p.read_text().splitlines()) > LIMIT], ids=str)
def test_a_long_file_says_why_in_its_first_lines(path):
    assert says_why(path.read_text().splitlines()), f"{path.relative_to(REPO)}: over {LIMIT} lines, and not saying why"


def test_the_check_tells_a_long_file_that_says_why_from_one_that_does_not():
    assert says_why(['"""A model.', "", "(Over 450 lines: one loop reads best in one place.)"])
    assert not says_why(['"""A model.', "", "It does a lot."] + ["x = 1"] * 500)
