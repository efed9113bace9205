"""Real request traces: readers and writers for seven formats, compressed or not, and a footprint pass.

A trace is read in chunks of at most `chunk` requests, each a TraceBatch of
numpy arrays, so memory stays flat however long the trace is: nothing here
holds more than one chunk (plus a few blocks of raw bytes) at a time.

    >>> trace = open_trace("cloudPhysicsIO.oracleGeneral.zst")       # doctest: +SKIP
    >>> for batch in trace.chunks(65536):                            # doctest: +SKIP
    ...     batch.key, batch.size, batch.time                        # numpy arrays
    >>> write_trace("t.twitter.gz", keys, sizes, times, ops)         # doctest: +SKIP
    >>> footprint("t.twitter.gz")                                    # doctest: +SKIP
    Footprint(requests=..., objects=..., bytes=...)

Formats (told from the file's name, or named with ``format=``), a module
each beside ``base`` (what every reader shares); each module's docstring
gives its schema:

``csv`` (.csv), csv_trace.py
    A header line names the columns; the key, time, size, op and ttl columns
    are named (``key="lbn"``) or detected from common names, so
    libCacheSim's ``version,time,op,size,lbn`` works as is.
``txt`` (.txt), text_trace.py
    One key per line, nothing else (libCacheSim's and the LIRS traces).
``oraclegeneral`` (.bin, .oracleGeneral), oracle_general.py
    libCacheSim's binary format: 24-byte records <time, id, size, next access>.
``twitter`` (.twitter), twitter.py
    Twitter's cache traces: timestamp,key,key_size,value_size,client_id,op,ttl.
``cachelib`` (.cachelib), cachelib.py
    Meta's key-value traces in CacheLib's CSV: key,op,size,op_count,key_size ...
``msr`` (.msr), msr.py
    The MSR Cambridge block traces: Timestamp,Hostname,DiskNumber,Type,Offset,Size,ResponseTime.
``arc`` (.arc, .lis), arc.py
    The ARC paper's traces ("start count ignored ignored") and plain block lists.

A format's suffix may stand anywhere in the name ('hm_0.msr.csv.gz').
Compression (compression.py): zstd (.zst), gzip (.gz), xz (.xz), bz2
(.bz2), told by the file's first bytes and streamed, never decompressed to
disk; the name's last suffix is looked through for the format.  writers.py
writes every format in every compression; footprint.py counts requests,
distinct objects and distinct bytes in one pass.

Keys.  A cache only compares keys, so every key becomes an int64 id.  With
``key_type="auto"`` (the default) a key that reads as an integer is that
integer and any other text is hashed (``key_id``: the first 8 bytes of its
blake2b digest, the same in every process and on every machine, never
Python's salted ``hash()``); ``"int"`` requires integers; ``"str"`` hashes
every key as text, so "007" and "7" differ.

Columns of a batch.  ``key`` int64; ``size`` int64 bytes (1 when the trace
has none); ``op`` int8 READ or WRITE (READ when the trace has none; a
delete is a WRITE: it changes what the cache holds); ``time`` the trace's
own timestamps, unscaled (int64 when it stores integers, float64
otherwise), or the request's 0-based number when the trace has no
timestamps (libCacheSim's "virtual time"); ``ttl`` int64 seconds (0: none)
when the trace logs TTLs, else None.  ``Trace.has_time``, ``has_size``,
``has_op`` and ``has_ttl`` say which columns came from the file, and
``Trace.seconds_per_unit`` the unit of its timestamps when the format fixes
one.  TraceWorkload (workload.py) turns timestamps into seconds for the
simulator.

Errors.  A malformed trace raises TraceError (a ValueError) whose message
names the file, the line (text) or record (binary), and what was expected:
an empty file, a truncated record, a non-numeric field where a number is
required, a column the header lacks, bytes that are not text, a compressed
stream that is truncated or corrupt (never the codec's own exception).  A
missing file raises FileNotFoundError.  Errors in the middle of a file
surface when the reader gets there: the chunks before it have been yielded
already.
"""

from workloads.hashing import key_id, key_ids  # a text key's id: part of the readers' interface
from workloads.traces.arc import ArcTrace
from workloads.traces.base import (
    FORMATS,
    KEY_TYPES,
    READERS,
    Trace,
    TraceBatch,
    TraceError,
    detect_format,
    open_trace,
    read_trace,
    reader_options,
    trace_format,
)
from workloads.traces.cachelib import CACHELIB_OPS, CacheLibTrace
from workloads.traces.compression import COMPRESSIONS, StreamError, detect_compression
from workloads.traces.csv_trace import CSV_COLUMN_NAMES, OP_VALUES, CSVTrace
from workloads.traces.footprint import Footprint, footprint
from workloads.traces.msr import MSRTrace
from workloads.traces.oracle_general import (
    OracleGeneralTrace,
    next_access,
    oracle_general_records,
    write_oracle_general,
)
from workloads.traces.text_trace import TextTrace
from workloads.traces.twitter import OBJECT_SIZES, TWITTER_OPS, TwitterTrace
from workloads.traces.workload import DISORDER, TIME_UNITS, TraceWorkload
from workloads.traces.writers import KEPT, trace_columns, write_batches, write_trace

__all__ = [
    "CACHELIB_OPS",
    "COMPRESSIONS",
    "CSV_COLUMN_NAMES",
    "DISORDER",
    "FORMATS",
    "KEPT",
    "KEY_TYPES",
    "OBJECT_SIZES",
    "OP_VALUES",
    "READERS",
    "TIME_UNITS",
    "TWITTER_OPS",
    "ArcTrace",
    "CSVTrace",
    "CacheLibTrace",
    "Footprint",
    "MSRTrace",
    "OracleGeneralTrace",
    "StreamError",
    "TextTrace",
    "Trace",
    "TraceBatch",
    "TraceError",
    "TraceWorkload",
    "TwitterTrace",
    "detect_compression",
    "detect_format",
    "footprint",
    "key_id",
    "key_ids",
    "next_access",
    "open_trace",
    "oracle_general_records",
    "read_trace",
    "reader_options",
    "trace_columns",
    "trace_format",
    "write_batches",
    "write_oracle_general",
    "write_trace",
]
