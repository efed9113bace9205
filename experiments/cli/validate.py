"""`kvsim validate`: its flags, the server's lifetime around the comparison, and what it prints.

The comparison itself (the replay through the real server and through
kvsim's model of it) is experiments/validate's.  Here: the server is stopped
and its files removed however the command ends, SIGTERM included; a server
that fails is exit status 1, a user's mistake 2.
"""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from experiments.cli.commands import summary
from experiments.cli.options import add_trace_options, trace_file
from experiments.validate.compare import (
    DEFAULT_RATE,
    DEFAULT_SEED,
    REDIS_POLICIES,
    ValidateError,
    check_options,
    describe,
    refuse_another,
    server_for,
    validate,
    write_report,
)
from experiments.validate.servers import ServerError
from workloads.traces import TraceError


def add_validate_command(commands) -> None:
    parser = commands.add_parser(
        "validate",
        help=summary("validate"),
        description="Replay a trace through a real Redis or memcached (started here, on 127.0.0.1) "
        "and through kvsim's model of it; compare their hit ratios.",
    )
    parser.add_argument("server", choices=("redis", "memcached"), help="which server (its binary must be on PATH)")
    parser.add_argument("trace", type=Path, help="trace file (.csv, .txt, .bin/.oraclegeneral)")
    parser.add_argument("--memory", required=True, help="memory limit: maxmemory or -m (e.g. 64MiB)")
    parser.add_argument("--policy", help=f"Redis maxmemory-policy: {', '.join(REDIS_POLICIES)} (default allkeys-lru)")
    parser.add_argument("--rate", default=DEFAULT_RATE, help=f"requests a second to replay at (default {DEFAULT_RATE})")
    parser.add_argument("--requests", default=None, metavar="N", help="replay only the first N requests")
    parser.add_argument(
        "--value-size", default=None, metavar="BYTES", help="every value this long (default: the trace's sizes)"
    )
    parser.add_argument(
        "--growth-factor", default=None, metavar="F", help="memcached's -f: slab classes grow by this (default 1.25)"
    )
    parser.add_argument(
        "--seed", default=DEFAULT_SEED, help=f"seed of the model's random choices (default {DEFAULT_SEED})"
    )
    parser.add_argument("--out", type=Path, help="output directory (default results/validate-<server>-<trace>/)")
    parser.add_argument(
        "--force", action="store_true", help="write into --out even if it holds another validation or other files"
    )
    add_trace_options(parser, time_unit=False)
    parser.set_defaults(handler=command_validate)


def command_validate(args) -> int:
    """Replay a trace through a real server and through kvsim's model of it; compare hit ratios."""
    options = check_options(
        args.server,
        args.trace,
        args.memory,
        args.policy,
        args.rate,
        args.requests,
        args.value_size,
        args.seed,
        args.out,
        args.growth_factor,
    )
    refuse_another(options.out, args.force)  # before the trace is read or a server starts
    trace = trace_file(args).open()
    server = server_for(options)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # a kill stops the server too
    try:
        try:
            server.start()
            report = validate(server, trace, options)
        finally:
            server.stop()
            signal.signal(signal.SIGTERM, previous)
    except KeyboardInterrupt:
        print("kvsim: interrupted; the server was stopped and its files removed", file=sys.stderr)
        return 130
    except ServerError as error:
        print(f"kvsim: error: {error}", file=sys.stderr)
        return 1
    except FileNotFoundError:  # no trace, no server binary: the user's to fix (exit status 2)
        raise
    except OSError as error:  # the connection broke: the server died under us
        print(f"kvsim: error: {server.binary}: {error}: {server.log_tail()}", file=sys.stderr)
        return 1
    except TraceError as error:
        raise ValidateError(str(error)) from None
    path = write_report(report, options)
    print(describe(report))
    print(f"-> {path}")
    return 0


def _interrupt(signum, frame):
    raise KeyboardInterrupt
