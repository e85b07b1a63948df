"""Bad configuration in one line per problem, each naming the variable as the operator set it.

A service refusing to start (``load_settings``) and ``distillery config check`` read the same
lines: ``NAME: message (got 'value')``. NAME is the variable that was set, of a field's aliases
(the console's calendar may come from ``DISTILLERY_FINETUNE_CALENDAR``), then the path inside it:
``VAR__KEY`` where the class reads nested variables, else ``VAR.key`` within its JSON value. A
secret's value is never shown.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from typing import Any, get_args

from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings


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


def is_secret(annotation: Any) -> bool:
    """True when the value, or any part of it, is a pydantic secret type."""
    if annotation in (SecretStr, SecretBytes):
        return True
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return any(is_secret(f.annotation) for f in annotation.model_fields.values())
    return any(is_secret(arg) for arg in get_args(annotation))


def variable_of(cls: type[BaseSettings], field: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable that sets ``field`` (its name, or an alias as pydantic reports it): of
    several, the first one set in ``environ`` (default: this process's), else the first."""
    present = {key.upper() for key in (os.environ if environ is None else environ)}
    for name, info in cls.model_fields.items():
        names = env_names(cls, name, info)
        if field == name or field.upper() in names:
            return next((n for n in names if n in present), names[0])
    return None


def error_lines(cls: type[BaseSettings], exc: ValidationError,
                environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per validation error of ``cls``."""
    lines = []
    for err in exc.errors(include_url=False):
        message = err["msg"].removeprefix("Value error, ")
        loc = err["loc"]
        name = variable_of(cls, str(loc[0]), environ) if loc else None
        if name is None:  # a check across several variables
            lines.append(message)
            continue
        info = cls.model_fields.get(str(loc[0]))
        secret = is_secret(info.annotation) if info is not None else False
        given = err.get("input")
        shown = f" (got {given!r:.60})" if isinstance(given, str) and not secret else ""
        lines.append(f"{name}{_path(cls, loc[1:])}: {message}{shown}")
    return lines


def _path(cls: type[BaseSettings], loc: tuple[Any, ...]) -> str:
    delimiter = cls.model_config.get("env_nested_delimiter")
    if loc and delimiter and all(isinstance(p, str) for p in loc):
        return "".join(delimiter + p.upper() for p in loc)
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)
