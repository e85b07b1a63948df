"""Checks shared by the sandboxes' settings, so a bad value is refused in the same words."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def require_not_negative(settings: DataclassInstance, names: Iterable[str] | None = None) -> None:
    """Refuse a negative value in any of ``names`` (default: every field of ``settings``)."""
    for name in names if names is not None else (f.name for f in fields(settings)):
        value = getattr(settings, name)
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
