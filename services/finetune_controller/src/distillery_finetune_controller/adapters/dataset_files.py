"""Reading a dataset's files where DatasetBuilt says they are, checked against their hash."""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import unquote, urlparse

from distillery_finetune_controller.domain.job import FileRef
from distillery_runtime.blobstore import AbstractBlobStore

CHUNK = 1 << 20


class DatasetFileError(Exception):
    """A dataset file that cannot be trained on as announced: missing, changed, unreadable."""


def local_path(uri: str) -> Path:
    """The path of a file:// URI; other schemes are not readable by this controller."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        raise DatasetFileError(f"cannot read {uri}: only file:// dataset URIs are supported")
    return Path(unquote(parsed.path))


def verified_path(ref: FileRef, datasets: AbstractBlobStore) -> Path:
    """The file's path once it is proven to be in the datasets store and its bytes the ones
    the dataset announced."""
    refusal = datasets.refusal(ref.uri)
    if refusal is not None:
        raise DatasetFileError(f"dataset file {refusal}")
    path = local_path(ref.uri)
    if not path.is_file():
        raise DatasetFileError(f"dataset file {path} does not exist")
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    except OSError as exc:
        raise DatasetFileError(f"cannot read dataset file {path}: {exc.strerror or exc}") from None
    if digest.hexdigest() != ref.sha256:
        raise DatasetFileError(
            f"dataset file {path} changed since it was built: sha256 {digest.hexdigest()[:12]}… "
            f"is not the announced {ref.sha256[:12]}…")
    return path
