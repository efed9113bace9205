"""Every command the README shows runs, in order, as a newcomer runs them in a fresh clone.

The shell blocks (```sh) of README.md and policies/README.md are run line
by line, in the order they appear, in a temporary folder that holds what a
fresh clone does beside them (experiments/configs/), with the `kvsim` of
this environment (this checkout first on PYTHONPATH).  A line that exits
non-zero fails the test, naming the README's line and what it printed.
Every fenced block is labelled (sh, text, python or toml), so that a new
block of commands cannot slip by unlabelled and untested.

Not run, each for a stated reason (RULES): installing (this environment
is installed already), the test suite (which runs this test), servers that
never return (Dask's), and lines naming a placeholder host.  A rule that
matches no line fails too, so none outlives its line.

Small by default: the requests of `--requests N` are capped at
SMALL_REQUESTS, and the lines that simulate a shipped experiment or plan
(`kvsim run`, `kvsim plan`, and `kvsim plot` of a run's folder) run only
with KVSIM_LONG_TESTS=1: together they take minutes (about 110 s of CPU
on the compiled engine, 2.5 min of wall time on a loaded 2-core machine),
where the other 13 lines take 33 s of CPU together (44 s of wall time at a
load average of 3.5; kvsim trace stats 12 s of it).  KVSIM_README_FULL=1 runs every line
exactly as written (the traces then hold millions of requests).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
READMES = (REPO / "README.md", REPO / "policies" / "README.md")
LABELS = {"sh", "text", "python", "toml"}
FULL = os.environ.get("KVSIM_README_FULL") == "1"
LONG = FULL or bool(os.environ.get("KVSIM_LONG_TESTS"))
#: lines that simulate a whole experiment: with KVSIM_LONG_TESTS=1
SIMULATES = re.compile(r"^kvsim (run|plan|plot)\b")
SMALL_REQUESTS = 20_000

#: what is not run: (pattern, what replaces the match: "" cuts it and None the whole line, why)
RULES = (
    (re.compile(r"^python -m pip install .*?&&\s*"), "", "installing: this environment is installed"),
    (re.compile(r"^python -m pip install [^&]*$"), None, "installing: this environment is installed"),
    (re.compile(r"^python -m pytest\b"), None, "the test suite, which runs this test"),
    (re.compile(r"^dask (scheduler|worker)\b"), None, "a server: it never returns"),
    (re.compile(r"tcp://HOST\b"), None, "a placeholder host"),
)
SERVERS = {"redis": "redis-server", "memcached": "memcached"}


def blocks(path: Path) -> list[tuple[str, int, list[str]]]:
    """(label, line number of its first line, lines) of every fenced block of `path`."""
    found, label, start, body = [], None, 0, []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.startswith("```"):
            if label is None:
                label, start, body = line[3:].strip(), number + 1, []
            else:
                found.append((label, start, body))
                label = None
        elif label is not None:
            body.append(line)
    assert label is None, f"{path.name}: a block opened on line {start - 1} is never closed"
    return found


def commands() -> list[tuple[str, str]]:
    """('README.md:LINE', command) of every shell line to run, in order, with the rules applied."""
    lines, used = [], set()
    for path in READMES:
        for label, start, body in blocks(path):
            assert label in LABELS, f"{path.name}:{start - 1}: label the block (```sh for commands; {sorted(LABELS)})"
            if label != "sh":
                continue
            for offset, line in enumerate(body):
                command = line.split(" #")[0].strip()
                for index, (pattern, replacement, _why) in enumerate(RULES):
                    if command and pattern.search(command):
                        used.add(index)
                        command = "" if replacement is None else pattern.sub(replacement, command)
                if command:
                    lines.append((f"{path.relative_to(REPO)}:{start + offset}", command))
    unused = [RULES[index][2] for index in range(len(RULES)) if index not in used]
    assert not unused, f"rules that no README line needs any more: {unused}"
    return lines


def small(command: str) -> str:
    """`command` with its --requests capped (unless KVSIM_README_FULL=1)."""
    if FULL:
        return command
    return re.sub(r"--requests (\d+)", lambda m: f"--requests {min(int(m.group(1)), SMALL_REQUESTS)}", command)


def test_the_readmes_label_their_blocks_and_name_commands_to_run():
    found = commands()
    assert any(command.startswith("kvsim trace make") for _, command in found)
    first_trace = next(i for i, (_, command) in enumerate(found) if command.startswith("kvsim trace make"))
    # every trace command comes after a trace is made
    for where, command in found[:first_trace]:
        assert not re.match(r"kvsim (replay|mrc|validate|trace (stats|fit))\b", command), where


def test_every_readme_command_runs_in_order(tmp_path):
    shutil.copytree(REPO / "experiments" / "configs", tmp_path / "experiments" / "configs")
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(REPO),
        "MPLBACKEND": "Agg",
    }
    timings, missing, long = [], set(), 0
    for where, command in commands():
        command = small(command)
        if SIMULATES.match(command) and not LONG:
            long += 1
            continue
        server = re.match(r"kvsim validate (\w+)", command)
        if server and shutil.which(SERVERS[server.group(1)]) is None:
            missing.add(SERVERS[server.group(1)])
            continue
        started = time.perf_counter()
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True)
        timings.append((time.perf_counter() - started, where, command))
        assert done.returncode == 0, (
            f"{where}: `{command}` exited {done.returncode}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    print("\n".join(f"{seconds:6.1f} s  {where}  {command}" for seconds, where, command in sorted(timings)[::-1]))
    print(f"{long} lines that simulate experiments not run: KVSIM_LONG_TESTS=1 runs them")
    if missing:  # (after every other line ran)
        names = " and ".join(sorted(missing))
        pytest.skip(
            f"{names} not on PATH, so kvsim validate's examples did not run: apt-get install redis-server memcached"
        )
