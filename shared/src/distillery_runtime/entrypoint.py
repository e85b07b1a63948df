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

S = TypeVar("S", bound=BaseSettings)
SERVICES_GROUP = "distillery.services"
"""The entry point group every service package registers its ``build`` in."""


def describe_validation_error(exc: ValidationError, prefix: str = "DISTILLERY_",
                              nested_delimiter: str = "__") -> str:
    """One line naming each bad variable as the operator sets it (prefix, nested names)."""
    problems = []
    for err in exc.errors():
        message = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a check across several variables
            problems.append(f"{prefix}*: {message}")
            continue
        field = nested_delimiter.join(str(p) for p in err["loc"]).upper()
        problems.append(f"{prefix}{field}: {message}")
    return "invalid configuration: " + "; ".join(problems)


def load_settings(factory: Callable[[], S]) -> S:
    try:
        return factory()
    except ValidationError as exc:
        config = getattr(factory, "model_config", {})
        prefix = config.get("env_prefix") or "DISTILLERY_"
        delimiter = config.get("env_nested_delimiter") or "__"
        raise ConfigError(describe_validation_error(exc, prefix, delimiter)) from None
    except SettingsError as exc:  # a JSON-valued variable that is not JSON
        config = getattr(factory, "model_config", {})
        field = re.search(r'field "([^"]+)"', str(exc))
        name = (config.get("env_prefix") or "DISTILLERY_") + (field.group(1).upper() if field else "?")
        reason = f" ({exc.__cause__})" if exc.__cause__ else ""
        raise ConfigError(f"{name}: not valid JSON{reason}") from None


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

