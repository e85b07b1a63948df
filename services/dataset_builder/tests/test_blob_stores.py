"""Blob stores publish a dataset whole: renamed into place locally, manifest last on S3."""

import hashlib
from pathlib import Path

import pytest

from distillery_dataset_builder.adapters.blobstore import LocalBlobStore, S3BlobStore
from distillery_dataset_builder.adapters.fakes import FakeS3Client


def stage(store, dataset_id: str = "ds-0001") -> dict[str, tuple[str, int]]:
    folder = store.staging_dir(dataset_id)
    files = {"train.jsonl": b'{"messages":[]}\n', "validation.jsonl": b"{}\n", "manifest.json": b"{}\n"}
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return {name: (hashlib.sha256(data).hexdigest(), len(data)) for name, data in files.items()}


def test_local_files_appear_only_once_published_and_then_all_together(tmp_path: Path):
    store = LocalBlobStore(tmp_path)
    expected = stage(store)
    assert not (tmp_path / "ds-0001").exists()
    assert not store.is_complete("ds-0001", expected)
    store.publish("ds-0001", tmp_path / ".staging" / "ds-0001")
    assert sorted(p.name for p in (tmp_path / "ds-0001").iterdir()) == sorted(expected)
    assert store.is_complete("ds-0001", expected)
    assert store.uri("ds-0001", "train.jsonl") == (tmp_path / "ds-0001" / "train.jsonl").as_uri()


def test_a_local_file_with_other_bytes_is_not_complete(tmp_path: Path):
    store = LocalBlobStore(tmp_path)
    expected = stage(store)
    store.publish("ds-0001", tmp_path / ".staging" / "ds-0001")
    (tmp_path / "ds-0001" / "validation.jsonl").write_bytes(b"[]\n")
    assert not store.is_complete("ds-0001", expected)


def test_discarding_removes_staged_and_published_files(tmp_path: Path):
    store = LocalBlobStore(tmp_path)
    stage(store)
    store.publish("ds-0001", tmp_path / ".staging" / "ds-0001")
    stage(store, "ds-0001")
    store.discard("ds-0001")
    assert not (tmp_path / "ds-0001").exists() and not (tmp_path / ".staging" / "ds-0001").exists()


def test_s3_uploads_the_manifest_last_with_every_files_digest(tmp_path: Path):
    client = FakeS3Client()
    store = S3BlobStore(client, "ml-data", "distillery/datasets", tmp_path)
    expected = stage(store)
    store.publish("ds-0001", tmp_path / ".staging" / "ds-0001")
    assert client.uploads[-1] == "distillery/datasets/ds-0001/manifest.json"
    assert store.is_complete("ds-0001", expected)
    assert store.uri("ds-0001", "train.jsonl") == "s3://ml-data/distillery/datasets/ds-0001/train.jsonl"
    assert not (tmp_path / ".staging" / "ds-0001").exists()


def test_s3_without_its_manifest_is_incomplete_and_discard_clears_it(tmp_path: Path):
    client = FakeS3Client()
    store = S3BlobStore(client, "ml-data", "", tmp_path)
    expected = stage(store)
    store.publish("ds-0001", tmp_path / ".staging" / "ds-0001")
    del client.objects[("ml-data", "ds-0001/manifest.json")]
    assert not store.is_complete("ds-0001", expected)
    store.discard("ds-0001")
    assert client.objects == {}


def test_s3_errors_other_than_not_found_are_raised(tmp_path: Path):
    client = FakeS3Client()

    def denied(**_: str) -> dict:
        raise PermissionError("AccessDenied")

    client.head_object = denied
    with pytest.raises(PermissionError):
        S3BlobStore(client, "ml-data", "", tmp_path).is_complete("ds-0001", {"train.jsonl": ("0" * 64, 1)})
