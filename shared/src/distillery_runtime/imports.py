"""A service process imports only what its own package depends on.

The development environment is one virtualenv with every service in it, so PyTorch and
transformers (the evaluator's and the trainer's) are importable everywhere, and libraries the
other services use import them when they find them: thinc (spaCy) and Presidio import PyTorch
to look for a GPU, Presidio imports transformers for an engine the cleaner never uses. That put
~350 MiB into every cleaner process here that its container image (without PyTorch:
tests/test_images.py) never holds. Hidden from a process whose package does not depend on
them, they fail to import as in that image, and the libraries take their CPU paths.

A service process hides them for good (:func:`hide_undeclared`, before its package is
imported); a library module that imports such libraries hides them only while it does
(:func:`undeclared_hidden`), so that other code of the same process (the CLI, a test session)
still imports them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, distribution

OPTIONAL_HEAVY = ("torch", "transformers")
"""Modules that are hidden from a process whose distribution does not depend on them."""
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _normalised(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(name: str) -> set[str]:
    """Every distribution ``name`` needs, itself included (normalised names; extras left out)."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = _normalised(todo.pop())
        if current in seen:
            continue
        seen.add(current)
        try:
            requires = distribution(current).requires or []
        except PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement.replace('"', "").replace("'", ""):
                continue
            match = _NAME.match(requirement)
            if match:
                todo.append(match.group(0))
    return seen


def hide_undeclared(distribution_name: str) -> list[str]:
    """Make the heavy optional modules that ``distribution_name`` does not depend on
    unimportable in this process (``import torch`` raises ImportError); returns them. Modules
    already imported stay: call it before the service's own modules are imported."""
    needed = dependency_closure(distribution_name)
    hidden = [m for m in OPTIONAL_HEAVY if m not in sys.modules and _normalised(m) not in needed]
    for module in hidden:
        sys.modules[module] = None  # type: ignore[assignment]
    return hidden


@contextmanager
def undeclared_hidden(distribution_name: str) -> Iterator[list[str]]:
    """:func:`hide_undeclared` within the block only: what is imported inside sees the modules
    ``distribution_name`` does not depend on as not installed; afterwards they import again
    (unless they were hidden for good before)."""
    hidden = hide_undeclared(distribution_name)
    try:
        yield hidden
    finally:
        for module in hidden:
            if module in sys.modules and sys.modules[module] is None:
                del sys.modules[module]
