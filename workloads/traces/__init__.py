"""Real request traces: readers for CSV, plain text and libCacheSim's oracleGeneral.

A trace is read in chunks of at most `chunk` requests, each a RequestBatch of
numpy arrays, so memory stays flat however long the trace is: nothing here
holds more than one chunk (plus one block of raw bytes) at a time.

    >>> trace = open_trace("cloudPhysicsIO.oracleGeneral.bin")      # doctest: +SKIP
    >>> for batch in trace.chunks(65536):                            # doctest: +SKIP
    ...     batch.key, batch.size, batch.time                        # numpy arrays

Formats (chosen from the file's extension, or named with ``format=``), a
module each beside ``base`` (what every reader shares):

``csv`` (.csv), csv_trace.py
    A header line names the columns; the key, time, size and op columns are
    named (``key="lbn"``) or detected from common names, so libCacheSim's
    ``version,time,op,size,lbn`` works as is.
``txt`` (.txt), text_trace.py
    One key per line, nothing else (libCacheSim's and the LIRS traces).
``oraclegeneral`` (.bin, .oraclegeneral), oracle_general.py
    libCacheSim's binary format: 24-byte records <time, id, size, next
    access>; ``write_oracle_general`` writes one.

Keys.  A cache only compares keys, so every key becomes an int64 id.  With
``key_type="auto"`` (the default) a key that reads as an integer is that
integer and any other text is hashed (``key_id``: the first 8 bytes of its
blake2b digest, the same in every process and on every machine, never
Python's salted ``hash()``); ``"int"`` requires integers; ``"str"`` hashes
every key as text, so "007" and "7" differ.

Columns of a batch.  ``key`` int64; ``size`` int64 bytes (1 when the trace
has none); ``op`` int8 READ or WRITE (READ when the trace has none);
``time`` the trace's own timestamps, unscaled (int64 when it stores integers,
float64 otherwise), or the request's 0-based number when the trace has no
timestamps (libCacheSim's "virtual time").  ``Trace.has_time``,
``has_size`` and ``has_op`` say which columns came from the file.
TraceWorkload (workload.py) turns timestamps into seconds for the simulator.

Errors.  A malformed trace raises TraceError (a ValueError) whose message
names the file, the line (text) or record (binary), and what was expected:
an empty file, a truncated record, a non-numeric field where a number is
required, a column the header lacks, bytes that are not text.  A missing
file raises FileNotFoundError.  Errors in the middle of a file surface when
the reader gets there: the chunks before it have been yielded already.
"""

from workloads.hashing import key_id, key_ids  # a text key's id: part of the readers' interface
from workloads.traces.base import (
    FORMATS,
    KEY_TYPES,
    READERS,
    Trace,
    TraceError,
    detect_format,
    open_trace,
    read_trace,
    trace_format,
)
from workloads.traces.csv_trace import CSV_COLUMN_NAMES, OP_VALUES, CSVTrace
from workloads.traces.oracle_general import (
    OracleGeneralTrace,
    next_access,
    oracle_general_records,
    write_oracle_general,
)
from workloads.traces.text_trace import TextTrace
from workloads.traces.workload import DISORDER, TIME_UNITS, TraceWorkload

__all__ = [
    "DISORDER",
    "CSV_COLUMN_NAMES",
    "FORMATS",
    "KEY_TYPES",
    "OP_VALUES",
    "READERS",
    "TIME_UNITS",
    "CSVTrace",
    "OracleGeneralTrace",
    "TextTrace",
    "Trace",
    "TraceError",
    "TraceWorkload",
    "detect_format",
    "key_id",
    "key_ids",
    "next_access",
    "open_trace",
    "oracle_general_records",
    "read_trace",
    "trace_format",
    "write_oracle_general",
]
