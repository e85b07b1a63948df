"""Process entrypoints: run a service and turn bad configuration into one line, not a traceback."""

from __future__ import annotations

import asyncio
import gc
import re
import sys
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsError

from distillery_runtime.errors import ConfigError
from distillery_runtime.imports import hide_undeclared
from distillery_runtime.logs import configure_logging
from distillery_runtime.service import ServiceRunner, ServiceSpec
from distillery_runtime.settings import RuntimeSettings
from distillery_runtime.settings_errors import error_lines, variable_of

S = TypeVar("S", bound=BaseSettings)
SERVICES_GROUP = "distillery.services"
"""The entry point group every service package registers its ``build`` in."""


def load_settings(factory: Callable[[], S]) -> S:
    """``factory()``, or a ConfigError of one line naming each bad variable (see
    :mod:`distillery_runtime.settings_errors`)."""
    cls = factory if isinstance(factory, type) and issubclass(factory, BaseSettings) else None
    config = getattr(factory, "model_config", {})
    prefix = config.get("env_prefix") or "DISTILLERY_"
    try:
        return factory()
    except ValidationError as exc:
        lines = error_lines(cls, exc) if cls is not None else [_unnamed(exc, prefix)]
        raise ConfigError("invalid configuration: " + "; ".join(lines)) from None
    except SettingsError as exc:  # a JSON-valued variable that is not JSON
        field = re.search(r'field "([^"]+)"', str(exc))
        name = (variable_of(cls, field.group(1)) if cls is not None and field else None) or (
            prefix + (field.group(1).upper() if field else "?"))
        reason = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise ConfigError(f"{name}: not valid JSON{reason}") from None


def _unnamed(exc: ValidationError, prefix: str) -> str:
    """The errors of a factory that is not a settings class, named by prefix and field."""
    return "; ".join(f"{prefix}{'__'.join(str(p) for p in e['loc']).upper() or '*'}: "
                     f"{e['msg'].removeprefix('Value error, ')}" for e in exc.errors())


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

