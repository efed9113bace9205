"""A user's own code: policy modules found in the current folder, and modules named with --import.

A policy written by a user is named ``module:Class`` (in a config or with
--policy), or by the name it gives itself with ``@register("name")`` once its
module has been imported: ``--import module`` on the command line, or
``imports = ["module"]`` in a config's [run] table.  Modules are found in
the current folder first, as ``python -m`` finds them, then among the
installed packages.  Whatever goes wrong while a user's module is imported
is reported in one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from experiments.config.errors import ConfigError


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


def import_modules(names: list[str], where: str = "--import") -> None:
    """Import each module a user named (their policies register themselves); one-line errors."""
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as error:
            raise ConfigError(f"{where} {name}: cannot import it ({error})") from None
        except Exception as error:  # the module's own code failed
            raise ConfigError(f"{where} {name}: importing it raised {type(error).__name__}: {error}") from None


def look_in_the_current_folder() -> None:
    """Find a user's `module:Class` policy in the current folder, as `python -m` does."""
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.insert(0, here)
