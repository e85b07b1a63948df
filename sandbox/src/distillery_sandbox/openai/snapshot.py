"""Keeping the sandbox's state across restarts (optional; for the demo).

The state is one JSON file; file contents go beside it in `<name>.blobs/`, one file per
sha256, written once. Jobs are stored as they are: their timers are absolute times, so a
job that was running when the sandbox stopped has finished when it comes back.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from distillery_sandbox.openai.account import Account
from distillery_sandbox.openai.deployments import Deployment
from distillery_sandbox.openai.files import FileRecord
from distillery_sandbox.openai.job_records import JobRecord
from distillery_sandbox.openai.registry import FineTunedModel

FORMAT = 1


class Snapshot:
    """Reads and writes the state of every account to `path`."""

    def __init__(self, path: Path):
        self.path = path
        self.blobs = path.with_name(path.name + ".blobs")
        self._last: str | None = None
        self._digests: dict[str, str] = {}

    def save(self, accounts: dict[str, Account]) -> None:
        state = {"format": FORMAT,
                 "accounts": {name: self._dump(account) for name, account in accounts.items()}}
        text = json.dumps(state, sort_keys=True)
        if text == self._last:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(text)
        os.replace(temporary, self.path)
        self._last = text

    def load(self, accounts: dict[str, Account]) -> bool:
        """Restore the saved state into fresh accounts; False when there is none yet."""
        if not self.path.exists():
            return False
        try:
            state = json.loads(self.path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"the snapshot {self.path} is not valid JSON ({exc}); delete it "
                             "to start empty") from None
        if state.get("format") != FORMAT:
            raise ValueError(f"the snapshot {self.path} has format {state.get('format')!r}, "
                             f"this sandbox reads format {FORMAT}; delete it to start empty")
        for name, data in state["accounts"].items():
            if name in accounts:
                self._restore(accounts[name], data)
        return True

    def _dump(self, account: Account) -> dict[str, Any]:
        return {
            "files": [r.model_dump(mode="json") for r in account.files.records.values()],
            "file_blobs": {fid: self._blob(f"file:{fid}", content)
                           for fid, content in account.files.contents.items()},
            "jobs": [j.model_dump(mode="json") for j in account.jobs.jobs.values()],
            "training_data": {
                job_id: [self._blob(f"train:{job_id}", train),
                         self._blob(f"valid:{job_id}", valid) if valid else None]
                for job_id, (train, valid) in account.training_data.items()
            },
            "slot_freed_at": account.jobs.slot_freed_at,
            "fine_tuned": [m.model_dump(mode="json") for m in account.registry.fine_tuned.values()],
            "deployments": [d.model_dump(mode="json") for d in
                            (account.deployments.deployments.values() if account.deployments else [])],
        }

    def _restore(self, account: Account, data: dict[str, Any]) -> None:
        for raw in data["files"]:
            record = FileRecord.model_validate(raw)
            account.files.records[record.id] = record
            account.files.contents[record.id] = self._read(data["file_blobs"][record.id])
        for job_id, (train, valid) in data["training_data"].items():
            account.training_data[job_id] = (self._read(train), self._read(valid) if valid else None)
        for raw in data["jobs"]:
            job = JobRecord.model_validate(raw)
            account.jobs.jobs[job.id] = job
        account.jobs.slot_freed_at = data["slot_freed_at"]
        for raw in data["fine_tuned"]:
            account.registry.add(FineTunedModel.model_validate(raw))
        if account.deployments is not None:
            for raw in data["deployments"]:
                deployment = Deployment.model_validate(raw)
                account.deployments.deployments[deployment.name] = deployment
        account.relearn()

    def _blob(self, key: str, content: bytes) -> str:
        """Store content once under its sha256 (memoised by key: contents never change)."""
        digest = self._digests.get(key)
        if digest is None:
            digest = self._digests[key] = hashlib.sha256(content).hexdigest()
        target = self.blobs / digest
        if not target.exists():
            self.blobs.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        return digest

    def _read(self, digest: str) -> bytes:
        try:
            return (self.blobs / digest).read_bytes()
        except FileNotFoundError:
            raise ValueError(f"the snapshot refers to {self.blobs / digest}, which is missing; "
                             "delete the snapshot to start empty") from None
