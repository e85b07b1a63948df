"""Where dataset files live: a local directory (default) or an S3-compatible bucket.

Files are always written to a local staging directory first, then published as a whole:
a local store fsyncs them and renames the directory into place (atomic on one file
system); a bucket receives the data files first and manifest.json last, so a dataset
whose manifest is missing is incomplete. Readers learn URIs only from DatasetBuilt, which
is sent after publishing, so they never see a half-written dataset.
"""

from __future__ import annotations

import abc
import hashlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MANIFEST_NAME = "manifest.json"
STAGING = ".staging"
_READ_CHUNK = 1 << 20

FileDigests = Mapping[str, tuple[str, int]]
"""File name → (sha256 hex, size in bytes)."""


class AbstractBlobStore(abc.ABC):
    """Publishes a dataset's files all at once; see the module docstring."""

    @abc.abstractmethod
    def staging_dir(self, dataset_id: str) -> Path:
        """A fresh, empty local directory to write the dataset's files into."""

    @abc.abstractmethod
    def uri(self, dataset_id: str, file_name: str) -> str:
        """Where a published file is, e.g. file:///... or s3://bucket/key."""

    @abc.abstractmethod
    def publish(self, dataset_id: str, staged: Path) -> None:
        """Make every file in ``staged`` visible under the dataset, manifest last."""

    @abc.abstractmethod
    def is_complete(self, dataset_id: str, expected: FileDigests) -> bool:
        """Whether every expected file is published with exactly these bytes."""

    @abc.abstractmethod
    def discard(self, dataset_id: str) -> None:
        """Remove whatever an unfinished build left, staged or published."""


class LocalBlobStore(AbstractBlobStore):
    """Datasets under ``root/<dataset_id>/``; staging in ``root/.staging`` (same file system)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def staging_dir(self, dataset_id: str) -> Path:
        path = self.root / STAGING / dataset_id
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def uri(self, dataset_id: str, file_name: str) -> str:
        return (self.root / dataset_id / file_name).as_uri()

    def publish(self, dataset_id: str, staged: Path) -> None:
        for file in staged.iterdir():
            fsync_file(file)
        fsync_dir(staged)
        final = self.root / dataset_id
        shutil.rmtree(final, ignore_errors=True)
        os.rename(staged, final)
        fsync_dir(self.root)
        fsync_dir(staged.parent)

    def is_complete(self, dataset_id: str, expected: FileDigests) -> bool:
        folder = self.root / dataset_id
        return all(_matches(folder / name, sha, size) for name, (sha, size) in expected.items())

    def discard(self, dataset_id: str) -> None:
        shutil.rmtree(self.root / STAGING / dataset_id, ignore_errors=True)
        shutil.rmtree(self.root / dataset_id, ignore_errors=True)


class S3BlobStore(AbstractBlobStore):
    """Datasets under ``s3://bucket/prefix/<dataset_id>/``, staged in a local directory.

    ``client`` is a boto3 S3 client (or anything with upload_file, head_object and
    delete_objects). Each object carries its sha256 as metadata, so completeness is
    checked without downloading.
    """

    def __init__(self, client: Any, bucket: str, prefix: str, staging_root: Path) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._staging = Path(staging_root) / STAGING

    def _key(self, dataset_id: str, file_name: str) -> str:
        return "/".join(p for p in (self.prefix, dataset_id, file_name) if p)

    def staging_dir(self, dataset_id: str) -> Path:
        path = self._staging / dataset_id
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def uri(self, dataset_id: str, file_name: str) -> str:
        return f"s3://{self.bucket}/{self._key(dataset_id, file_name)}"

    def publish(self, dataset_id: str, staged: Path) -> None:
        files = sorted(staged.iterdir(), key=lambda f: (f.name == MANIFEST_NAME, f.name))
        for file in files:
            self._client.upload_file(str(file), self.bucket, self._key(dataset_id, file.name),
                                     ExtraArgs={"Metadata": {"sha256": sha256_of(file)}})
        shutil.rmtree(staged, ignore_errors=True)

    def is_complete(self, dataset_id: str, expected: FileDigests) -> bool:
        for name, (sha, size) in expected.items():
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=self._key(dataset_id, name))
            except Exception as exc:  # botocore's ClientError for 404; anything else is no better
                if _is_not_found(exc):
                    return False
                raise
            if head.get("ContentLength") != size or head.get("Metadata", {}).get("sha256") != sha:
                return False
        return True

    def discard(self, dataset_id: str) -> None:
        shutil.rmtree(self._staging / dataset_id, ignore_errors=True)
        keys = [{"Key": self._key(dataset_id, n)} for n in ("train.jsonl", "validation.jsonl", MANIFEST_NAME)]
        self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})


def _is_not_found(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code")) in ("404", "NoSuchKey", "NotFound")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _matches(path: Path, sha: str, size: int) -> bool:
    return path.is_file() and path.stat().st_size == size and sha256_of(path) == sha


def fsync_file(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
