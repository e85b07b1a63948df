"""Finding the installed services: each service package registers an entry point.

``[project.entry-points."distillery.services"] cleaner = "distillery_cleaner.app:build"``
so a deployment that installs only one service still runs it with ``distillery run``.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path

from distillery_runtime.entrypoint import SERVICES_GROUP, load_entry_point
from distillery_runtime.errors import ConfigError
from distillery_runtime.service import ServiceSpec
from distillery_runtime.settings import RuntimeSettings

GROUP = SERVICES_GROUP

ServiceBuilder = Callable[[RuntimeSettings], ServiceSpec]


def installed_services() -> list[str]:
    return sorted(ep.name for ep in entry_points(group=GROUP))


def migration_target(name: str) -> tuple[str, Path]:
    """(schema, migrations folder) of an installed service, without loading its settings.

    By convention a service's schema is its name with underscores and its migrations live
    in the ``migrations`` folder of its package; migrating needs no API keys.
    """
    normalised = name.replace("_", "-")
    for ep in entry_points(group=GROUP):
        if ep.name == normalised:
            package = ep.value.split(":", 1)[0].split(".", 1)[0]
            return normalised.replace("-", "_"), Path(str(files(package) / "migrations"))
    raise ConfigError(f"unknown service {name!r}; installed services: {', '.join(installed_services())}")


def load_service(name: str) -> ServiceBuilder:
    """The service's ``build``, imported with only what its package depends on importable
    (``distillery run`` is that service's process)."""
    build = load_entry_point(name.replace("_", "-"))
    if build is not None:
        return build
    known = ", ".join(installed_services()) or "none installed"
    raise ConfigError(f"unknown service {name!r}; installed services: {known}")
