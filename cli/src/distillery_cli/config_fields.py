"""How one settings field reads in a reference: its default, its type, whether it is secret.

Defaults come from the class, never from the environment, so the generated reference is
the same on every machine; a secret's default is never shown, only whether there is one.
"""

from __future__ import annotations

import enum
import inspect
import types
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, SecretBytes, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined, to_json
from pydantic_settings import NoDecode

from distillery_runtime.settings_errors import is_secret

UNSET = "unset"
SECRET = "(secret)"
_SCALARS = {str: "str", int: "int", float: "float", bool: "bool", Path: "path"}
_BOUNDS = ((annotated_types.Ge, "ge", ">="), (annotated_types.Gt, "gt", ">"),
           (annotated_types.Le, "le", "<="), (annotated_types.Lt, "lt", "<"))


def default_value(info: FieldInfo) -> Any:
    if info.default_factory is not None:
        return info.default_factory()  # type: ignore[call-arg]
    return None if info.default is PydanticUndefined else info.default


def describe_default(info: FieldInfo) -> str:
    """The default as it would be written in the environment; secrets only as ``(secret)``.

    Empty strings read as unset because every settings class ignores empty variables.
    """
    value = default_value(info)
    if value is None or value == "":
        return UNSET
    if is_secret(info.annotation) and not _is_empty_collection(value):
        return SECRET
    return format_value(value)


def format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (str, int, float, Path)):
        return str(value)
    return to_json(value).decode()


def describe_type(info: FieldInfo) -> str:
    """A short type with its bounds, e.g. ``int >= 1, <= 10000`` or ``openai/azure``."""
    return _with_bounds(_type_name(_without_none(info.annotation), NoDecode in info.metadata), info.metadata)


def _with_bounds(text: str, metadata: list[Any]) -> str:
    bounds = [f"{op} {getattr(m, attr)}" for m in metadata
              for kind, attr, op in _BOUNDS if isinstance(m, kind)]
    return ", ".join([text, *bounds]) if bounds else text


def type_name(annotation: Any) -> str:
    """The short name of a type, ``None`` left out of optional ones."""
    return _type_name(_without_none(annotation), comma_separated=False)


def _without_none(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation


def _type_name(annotation: Any, comma_separated: bool) -> str:
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    if annotation in (SecretStr, SecretBytes):
        return "secret"
    if get_origin(annotation) in (Union, types.UnionType):  # e.g. a count or "auto"
        return " or ".join(_type_name(member, comma_separated) for member in get_args(annotation)
                           if member is not type(None))
    if get_origin(annotation) is Annotated:  # a union's member with bounds of its own
        base, *extra = get_args(annotation)
        return _with_bounds(_type_name(base, comma_separated),
                            [m for e in extra for m in (e.metadata if isinstance(e, FieldInfo) else [e])])
    if get_origin(annotation) is Literal:
        return "/".join(str(a) for a in get_args(annotation))
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return "/".join(str(m.value) for m in annotation)
    if annotation is datetime or getattr(annotation, "__name__", "").endswith("Datetime"):
        return "ISO 8601 time with zone"
    if get_origin(annotation) is list:
        return "comma-separated list" if comma_separated else "JSON list"
    if get_origin(annotation) is dict or (inspect.isclass(annotation) and issubclass(annotation, BaseModel)):
        return "JSON object"
    return getattr(annotation, "__name__", str(annotation))


def _is_empty_collection(value: Any) -> bool:
    return isinstance(value, (list, dict, tuple)) and not value
