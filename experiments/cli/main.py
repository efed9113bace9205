"""The `kvsim` command line: its parser, the dispatch to a command, and how a command ends.

    kvsim run [CONFIG] [--out DIR] [--workers N | --scheduler tcp://HOST:PORT] [--force]
    kvsim plan [CONFIG] [--hit-ratio H] [--p99-ms MS] ... [--vary KEY] [--range LO:HI] [--survive 1]
    kvsim plot DIR
    kvsim policies
    kvsim replay TRACE|DIR... | kvsim mrc TRACE ...
    kvsim trace stats TRACE|DIR... | kvsim trace fit TRACE --out W.toml | kvsim trace make OUT ...
    kvsim validate redis|memcached TRACE --memory 64MiB [...]
    kvsim bench [--quick] [--json] [--only SECTIONS]

Each family of commands declares its flags in a module of its own (see
experiments/cli/__init__.py).  A user's mistake (a bad config, an unknown
policy, a missing file) ends with exit status 2 and one line on stderr
naming what was wrong; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import signal
import sys
from importlib import metadata

from experiments.cli.commands import COMMANDS, summary

#: a command-line word read as a value even though it starts with "-": "-5", "-5:100", "-.5", "-1e9"
NUMBER_LIKE = re.compile(r"^-\.?[0-9]")


def is_user_error(error: Exception) -> bool:
    """Whether `error` is the user's to fix (a bad config, an unknown policy, a missing file...).

    Such an error is reported in one line with exit status 2.  The error classes
    are imported here, once an error happened, and not when kvsim starts: their
    modules bring in most of the project.
    """
    from experiments.config import ConfigError
    from experiments.execute.executors import ExecutorError
    from experiments.output.domains import ResultError
    from experiments.output.outdir import OutputError
    from policies import PolicyError
    from workloads.traces import TraceError

    user_errors = (ConfigError, PolicyError, ExecutorError, OutputError, ResultError, TraceError, FileNotFoundError)
    return isinstance(error, user_errors)


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a scheduler's or `timeout`'s stop, a closed terminal): handled as Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _stop(signum, _frame):
    raise Stopped(signum)


def stop_on_signals() -> None:
    """Make SIGTERM and SIGHUP stop kvsim as Ctrl-C does: runs in progress end, saved runs stay."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _stop)


def version() -> str:
    try:
        return metadata.version("kvsim")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line, as every other user error is.

    argparse prints the whole usage before its message; the message names
    the flag and what it wants, and `kvsim COMMAND -h` shows the usage.

    A word that starts with "-" and a digit (or ".digit") is a value, never a
    flag: argparse takes only plain negative numbers for values, so
    `--range -5:100` would end in "expected one argument"; here it reaches
    the flag's own check, which says what a range may be.  (No kvsim flag
    looks like a number.)
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NUMBER_LIKE

    def error(self, message):
        command = self.prog.removeprefix("kvsim").strip()
        self.exit(2, f"kvsim: error: {command + ': ' if command else ''}{message} (see {self.prog} -h)\n")


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser: every command's flags, or with `argv` only those of the command it names.

    `kvsim -h` needs each command's one line, not its flags, and the modules that
    declare the flags import what the commands need: so a command that `argv`
    does not name gets a parser of its own line alone (an unknown word is
    refused by argparse all the same).
    """
    parser = OneLineParser(prog="kvsim", description="Discrete-event simulator of key-value cache clusters.")
    parser.add_argument("--version", action="version", version=f"kvsim {version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    named = None if argv is None else next((word for word in argv if not word.startswith("-")), None)
    for name, command in COMMANDS.items():
        if argv is None or name == named:
            getattr(importlib.import_module(command.module), command.adder)(commands)
        else:
            commands.add_parser(name, help=summary(name))
    return parser


def main(argv: list[str] | None = None) -> int:
    # One BLAS thread: kvsim multiplies no large matrices, and each BLAS library numpy and scipy load
    # otherwise starts a thread per core that spins for a tenth of a second: a third of a second of
    # start-up on two cores, taken from the command itself (a user's own setting is kept).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    stop_on_signals()
    from experiments.config.user_code import look_in_the_current_folder

    look_in_the_current_folder()
    try:
        return args.handler(args)
    except Exception as error:
        if not is_user_error(error):
            raise
        message = error.args[0] if isinstance(error, ValueError) and error.args else str(error)
        print(f"kvsim: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        how = f"stopped by signal {stop.signum}" if isinstance(stop, Stopped) else "interrupted"
        print(f"kvsim: {how}; finished runs are saved: run the same command again to resume", file=sys.stderr)
        return 128 + stop.signum if isinstance(stop, Stopped) else 130


if __name__ == "__main__":
    sys.exit(main())
