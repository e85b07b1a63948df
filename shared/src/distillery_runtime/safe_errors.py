"""What an error may say in a log line or a dead letter: its type and where it was raised,
never its message text.

An exception's message quotes whatever the code that raised it had at hand, and in a
service carrying callers' words that is often the words themselves: pydantic's
``input_value=…``, a SQL error's ``[parameters: …]`` or ``DETAIL: Key (…)=(…)``, a
``KeyError('Jane Doe …')``. Logs and dead letters are kept longer and read by more people
than the stores the text belongs in, so they carry only a summary built from what the code
wrote: the type, pydantic's locations and error kinds, the SQLSTATE, the frame that raised.
An error class whose messages are written by this project without message text says so
with a class attribute ``message_is_safe = True`` (the contracts' decode errors, the
runtime's size refusal, configuration errors): its message is kept.
"""

from __future__ import annotations

import traceback

from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, StatementError

_MAX = 500
_CUSTOM_MESSAGES = {"value_error", "assertion_error"}
"""pydantic error kinds whose message is the validator's own text, which may quote the input."""


def safe_summary(exc: BaseException) -> str:
    """One line: ``Type: detail (raised at file:line in function)``, without message text."""
    detail = _detail(exc)
    where = _raised_at(exc)
    text = type(exc).__name__ + (f": {detail}" if detail else "") + (f" (raised at {where})" if where else "")
    return text[:_MAX]


def _detail(exc: BaseException) -> str:
    if getattr(exc, "message_is_safe", False):
        return " ".join(str(exc).split())
    if isinstance(exc, ValidationError):
        return _validation(exc)
    if isinstance(exc, DBAPIError):
        return _database(exc)
    if isinstance(exc, StatementError):
        return f"from {type(exc.orig).__name__}" if exc.orig is not None else ""
    cause = exc.__cause__
    if cause is not None and cause is not exc:
        return f"caused by {_detail_or_type(cause)}"
    return ""


def _detail_or_type(exc: BaseException) -> str:
    detail = _detail(exc)
    return type(exc).__name__ + (f": {detail}" if detail else "")


def _validation(exc: ValidationError, limit: int = 5) -> str:
    parts = []
    for error in exc.errors(include_input=False, include_url=False, include_context=False)[:limit]:
        location = ".".join(str(p) for p in error["loc"]) or "(body)"
        said = error["type"] if error["type"] in _CUSTOM_MESSAGES else error["msg"]
        parts.append(f"{location}: {said}")
    more = exc.error_count() - limit
    return f"{exc.error_count()} invalid field(s) of {exc.title}: " + "; ".join(parts) + (
        f"; and {more} more" if more > 0 else "")


def _database(exc: DBAPIError) -> str:
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    root = orig.__cause__ if orig is not None and orig.__cause__ is not None else orig
    parts = [f"SQLSTATE {sqlstate}" if sqlstate else "", type(root).__name__ if root is not None else ""]
    return " ".join(p for p in parts if p)


def _raised_at(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__) if exc.__traceback__ is not None else []
    if not frames:
        return ""
    frame = frames[-1]
    path = frame.filename
    for marker in ("/site-packages/", "/src/"):
        if marker in path:
            path = path.rsplit(marker, 1)[1]
            break
    else:
        path = "/".join(path.split("/")[-3:])
    return f"{path}:{frame.lineno} in {frame.name}"
