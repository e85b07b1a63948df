"""Process entrypoints: run a service and turn bad configuration into one line, not a traceback."""

from __future__ import annotations

import asyncio
import gc
import os
import re
import sys
from collections.abc import Callable, Mapping
from importlib.metadata import entry_points
from typing import TypeVar

from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsError

from distillery_runtime.errors import ConfigError
from distillery_runtime.imports import hide_undeclared
from distillery_runtime.logs import configure_logging
from distillery_runtime.service import ServiceRunner, ServiceSpec
from distillery_runtime.settings import RuntimeSettings

S = TypeVar("S", bound=BaseSettings)
SERVICES_GROUP = "distillery.services"
"""The entry point group every service package registers its ``build`` in."""


def env_names(cls: type[BaseSettings], name: str, info: FieldInfo) -> list[str]:
    """Every variable that sets field ``name``, the one to document first.

    Mirrors pydantic-settings: a validation alias replaces the prefixed name, and
    ``populate_by_name`` keeps the prefixed name readable as well.
    """
    prefix = cls.model_config.get("env_prefix", "")
    alias = info.validation_alias
    if alias is None:
        return [f"{prefix}{name}".upper()]
    choices = getattr(alias, "choices", [alias])
    names = [c.upper() for c in choices if isinstance(c, str)]
    if cls.model_config.get("populate_by_name") or cls.model_config.get("validate_by_name"):
        names.append(f"{prefix}{name}".upper())
    return names


def variables_set(cls: type[BaseSettings], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Each field's name and aliases (upper-case) -> the variable that sets it: of several, the
    first one set in ``environ`` (default: this process's), else the first."""
    present = {key.upper() for key in (os.environ if environ is None else environ)}
    found: dict[str, str] = {}
    for name, info in cls.model_fields.items():
        names = env_names(cls, name, info)
        chosen = next((n for n in names if n in present), names[0])
        for key in (name.upper(), *names):
            found[key] = chosen
    return found


def describe_validation_error(exc: ValidationError, prefix: str = "DISTILLERY_",
                              nested_delimiter: str | None = "__",
                              variables: Mapping[str, str] | None = None) -> str:
    """One line naming each bad variable as the operator sets it: ``variables`` (from
    :func:`variables_set`) names a field's variable, aliases included; inside a variable, a
    nested setting is ``VAR__KEY`` where the class reads nested variables (``nested_delimiter``),
    else the path within the variable's JSON value, ``VAR (key.key)``."""
    problems = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a check across several variables
            problems.append(f"{prefix}*: {message}")
            continue
        head, *path = (str(p) for p in err["loc"])
        variable = (variables or {}).get(head.upper(), f"{prefix}{head}".upper())
        if path and nested_delimiter:
            variable = nested_delimiter.join([variable, *path]).upper()
        elif path:
            variable = f"{variable} ({'.'.join(path)})"
        problems.append(f"{variable}: {message}")
    return "invalid configuration: " + "; ".join(problems)


def load_settings(factory: Callable[[], S]) -> S:
    try:
        return factory()
    except ValidationError as exc:
        config = getattr(factory, "model_config", {})
        prefix = config.get("env_prefix") or "DISTILLERY_"
        raise ConfigError(describe_validation_error(exc, prefix, config.get("env_nested_delimiter"),
                                                    _variables(factory))) from None
    except SettingsError as exc:  # a JSON-valued variable that is not JSON
        config = getattr(factory, "model_config", {})
        field = re.search(r'field "([^"]+)"', str(exc))
        name = (config.get("env_prefix") or "DISTILLERY_") + (field.group(1).upper() if field else "?")
        if field:
            name = _variables(factory).get(field.group(1).upper(), name)
        reason = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise ConfigError(f"{name}: not valid JSON{reason}") from None


def _variables(factory: Callable[[], BaseSettings]) -> dict[str, str]:
    if isinstance(factory, type) and issubclass(factory, BaseSettings):
        return variables_set(factory)
    return {}


def fail(message: str, code: int = 2) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def run_service(build: Callable[[RuntimeSettings], ServiceSpec],
                settings_factory: Callable[[], RuntimeSettings] = RuntimeSettings) -> None:
    """Run the service ``build`` describes until SIGTERM/SIGINT; exit 2 on bad configuration."""
    try:
        settings = load_settings(settings_factory)
        spec = build(settings)
        configure_logging(spec.name, settings.log_level, settings.log_format)
        settle_collector()
        asyncio.run(ServiceRunner(spec, settings).run())
    except ConfigError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


def load_entry_point(name: str) -> Callable[[RuntimeSettings], ServiceSpec] | None:
    """The ``build`` of the installed service ``name`` (its ``distillery.services`` entry point),
    imported with only what its package depends on importable (``imports.hide_undeclared``):
    the caller is that service's process. None when no such service is installed."""
    for entry in entry_points(group=SERVICES_GROUP):
        if entry.name == name:
            hide_undeclared(entry.dist.name if entry.dist else name)
            build: Callable[[RuntimeSettings], ServiceSpec] = entry.load()
            return build
    return None


def run_entry_point(name: str) -> None:
    """``python -m <package>``: run the installed service ``name``."""
    build = load_entry_point(name)
    if build is None:
        fail(f"no service {name!r} is installed")
    else:
        run_service(build)


def settle_collector() -> None:
    """What a service process loaded before it runs (modules, models, compiled patterns) lives as
    long as the process: it leaves the cyclic collector's generations, and young collections
    come every 50,000 allocations rather than 700. The collector rescanned all of it per batch,
    a tenth to a quarter of the cleaner's CPU (tests/bench/bench_cleaner.py); reference counting
    still frees nearly everything at once. Only for a service's own process, not in-process tests."""
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)

