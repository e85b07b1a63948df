"""Blob stores publish a set of files whole: renamed into place locally, manifest last on S3."""

import hashlib
from pathlib import Path

import pytest

from distillery_runtime.blobstore import FakeS3Client, LocalBlobStore, S3BlobStore


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
    store.discard("ds-0001", ["train.jsonl", "validation.jsonl", "manifest.json"])
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
    store.discard("ds-0001", ["train.jsonl", "validation.jsonl", "manifest.json"])
    assert client.objects == {}


def test_s3_errors_other_than_not_found_are_raised(tmp_path: Path):
    client = FakeS3Client()

    def denied(**_: str) -> dict:
        raise PermissionError("AccessDenied")

    client.head_object = denied
    with pytest.raises(PermissionError):
        S3BlobStore(client, "ml-data", "", tmp_path).is_complete("ds-0001", {"train.jsonl": ("0" * 64, 1)})


def test_a_nested_name_holds_a_published_adapter_whose_last_file_comes_last(tmp_path: Path):
    client = FakeS3Client()
    store = S3BlobStore(client, "ml", "students", tmp_path)
    folder = store.staging_dir("adapters/ftjob-1")
    for name in ("adapter_model.safetensors", "model_card.json", "SHA256SUMS"):
        (folder / name).write_bytes(name.encode())
    store.publish("adapters/ftjob-1", folder, last="SHA256SUMS")
    assert client.uploads[-1] == "students/adapters/ftjob-1/SHA256SUMS"

    local = LocalBlobStore(tmp_path / "local")
    folder = local.staging_dir("adapters/ftjob-1")
    (folder / "SHA256SUMS").write_bytes(b"x")
    local.publish("adapters/ftjob-1", folder, last="SHA256SUMS")
    assert (tmp_path / "local" / "adapters" / "ftjob-1" / "SHA256SUMS").read_bytes() == b"x"


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_fetch_gives_a_local_copy_of_a_published_file_and_refuses_a_missing_one(tmp_path: Path, kind: str):
    store = LocalBlobStore(tmp_path / "root") if kind == "local" else S3BlobStore(FakeS3Client(), "b", "p", tmp_path)
    folder = store.staging_dir("ds-0002")
    (folder / "manifest.json").write_bytes(b'{"n": 1}\n')
    store.publish("ds-0002", folder)
    assert store.fetch("ds-0002", "manifest.json", tmp_path / "copy.json").read_bytes() == b'{"n": 1}\n'
    with pytest.raises(FileNotFoundError):
        store.fetch("ds-0002", "train.jsonl", tmp_path / "copy.jsonl")
    with pytest.raises(FileNotFoundError):
        store.fetch("ds-0003", "manifest.json", tmp_path / "copy.json")


def test_a_local_store_holds_its_published_files_and_nothing_else(tmp_path: Path):
    root = tmp_path / "datasets"
    store = LocalBlobStore(root)
    store.publish("ds-0001", store.staging_dir("ds-0001"))
    (tmp_path / "datasets-evil").mkdir()
    (root / "ds-0001" / "link").symlink_to(tmp_path / "datasets-evil")

    assert store.holds(store.uri("ds-0001", "train.jsonl"))
    assert store.holds(f"file://localhost{root}/ds-0001/train.jsonl")
    assert store.refusal(store.uri("ds-0001", "train.jsonl")) is None
    refused = [
        (tmp_path / "secret.pem").as_uri(),               # elsewhere on the disk
        (tmp_path / "datasets-evil" / "x").as_uri(),      # a sibling sharing the root's name as prefix
        f"file://{root}/ds-0001/../../secret.pem",        # climbing out
        f"file://{root}/ds-0001/link/x",                  # a symbolic link out
        f"file://{root}/.staging/ds-0002/train.jsonl",    # not published yet
        root.as_uri(),                                    # the root itself
        f"file://other-host{root}/ds-0001/train.jsonl",   # another machine
        f"{root}/ds-0001/train.jsonl",                    # no scheme
        "s3://bucket/datasets/ds-0001/train.jsonl",
    ]
    for uri in refused:
        assert not store.holds(uri), uri
    assert store.refusal(refused[0]) == f"{refused[0]!r} is outside the datasets store {root}: refused"


def test_an_s3_store_holds_keys_under_its_bucket_and_prefix_only(tmp_path: Path):
    store = S3BlobStore(FakeS3Client(), "bucket", "/datasets/", tmp_path)

    assert store.holds(store.uri("ds-0001", "train.jsonl"))
    for uri in ("s3://bucket/datasets-evil/ds-0001/train.jsonl", "s3://other/datasets/ds-0001/train.jsonl",
                "s3://bucket/datasets/../keys/x", "s3://bucket/datasets//x", "s3://bucket/datasets",
                "s3://bucket/other/datasets/x", "file:///datasets/ds-0001/train.jsonl"):
        assert not store.holds(uri), uri
    assert S3BlobStore(FakeS3Client(), "bucket", "", tmp_path).holds("s3://bucket/ds-0001/x")
