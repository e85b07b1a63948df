"""Python files outside any package (benchmark scripts, the services' contract suites) imported
as modules, for the tests that use them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).parents[1] / "bench"


def module_at(name: str, path: Path) -> ModuleType:
    """The file at ``path`` imported as ``name``, once (registered: dataclasses look their
    module up by name)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, f"no Python file at {path}"
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def bench_module(name: str) -> ModuleType:
    """``tests/bench/<name>.py``."""
    return module_at(f"bench_{name}", BENCH / f"{name}.py")
