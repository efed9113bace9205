"""The `kvsim` command line: what a user types, turned into calls of the packages that do the work.

    main.py      the parser, the dispatch, and how a command ends (exit status, signals)
    options.py   what several commands share: argument types, --import, a trace's reader flags
    run.py       kvsim run, kvsim plot        (experiments/execute, experiments/plots)
    plan.py      kvsim plan                   (experiments/plan)
    policies.py  kvsim policies               (the registry of the policies package)
    trace.py     kvsim replay, kvsim mrc      (experiments/trace)
    validate.py  kvsim validate               (experiments/validate)
    bench.py     kvsim bench                  (experiments/bench)

Each module declares its commands' flags and turns them into a call, and
the call's result into lines on the terminal; nothing below this package
parses a command line (a message may name a flag, for the user to fix).
`kvsim` (pyproject.toml) and `python -m experiments` run `main`.
"""

from experiments.cli.main import main

__all__ = ["main"]
