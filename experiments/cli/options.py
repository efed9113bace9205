"""What several commands share on the command line: argument types, --import, a trace's reader flags."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from workloads.traces import FORMATS, KEY_TYPES, TIME_UNITS

if TYPE_CHECKING:
    from experiments.trace.inputs import TraceFile


def directory(text: str) -> Path:
    """--out: a directory path (checked further before anything is written)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a directory; got an empty path")
    return Path(text)


#: --workers at most: processes are started as runs need them, but each holds a simulation in memory
MAX_WORKERS = 1024


def worker_count(text: str) -> int:
    """--workers: local processes, from 1 to MAX_WORKERS."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be an integer from 1 to {MAX_WORKERS}; got {text!r}")
    return value


def integer_in(low: int, high: int):
    """An argparse type: an integer from `low` to `high`, or a one-line error saying so."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be an integer from {low:,} to {high:,}; got {text!r}")
        return value

    return parse


def add_import_option(parser: argparse.ArgumentParser) -> None:
    """--import MODULE: import a module first, so the policies it registers are known by name."""
    parser.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import this module first (from the current folder or an installed package), so that the "
        "policies it registers with @register are known by name; may be repeated",
    )


def add_trace_options(parser, time_unit: bool = True) -> None:
    """The options that say how to read a trace (and, with `time_unit`, its timestamps)."""
    parser.add_argument(
        "--format", choices=FORMATS, type=str.lower, help="trace format (default: from the file's extension)"
    )
    parser.add_argument("--key-column", metavar="NAME", help="CSV: the column holding the key (default: detected)")
    parser.add_argument("--size-column", metavar="NAME", help="CSV: the column holding the size (default: detected)")
    if time_unit:
        parser.add_argument(
            "--time-unit",
            choices=TIME_UNITS,
            default=None,
            help="the unit of the trace's timestamps, for policies that read the clock "
            "(default: the unit the format fixes, such as Twitter's s or MSR's 100 ns ticks, else s)",
        )
    parser.add_argument(
        "--key-type",
        choices=KEY_TYPES,
        default="auto",
        help="keys: integers where they are integers, else hashed text (auto); "
        "integers only (int); always hashed text (str)",
    )


def trace_file(args, path: Path | None = None) -> TraceFile:
    """The trace named on the command line (`args.trace`, or `path`) with the reader options add_trace_options declared."""
    from experiments.trace.inputs import TraceFile  # here: it loads the config's checks and the policies

    return TraceFile(
        args.trace if path is None else path,
        args.format,
        args.key_column,
        args.size_column,
        args.key_type,
        getattr(args, "time_unit", None),
    )
