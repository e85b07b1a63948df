"""A validation file is read only from the datasets store: a DatasetBuilt (anyone who can write
to its topic) must not make the evaluator read a file elsewhere and send its lines to models."""

from __future__ import annotations

import json
from dataclasses import replace

from evaluator_support import make_evaluator, queued, teacher_like

from distillery_contracts.evaluations import EvalOutcome
from distillery_evaluator.adapters.fakes import FakeChatClient
from distillery_evaluator.adapters.sources import confined, read_lines
from distillery_runtime.blobstore import LocalBlobStore

LINE = json.dumps({"messages": [{"role": "user", "content": "When do you open?"},
                                {"role": "assistant", "content": "At 8 am."}]})


def evaluator_reading(repo, client, tmp_path):
    evaluator = make_evaluator(repo, client, tmp_path)
    return replace(evaluator, read_lines=confined(read_lines, LocalBlobStore(tmp_path / "datasets")))


async def test_a_validation_file_outside_the_datasets_store_ends_the_run_with_the_reason(repo, request_, tmp_path):
    secret = tmp_path / "elsewhere" / "validation.jsonl"
    secret.parent.mkdir()
    secret.write_text(LINE + "\n")
    (tmp_path / "datasets").mkdir()
    client = FakeChatClient(teacher_like)
    request = request_.model_copy(update={"validation_uri": f"{(tmp_path / 'datasets').as_uri()}/../elsewhere/"
                                                            "validation.jsonl"})
    event, _ = await evaluator_reading(repo, client, tmp_path).execute(await queued(repo, request))

    assert event.outcome is EvalOutcome.ERROR
    assert "is outside the datasets store" in event.error_message
    assert not any("When do you open?" in json.dumps(m) for call in client.calls for m in call[1])


async def test_a_validation_file_inside_the_datasets_store_is_read(repo, request_, tmp_path):
    inside = tmp_path / "datasets" / "ds-0001" / "validation.jsonl"
    inside.parent.mkdir(parents=True)
    inside.write_text(LINE + "\n")
    request = request_.model_copy(update={"validation_uri": inside.as_uri()})
    event, _ = await evaluator_reading(repo, FakeChatClient(teacher_like), tmp_path).execute(
        await queued(repo, request))

    assert "validation" in [s.name for s in event.eval_sets]
