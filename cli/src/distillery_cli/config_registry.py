"""Every environment variable Distillery reads, found rather than listed by hand.

Settings classes are discovered the way ``distillery run`` finds services: each entry point
of the ``distillery.services`` group names a package, and every ``BaseSettings`` subclass
defined in that package's ``config`` module is one of its settings classes. The runtime's
:class:`RuntimeSettings` comes first; the variables read outside settings classes (the
price table, CLI options, fault injection, tests, docker compose) form the ``other`` group.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings

from distillery_cli.config_fields import describe_default, describe_type
from distillery_cli.discovery import GROUP
from distillery_runtime.settings_errors import env_names, is_secret
from distillery_runtime.errors import ConfigError
from distillery_runtime.settings import RuntimeSettings

RUNTIME = "runtime"
OTHER = "other"


@dataclass(frozen=True)
class Variable:
    """One environment variable, as an operator needs to know it."""

    name: str
    default: str
    type: str
    meaning: str
    secret: bool = False
    aliases: tuple[str, ...] = ()
    """Further names that set the same value (pydantic-settings also reads these)."""


@dataclass(frozen=True)
class SettingsGroup:
    """The settings of one service (or of the runtime every service shares)."""

    name: str
    classes: tuple[type[BaseSettings], ...] = ()
    extra: tuple[Variable, ...] = field(default=())
    """Variables read outside settings classes."""

    def variables(self) -> list[Variable]:
        found = [v for cls in self.classes for v in settings_variables(cls)]
        return found + list(self.extra)

    def prefixes(self) -> list[str]:
        return [cls.model_config.get("env_prefix", "") for cls in self.classes]


def service_settings_classes(package: str) -> tuple[type[BaseSettings], ...]:
    """The ``BaseSettings`` subclasses defined in ``<package>.config``, in source order."""
    module = import_module(f"{package}.config")
    found = [obj for _, obj in inspect.getmembers(module, inspect.isclass)
             if issubclass(obj, BaseSettings) and obj.__module__ == module.__name__]
    return tuple(sorted(found, key=lambda cls: inspect.getsourcelines(cls)[1]))


def settings_groups() -> list[SettingsGroup]:
    """The runtime, every installed service (by name), then the other variables."""
    from distillery_cli.config_other import other_variables

    groups = [SettingsGroup(RUNTIME, (RuntimeSettings,))]
    for ep in sorted(entry_points(group=GROUP), key=lambda e: e.name):
        package = ep.value.split(":", 1)[0].split(".", 1)[0]
        groups.append(SettingsGroup(ep.name, service_settings_classes(package)))
    groups.append(SettingsGroup(OTHER, extra=other_variables()))
    return groups


def select_groups(groups: list[SettingsGroup], name: str | None) -> list[SettingsGroup]:
    """All groups, or the one called ``name``; ConfigError lists the names there are."""
    if name is None:
        return groups
    wanted = name.replace("_", "-")
    chosen = [g for g in groups if g.name == wanted]
    if not chosen:
        known = ", ".join(g.name for g in groups)
        raise ConfigError(f"unknown service {name!r}; choose one of: {known}")
    return chosen


def settings_variables(cls: type[BaseSettings]) -> list[Variable]:
    """One variable per field, then a nested model's fields when the class allows nesting."""
    delimiter = cls.model_config.get("env_nested_delimiter")
    out: list[Variable] = []
    for name, info in cls.model_fields.items():
        names = env_names(cls, name, info)
        nested = _nested_model(info)
        out.append(_variable(names[0], info, tuple(names[1:])))
        if delimiter and nested is not None:
            out.extend(_nested_variables(names[0], delimiter, nested))
    return out


def _variable(name: str, info: FieldInfo, aliases: tuple[str, ...] = ()) -> Variable:
    meaning = " ".join((info.description or "").split())
    return Variable(name=name, default=describe_default(info), type=describe_type(info),
                    meaning=meaning, secret=is_secret(info.annotation), aliases=aliases)


def _nested_model(info: FieldInfo) -> type[BaseModel] | None:
    annotation = info.annotation
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _nested_variables(parent: str, delimiter: str, model: type[BaseModel]) -> list[Variable]:
    return [_variable(f"{parent}{delimiter}{name.upper()}", info) for name, info in model.model_fields.items()]


def known_names(groups: list[SettingsGroup]) -> set[str]:
    """Every variable name any group reads, aliases included."""
    return {n for g in groups for v in g.variables() for n in (v.name, *v.aliases)}
