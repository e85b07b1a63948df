"""Loading a store's contract suite from a service's unit tests, for its SQL run here.

Each suite is written once, beside the fake it keeps honest (``services/<svc>/tests/``,
not a package); the integration test subclasses the same class with a PostgreSQL store.
Loaded by file path so no test edits ``sys.path``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

SERVICES = Path(__file__).resolve().parents[2] / "services"


def contract_suite(service: str, module: str) -> ModuleType:
    """``services/<service>/tests/<module>.py``, imported under a name of its own."""
    path = SERVICES / service / "tests" / f"{module}.py"
    spec = importlib.util.spec_from_file_location(f"contract_{service}_{module}", path)
    assert spec is not None and spec.loader is not None, f"no contract suite at {path}"
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded
