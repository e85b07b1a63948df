"""Load every settings class from the environment and say, one line each, what is wrong.

Each problem names the variable as the operator sets it (prefix, alias or nested
``__`` name included), not pydantic's field path. Besides validation, a settings class's
own ``check()`` runs, and the few start-up checks a service makes outside its settings
classes (Langfuse projects, the cleaner's rule file, the dataset's base model) run too, so
``distillery config check`` fails where ``distillery run`` would.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from distillery_cli.config_registry import OTHER, RUNTIME, SettingsGroup
from distillery_runtime.errors import ConfigError
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.settings_errors import error_lines


def check_groups(groups: list[SettingsGroup]) -> list[str]:
    """``<group>: <problem>`` for every problem of every group, in order."""
    return [f"{group.name}: {line}" for group in groups for line in _check_group(group)]


def _check_group(group: SettingsGroup) -> Iterator[str]:
    loaded: list[BaseSettings] = []
    for cls in group.classes:
        try:
            settings = cls()
        except ValidationError as exc:
            yield from error_lines(cls, exc)
            continue
        loaded.append(settings)
        yield from _config_errors(getattr(settings, "check", None))
    if len(loaded) == len(group.classes) and group.name in START_UP_CHECKS:
        yield from _config_errors(lambda: START_UP_CHECKS[group.name](loaded))


def _config_errors(check: Callable[[], Any] | None) -> Iterator[str]:
    if check is None:
        return
    try:
        check()
    except (ConfigError, ValueError) as exc:
        yield str(exc)


def unknown_variables(known: set[str], environ: Mapping[str, str] | None = None) -> list[str]:
    """A warning for each ``DISTILLERY_*`` variable that nothing reads (a typo, usually)."""
    environ = os.environ if environ is None else environ
    warnings = []
    for name in sorted(n.upper() for n in environ if n.upper().startswith("DISTILLERY_")):
        if name in known:
            continue
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f" (did you mean {close[0]}?)" if close else ""
        warnings.append(f"{name} is set but no setting reads it{hint}")
    return warnings


def with_runtime(groups: list[SettingsGroup], chosen: list[SettingsGroup]) -> list[SettingsGroup]:
    """A service needs the runtime's settings as well, so checking it checks them too."""
    if any(g.name not in (RUNTIME, OTHER) for g in chosen) and all(g.name != RUNTIME for g in chosen):
        return [g for g in groups if g.name == RUNTIME] + chosen
    return chosen


def _runtime(loaded: list[BaseSettings]) -> None:
    settings = loaded[0]
    assert isinstance(settings, RuntimeSettings)
    settings.require_database_url()


def _prices(loaded: list[BaseSettings]) -> None:
    from distillery_runtime.pricing import PriceTable

    PriceTable.from_env()


def _langfuse_projects(loaded: list[BaseSettings]) -> None:
    loaded[0].resolved_projects()  # type: ignore[attr-defined]


def _cleaner_rules(loaded: list[BaseSettings]) -> None:
    from distillery_cleaner.config import load_cleaner_config

    load_cleaner_config(loaded[0].config_file)  # type: ignore[attr-defined]


def _dataset_base_model(loaded: list[BaseSettings]) -> None:
    from distillery_dataset_builder.app import check_base_model, prices

    check_base_model(loaded[0], prices())  # type: ignore[arg-type]


START_UP_CHECKS: dict[str, Callable[[list[BaseSettings]], None]] = {
    RUNTIME: _runtime,
    OTHER: _prices,
    "trace-ingester": _langfuse_projects,
    "cleaner": _cleaner_rules,
    "dataset-builder": _dataset_base_model,
}
"""Checks services make at start-up outside their settings classes, by group name."""
