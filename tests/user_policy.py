"""A user's policy module, as the README shows one, for tests of `module:Class` loading."""

from pathlib import Path

SOURCE = """\
from collections import OrderedDict
from policies import HookPolicy

class MRU(HookPolicy):
    def __init__(self, capacity):
        super().__init__(capacity)
        self.order = OrderedDict()
    def on_insert(self, key): self.order[key] = None
    def on_hit(self, key): self.order.move_to_end(key)
    def on_remove(self, key): del self.order[key]
    def victim(self): return next(reversed(self.order))
"""


def write_user_module(directory: Path, name: str) -> Path:
    """Write the module `name`.py (class MRU) into `directory`."""
    path = Path(directory) / f"{name}.py"
    path.write_text(SOURCE)
    return path
