"""Uploaded files of one simulated account: metadata and content, in memory."""

from __future__ import annotations

import secrets
import string
from typing import Literal

from pydantic import BaseModel

from distillery_sandbox.openai.errors import ApiError

PURPOSES = ("fine-tune", "fine-tune-results", "assistants", "assistants_output", "batch",
            "batch_output", "vision", "user_data")
MAX_FILE_BYTES = 512 * 1024 * 1024
_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str, hex_style: bool) -> str:
    """An id in the provider's style: Azure uses 32 hex digits, OpenAI 24 letters/digits."""
    if hex_style:
        return prefix + secrets.token_hex(16)
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


class FileRecord(BaseModel):
    """One uploaded file. `processed_at` is when it becomes usable (Azure imports files
    asynchronously; OpenAI files are usable at once)."""

    id: str
    filename: str
    purpose: str
    bytes: int
    created_at: float
    processed_at: float

    def status(self, now: float) -> Literal["pending", "processed"]:
        return "processed" if now >= self.processed_at else "pending"


class FileStore:
    """Files by id in upload order; contents kept beside the metadata."""

    def __init__(self, hex_ids: bool):
        self._hex_ids = hex_ids
        self.records: dict[str, FileRecord] = {}
        self.contents: dict[str, bytes] = {}

    def add(self, filename: str, purpose: str, content: bytes, now: float,
            processing_seconds: float = 0.0) -> FileRecord:
        if purpose not in PURPOSES:
            raise ApiError(400, f"'{purpose}' is not one of {list(PURPOSES)} - 'purpose'",
                           param="purpose", code="invalid_value")
        if purpose == "fine-tune" and not filename.endswith(".jsonl"):
            raise ApiError(400, f"Invalid file format for Fine-Tuning API. Must be .jsonl "
                                f"(got {filename!r})", param="file", code="invalid_file_format")
        if len(content) > MAX_FILE_BYTES:
            raise ApiError(400, f"File is {len(content)} bytes; the limit is {MAX_FILE_BYTES}.",
                           param="file", code="file_too_large")
        record = FileRecord(
            id=new_id("file-", self._hex_ids), filename=filename, purpose=purpose,
            bytes=len(content), created_at=now, processed_at=now + processing_seconds,
        )
        self.records[record.id] = record
        self.contents[record.id] = content
        return record

    def get(self, file_id: str) -> FileRecord:
        record = self.records.get(file_id)
        if record is None:
            raise ApiError(404, f"No such File object: {file_id}", param="id",
                           code="file_not_found", kind="invalid_request_error")
        return record

    def content(self, file_id: str) -> bytes:
        self.get(file_id)
        return self.contents[file_id]

    def delete(self, file_id: str) -> FileRecord:
        record = self.get(file_id)
        del self.records[file_id]
        self.contents.pop(file_id, None)
        return record

    def listed(self, purpose: str | None = None, order: str = "desc") -> list[FileRecord]:
        chosen = [r for r in self.records.values() if purpose is None or r.purpose == purpose]
        return chosen[::-1] if order == "desc" else chosen
