"""The traces a command names: files, and folders of them (`kvsim replay DIR`, `kvsim trace stats DIR`).

A folder stands for the trace files directly in it, in name order: every
file whose name tells a trace format (workloads.traces.detect_format: a
format suffix such as .oracleGeneral or .twitter, or .csv, .txt, .bin,
each possibly compressed, as 'x.oracleGeneral.zst'), or every file when
--format names the format.  Hidden files are left out.  A trace named
twice is read once.
"""

from __future__ import annotations

from pathlib import Path

from experiments.trace.inputs import TraceCommandError
from workloads.traces import TraceError, detect_format


def _is_trace_name(path: Path) -> bool:
    try:
        detect_format(path)
    except TraceError:
        return False
    return True


def trace_paths(named: list[Path], format: str | None = None) -> list[Path]:
    """The trace files `named` stands for (files as named, folders expanded), each once, in order."""
    found: list[Path] = []
    for path in map(Path, named):
        if path.is_dir():
            inside = sorted(
                child
                for child in path.iterdir()
                if child.is_file() and not child.name.startswith(".") and (format or _is_trace_name(child))
            )
            if not inside:
                raise TraceCommandError(
                    f"{path}: a folder without trace files (names such as x.oracleGeneral.zst, x.csv, x.txt; "
                    "or name the format with --format)"
                )
            found += inside
        else:
            found.append(path)
    unique, seen = [], set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique
