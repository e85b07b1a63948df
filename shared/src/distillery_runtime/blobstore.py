"""Where published file sets live (datasets, uploaded training files, adapters): a local
directory (default) or an S3-compatible bucket.

A set is named (``ds-0007``, ``adapters/ftjob-abc``) and holds a few files. They are
always written to a local staging directory first, then published as a whole: a local
store fsyncs them and renames the directory into place (atomic on one file system); a
bucket receives the other files first and the set's last file (its manifest) at the end,
so a set whose manifest is missing is incomplete. Readers learn a set's URIs only from an
event or a record written after publishing, so they never see a half-written set.
"""

from __future__ import annotations

import abc
import hashlib
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

MANIFEST_NAME = "manifest.json"
STAGING = ".staging"
_READ_CHUNK = 1 << 20

FileDigests = Mapping[str, tuple[str, int]]
"""File name → (sha256 hex, size in bytes)."""


class AbstractBlobStore(abc.ABC):
    """Publishes a set of files all at once; see the module docstring."""

    @abc.abstractmethod
    def staging_dir(self, name: str) -> Path:
        """A fresh, empty local directory to write the set's files into."""

    @abc.abstractmethod
    def uri(self, name: str, file_name: str) -> str:
        """Where a published file is, e.g. file:///... or s3://bucket/key."""

    @abc.abstractmethod
    def publish(self, name: str, staged: Path, last: str = MANIFEST_NAME) -> None:
        """Make every file in ``staged`` visible under ``name``, the file ``last`` at the end."""

    @abc.abstractmethod
    def is_complete(self, name: str, expected: FileDigests) -> bool:
        """Whether every expected file is published with exactly these bytes."""

    @abc.abstractmethod
    def fetch(self, name: str, file_name: str, dest: Path) -> Path:
        """A local path holding the published file: the file itself in a local store, else
        ``dest``, downloaded. Raises FileNotFoundError when it is not published."""

    @abc.abstractmethod
    def discard(self, name: str, file_names: Sequence[str]) -> None:
        """Remove whatever an unfinished publication left, staged or published."""

    @abc.abstractmethod
    def holds(self, uri: str) -> bool:
        """Whether ``uri`` names a published file of this store. Readers of URIs that arrive in
        events check it first: anyone who can write to a topic could otherwise name any file
        the service can read (its keys, /etc/passwd) and have it uploaded to a provider."""

    def refusal(self, uri: str) -> str | None:
        """Why ``uri`` may not be read (one line), or None when the store holds it."""
        if self.holds(uri):
            return None
        return f"{uri[:300]!r} is outside the datasets store {self.location}: refused"

    @property
    @abc.abstractmethod
    def location(self) -> str:
        """Where the store is, for messages: a directory or s3://bucket/prefix."""


class LocalBlobStore(AbstractBlobStore):
    """Sets under ``root/<name>/``; staging in ``root/.staging`` (same file system)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def staging_dir(self, name: str) -> Path:
        path = self.root / STAGING / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def uri(self, name: str, file_name: str) -> str:
        return (self.root / name / file_name).as_uri()

    def publish(self, name: str, staged: Path, last: str = MANIFEST_NAME) -> None:
        for file in staged.iterdir():
            fsync_file(file)
        fsync_dir(staged)
        final = self.root / name
        shutil.rmtree(final, ignore_errors=True)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staged, final)
        fsync_dir(self.root)
        fsync_dir(staged.parent)

    def is_complete(self, name: str, expected: FileDigests) -> bool:
        folder = self.root / name
        return all(_matches(folder / file_name, sha, size) for file_name, (sha, size) in expected.items())

    def fetch(self, name: str, file_name: str, dest: Path) -> Path:
        path = self.root / name / file_name
        if not path.is_file():
            raise FileNotFoundError(f"{path} is not published")
        return path

    def discard(self, name: str, file_names: Sequence[str] = ()) -> None:
        shutil.rmtree(self.root / STAGING / name, ignore_errors=True)
        shutil.rmtree(self.root / name, ignore_errors=True)

    @property
    def location(self) -> str:
        return str(self.root)

    def holds(self, uri: str) -> bool:
        """A file:// URI (no other host) whose real path, with ``..`` and symbolic links
        resolved, lies under the root and outside its staging area."""
        parsed = urlparse(uri)
        if parsed.scheme != "file" or parsed.netloc not in ("", "localhost") or "\x00" in uri:
            return False
        try:
            relative = Path(unquote(parsed.path)).resolve().relative_to(self.root)
        except (ValueError, OSError):
            return False
        return bool(relative.parts) and relative.parts[0] != STAGING


class S3BlobStore(AbstractBlobStore):
    """Sets under ``s3://bucket/prefix/<name>/``, staged in a local directory.

    ``client`` is a boto3 S3 client (or anything with upload_file, download_file,
    head_object and delete_objects). Each object carries its sha256 as metadata, so completeness is
    checked without downloading.
    """

    def __init__(self, client: Any, bucket: str, prefix: str, staging_root: Path) -> None:
        self._client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self._staging = Path(staging_root) / STAGING

    def _key(self, name: str, file_name: str) -> str:
        return "/".join(p for p in (self.prefix, name, file_name) if p)

    def staging_dir(self, name: str) -> Path:
        path = self._staging / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path

    def uri(self, name: str, file_name: str) -> str:
        return f"s3://{self.bucket}/{self._key(name, file_name)}"

    def publish(self, name: str, staged: Path, last: str = MANIFEST_NAME) -> None:
        files = sorted(staged.iterdir(), key=lambda f: (f.name == last, f.name))
        for file in files:
            self._client.upload_file(str(file), self.bucket, self._key(name, file.name),
                                     ExtraArgs={"Metadata": {"sha256": sha256_of(file)}})
        shutil.rmtree(staged, ignore_errors=True)

    def is_complete(self, name: str, expected: FileDigests) -> bool:
        for file_name, (sha, size) in expected.items():
            try:
                head = self._client.head_object(Bucket=self.bucket, Key=self._key(name, file_name))
            except Exception as exc:  # botocore's ClientError for 404; anything else is no better
                if _is_not_found(exc):
                    return False
                raise
            if head.get("ContentLength") != size or head.get("Metadata", {}).get("sha256") != sha:
                return False
        return True

    def fetch(self, name: str, file_name: str, dest: Path) -> Path:
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._client.download_file(self.bucket, self._key(name, file_name), str(dest))
        except Exception as exc:
            if _is_not_found(exc):
                raise FileNotFoundError(f"{self.uri(name, file_name)} is not published") from None
            raise
        return dest

    def discard(self, name: str, file_names: Sequence[str]) -> None:
        shutil.rmtree(self._staging / name, ignore_errors=True)
        keys = [{"Key": self._key(name, n)} for n in file_names]
        if keys:
            self._client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def holds(self, uri: str) -> bool:
        """An s3:// URI in this bucket, under the prefix, with no empty, ``.`` or ``..`` segment."""
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or parsed.netloc != self.bucket or parsed.query or parsed.fragment:
            return False
        parts = parsed.path.lstrip("/").split("/")
        prefix = self.prefix.split("/") if self.prefix else []
        if any(p in ("", ".", "..") for p in parts) or parts[: len(prefix)] != prefix:
            return False
        return len(parts) > len(prefix)


class FakeS3Client:
    """The boto3 S3 calls :class:`S3BlobStore` makes, on a dict (for tests); remembers the upload order."""

    class NotFound(Exception):
        response = {"Error": {"Code": "404"}}

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, dict[str, str]]] = {}
        self.uploads: list[str] = []

    def upload_file(self, filename: str, bucket: str, key: str, ExtraArgs: dict[str, Any]) -> None:  # noqa: N803
        self.objects[(bucket, key)] = (Path(filename).read_bytes(), dict(ExtraArgs["Metadata"]))
        self.uploads.append(key)

    def download_file(self, bucket: str, key: str, filename: str) -> None:
        if (bucket, key) not in self.objects:
            raise self.NotFound(key)
        Path(filename).write_bytes(self.objects[(bucket, key)][0])

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:  # noqa: N803
        if (Bucket, Key) not in self.objects:
            raise self.NotFound(Key)
        data, metadata = self.objects[(Bucket, Key)]
        return {"ContentLength": len(data), "Metadata": metadata}

    def delete_objects(self, Bucket: str, Delete: dict[str, Any]) -> None:  # noqa: N803
        for item in Delete["Objects"]:
            self.objects.pop((Bucket, item["Key"]), None)


def open_blob_store(kind: str, root: Path, *, bucket: str | None = None, prefix: str = "",
                    endpoint_url: str | None = None, region: str | None = None) -> AbstractBlobStore:
    """The configured store: ``local`` under ``root``, or ``s3`` (staging under ``root``)."""
    if kind == "local":
        return LocalBlobStore(root)
    if not bucket:
        raise ValueError("an s3 blob store needs a bucket")
    import boto3  # only deployments that use S3 pay for importing it

    client = boto3.client("s3", endpoint_url=endpoint_url, region_name=region)
    return S3BlobStore(client, bucket, prefix, root)


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
