"""Errors the CLI and the services print as one line."""

from __future__ import annotations


class StudentError(Exception):
    """A problem the operator fixes (a missing model, a bad file, a used output directory)."""


class TrainingCancelled(StudentError):
    """The cancel check said stop; nothing was published."""
