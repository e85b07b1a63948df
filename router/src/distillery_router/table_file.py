"""Keeps the last known tables in a small JSON file, so a restart while the controller
and the broker are unreachable still routes with the weights last seen."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from distillery_router.table import RouteTable

FILE_FORMAT = 1

log = logging.getLogger(__name__)


class TableFile:
    """Saves and restores a set of tables; writes are atomic (temp file + rename)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def save(self, tables: Iterable[RouteTable]) -> None:
        document = {
            "format": FILE_FORMAT,
            "saved_at": datetime.now(UTC).isoformat(),
            "tables": [table.model_dump(mode="json") for table in tables],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(document, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def load(self) -> list[RouteTable]:
        """The saved tables; an absent file gives none, an unreadable one is logged and skipped."""
        if not self.path.exists():
            return []
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            if document.get("format") != FILE_FORMAT:
                raise ValueError(f"unknown format {document.get('format')!r}, expected {FILE_FORMAT}")
            return [RouteTable.model_validate(item) for item in document["tables"]]
        except (OSError, ValueError, KeyError, TypeError, AttributeError, ValidationError) as exc:
            log.warning("ignored unreadable routing state file %s: %s", self.path, exc)
            return []
