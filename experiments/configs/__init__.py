"""The shipped experiments: TOML files that `kvsim run NAME` and `experiments.run(NAME)` accept by name."""

from pathlib import Path

DIRECTORY = Path(__file__).parent


def path(name: str) -> Path:
    """The file of the shipped experiment `name` (it may not exist)."""
    return DIRECTORY / f"{name}.toml"


def names() -> list[str]:
    """The shipped experiments' names."""
    return sorted(file.stem for file in DIRECTORY.glob("*.toml"))
