"""Columns of text traces: a block of lines parsed into columns, numbers and ops checked, runs expanded.

What the line-based readers share (csv, twitter, cachelib, msr, arc).
pandas' C parser turns a block of whole lines into a DataFrame; the checks
here turn its columns into the int64 and int8 arrays of a batch, and every
value that does not fit into a TraceError naming its line.  ``where(i)``,
passed along, names the i-th row of the block ('t.csv: line 12').
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from workloads.hashing import key_ids
from workloads.traces.base import INT64_MAX, Trace, TraceError, Where, content_lines

if TYPE_CHECKING:  # pandas loads where a block is parsed: a binary trace's replay never loads it
    import pandas as pd

#: each column's dtype as read_csv takes it: a type (str) or a dtype's name ("category")
Dtypes = dict[str, type | str]

#: the name of the column that catches fields beyond a format's last one (it must stay empty)
EXTRA = "\0extra"


def parse_block(
    trace: Trace, block: bytes, first: int, names: tuple[str, ...], dtype: Dtypes, sep: str = ","
) -> tuple[pd.DataFrame, Where]:
    """The rows of a block of lines as a DataFrame with columns `names` (blank lines skipped); and `where`.

    A row with fewer fields has NaN in the last columns (the caller checks
    the ones it needs, ``missing_fields``); one with more has them in the
    column EXTRA, also the caller's to judge (``extra_fields``).
    """
    import pandas as pd

    lines: list[int] | None = None

    def where(i: int) -> str:
        nonlocal lines
        lines = content_lines(block, first) if lines is None else lines
        return f"{trace.path}: line {lines[i] if i < len(lines) else first}"

    try:
        with warnings.catch_warnings():
            # index_col=False: a row with more fields does not turn the first column into an index.
            warnings.simplefilter("ignore", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.BytesIO(block),
                sep=sep,
                header=None,
                names=[*names, EXTRA],
                index_col=False,
                dtype=dtype,
                encoding="utf-8-sig",
                keep_default_na=False,
                na_values=[""],
                engine="c",
            )
    except UnicodeDecodeError:
        raise TraceError(f"{trace.path}: line {first + _undecodable(block)}: not UTF-8 text") from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame({name: [] for name in names})
    except (pd.errors.ParserError, ValueError) as error:
        match = re.search(r"line (\d+)", str(error))
        line = first + int(match.group(1)) - 1 if match else first
        raise TraceError(f"{trace.path}: line {line}: cannot read as {trace.format}: {error}") from None
    return frame, where


def _undecodable(block: bytes) -> int:
    for offset, raw in enumerate(block.split(b"\n")):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return offset
    return 0


def missing_fields(frame: pd.DataFrame, names: tuple[str, ...], needed: int, where: Where, sep: str = ",") -> None:
    """A row with fewer than `needed` fields: a TraceError naming its line and the fields expected."""
    short = frame[names[needed - 1]].isna().to_numpy()
    if short.any():
        i = int(np.argmax(short))
        row = frame.iloc[i]
        found = int(row[list(names)].notna().sum())
        raise TraceError(
            f"{where(i)}: expected {needed} {_separated(sep)} fields ({','.join(names[:needed])}); "
            f"found {found} (or an empty one)"
        )


def extra_fields(frame: pd.DataFrame, names: tuple[str, ...], where: Where, sep: str = ",") -> None:
    """A row with more fields than `names`: a TraceError naming its line (an empty last one, a trailing comma, is fine)."""
    if EXTRA not in frame:
        return
    extra = frame[EXTRA].notna().to_numpy()
    if extra.any():
        i = int(np.argmax(extra))
        raise TraceError(f"{where(i)}: more than {len(names)} {_separated(sep)} fields (expected {','.join(names)})")


def _separated(sep: str) -> str:
    return "comma-separated" if sep == "," else "space-separated"


def numbers(column: pd.Series, role: str, name: str, where: Where, integer: bool, high: int = INT64_MAX) -> np.ndarray:
    """A numeric column as int64 (or float64 for times with fractions); errors name the line.

    Integers must be non-negative and at most `high` (and fit int64): a size
    of 1e30 or -3 is a mistake in the trace, not a number to cast.
    """
    expected = "a non-negative integer" if integer else "a number"
    kind = column.dtype.kind
    if kind in "iu":
        values = column.to_numpy()
        if kind == "u":
            if (values > INT64_MAX).any():
                i = int(np.argmax(values > INT64_MAX))
                raise TraceError(f"{where(i)}: column {name!r}: {values[i]} is too large for the {role}")
            values = values.astype(np.int64)
        if integer and (values < 0).any():
            i = int(np.argmax(values < 0))
            raise TraceError(f"{where(i)}: column {name!r}: expected {expected} ({role}), got {values[i]}")
        _at_most(values, high, role, name, where)
        return values.astype(np.int64, copy=False)
    if kind == "f":
        values = column.to_numpy()
        bad = ~np.isfinite(values)
        if integer:
            bad |= (values < 0) | (values != np.floor(values))
        if bad.any():
            i = int(np.argmax(bad))
            got = "an empty field" if np.isnan(values[i]) else repr(float(values[i]))
            raise TraceError(f"{where(i)}: column {name!r}: expected {expected} ({role}), got {got}")
        if integer:
            _at_most(values, min(high, 2.0**63 - 1024), role, name, where)  # what float64 holds below 2**63
        return values.astype(np.int64) if integer else values
    # Text in a numeric column: find the first field that is not a number.
    import pandas as pd

    numeric = pd.to_numeric(column, errors="coerce")
    bad = pd.isna(numeric).to_numpy()
    if not bad.any():  # numbers after all (pandas kept them as text)
        return numbers(numeric, role, name, where, integer, high)
    i = int(np.argmax(bad))
    value = column.iloc[i]
    got = "an empty field" if pd.isna(value) else repr(value)
    raise TraceError(f"{where(i)}: column {name!r}: expected {expected} ({role}), got {got}")


def _at_most(values: np.ndarray, high: float, role: str, name: str, where: Where) -> None:
    if (values > high).any():
        i = int(np.argmax(values > high))
        raise TraceError(f"{where(i)}: column {name!r}: the {role} must be at most {int(high)}; got {values[i]:g}")


def ops(column: pd.Series, name: str, where: Where, table: dict[str, int]) -> np.ndarray:
    """An op column as READ/WRITE int8, by `table` (its values compared in lower case)."""
    if column.dtype.name != "category":
        column = column.astype("category")
    categories = column.cat.categories
    codes = column.cat.codes.to_numpy()
    if (codes < 0).any():
        raise TraceError(f"{where(int(np.argmax(codes < 0)))}: column {name!r}: empty op (expected read or write)")
    mapped = np.empty(len(categories), dtype=np.int8)
    for index, value in enumerate(categories):
        op = table.get(str(value).strip().lower())
        if op is None:
            first = int(np.argmax(codes == index))
            valid = ", ".join(sorted(table))
            raise TraceError(f"{where(first)}: column {name!r}: unknown op {value!r} (expected one of {valid})")
        mapped[index] = op
    return mapped[codes]


def expand(
    columns: dict[str, np.ndarray], counts: np.ndarray, count_up: bool, most: int
) -> Iterator[dict[str, np.ndarray]]:
    """Each row `counts[i]` times in a row, in pieces of at most `most` requests (rows of 0 vanish).

    `count_up`: the key goes up by one at each repeat (an ARC run of blocks,
    an MSR request's blocks) instead of staying (CacheLib's op_count).
    Lazy, so that one row of a billion requests is as flat in memory as any.
    """
    if len(counts) and (counts == 1).all():
        yield columns
        return
    ends = np.cumsum(counts)
    total = int(ends[-1]) if len(ends) else 0
    for low in range(0, total, most):
        positions = np.arange(low, min(low + most, total), dtype=np.int64)
        rows = np.searchsorted(ends, positions, side="right")
        piece = {name: column[rows] for name, column in columns.items()}
        if count_up:
            piece["keys"] = piece["keys"] + (positions - (ends[rows] - counts[rows]))
        yield piece


def number_keys(pieces: Iterator[dict[str, np.ndarray]], key_type: str) -> Iterator[dict[str, np.ndarray]]:
    """Pieces of a format whose keys are numbers (block numbers, offsets), with key_type applied.

    "auto" and "int" keep the numbers; "str" hashes their decimal text, as
    the txt reader hashes a key that is text.
    """
    for piece in pieces:
        if key_type == "str":
            piece = {**piece, "keys": key_ids(piece["keys"].astype(str))}
        yield piece
