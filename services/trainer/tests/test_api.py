"""The trainer's API, driven by the openai SDK as the finetune-controller drives it."""

from __future__ import annotations

import httpx
import openai
import pytest
from trainer_fixtures import GOOD_LINE, jsonl
from starlette.applications import Starlette

from distillery_trainer.domain.job import Status
from distillery_trainer.http import api_routes
from distillery_trainer.views import TrainerViews

KEY = "sk-trainer"


@pytest.fixture
async def client(trainer, store, settings):
    app = Starlette(routes=api_routes(trainer, TrainerViews(settings, lambda uow: store, trainer.new_uow), KEY))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://trainer")
    sdk = openai.AsyncOpenAI(api_key=KEY, base_url="http://trainer/v1", http_client=http, max_retries=0)
    yield sdk
    await sdk.close()


async def upload(client, data: bytes, name: str = "train.jsonl"):
    return await client.files.create(file=(name, data), purpose="fine-tune")


async def test_a_good_file_is_processed_and_a_bad_line_is_named(client):
    good = await upload(client, jsonl(GOOD_LINE, GOOD_LINE))
    assert good.status == "processed" and good.bytes == len(jsonl(GOOD_LINE, GOOD_LINE))
    bad = await upload(client, jsonl(GOOD_LINE) + b'{"messages": [{"role": "user", "content": "hi"}]}\n', "b.jsonl")
    assert bad.status == "error"
    assert bad.status_details.startswith("b.jsonl line 2: ")
    assert (await client.files.retrieve(bad.id)).status_details == bad.status_details


async def test_a_job_on_an_offered_model_waits_for_a_trainer_with_the_settings_it_will_train_with(client):
    file = await upload(client, jsonl(GOOD_LINE))
    job = await client.fine_tuning.jobs.create(
        model="clinic-base", training_file=file.id, suffix="clinic", seed=3, metadata={"distillery_job_id": "j1"},
        method={"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": 2, "learning_rate_multiplier": 2}}})
    assert job.status == "validating_files" and job.model == "clinic-base" and job.seed == 3
    extra = job.model_extra or {}
    assert extra["training_settings"]["base_model"] == "/models/clinic-base"
    assert extra["training_settings"]["learning_rate"] == pytest.approx(4e-4)
    assert extra["training_settings"]["epochs"] == 2
    events = [e.message async for e in client.fine_tuning.jobs.list_events(job.id)]
    assert events == [f"Validating training file: {file.id}"]


async def test_a_model_the_trainer_does_not_offer_is_refused_naming_what_it_offers(client):
    file = await upload(client, jsonl(GOOD_LINE))
    with pytest.raises(openai.BadRequestError, match=r"Model gpt-4.1 is not available .*clinic-base"):
        await client.fine_tuning.jobs.create(model="gpt-4.1", training_file=file.id)
    with pytest.raises(openai.NotFoundError):
        await client.models.retrieve("gpt-4.1")
    assert (await client.models.retrieve("clinic-base")).owned_by == "distillery-trainer"
    assert "clinic-base" in [m.id async for m in client.models.list()]


async def test_a_file_with_a_bad_line_or_no_file_cannot_start_a_job(client):
    bad = await upload(client, b"not json\n")
    with pytest.raises(openai.BadRequestError, match=r"cannot be trained on: train.jsonl line 1: not JSON"):
        await client.fine_tuning.jobs.create(model="clinic-base", training_file=bad.id)
    with pytest.raises(openai.BadRequestError, match="no file with id file-nope"):
        await client.fine_tuning.jobs.create(model="clinic-base", training_file="file-nope")


async def test_jobs_list_newest_first_page_by_page_and_filter_by_metadata(client):
    file = await upload(client, jsonl(GOOD_LINE))
    made = [await client.fine_tuning.jobs.create(model="clinic-base", training_file=file.id,
                                                 metadata={"distillery_job_id": f"j{n}"}) for n in range(3)]
    listed = [job.id async for job in client.fine_tuning.jobs.list(limit=2)]
    assert listed == [j.id for j in reversed(made)]
    only = [job.id async for job in client.fine_tuning.jobs.list(metadata={"distillery_job_id": "j1"})]
    assert only == [made[1].id]


async def test_cancelling_a_waiting_job_ends_it_and_a_finished_one_is_refused(client, store):
    file = await upload(client, jsonl(GOOD_LINE))
    job = await client.fine_tuning.jobs.create(model="clinic-base", training_file=file.id)
    assert (await client.fine_tuning.jobs.cancel(job.id)).status == "cancelled"
    with pytest.raises(openai.BadRequestError, match="has already cancelled"):
        await client.fine_tuning.jobs.cancel(job.id)
    with pytest.raises(openai.NotFoundError):
        await client.fine_tuning.jobs.cancel("ftjob-nope")


async def test_a_running_job_is_only_asked_to_stop(client, store):
    file = await upload(client, jsonl(GOOD_LINE))
    job = await client.fine_tuning.jobs.create(model="clinic-base", training_file=file.id)
    store.job_rows[job.id].status = Status.RUNNING
    assert (await client.fine_tuning.jobs.cancel(job.id)).status == "running"
    assert store.job_rows[job.id].cancel_requested


async def test_a_call_without_the_key_is_refused(client):
    stranger = client.with_options(api_key="sk-wrong")
    with pytest.raises(openai.AuthenticationError):
        await stranger.models.list()


async def test_bad_paging_is_one_line(client):
    with pytest.raises(openai.BadRequestError, match="limit must be between 1 and 100"):
        await client.fine_tuning.jobs.list(limit=500)


async def test_a_body_with_text_no_store_can_hold_is_refused_in_one_line(client):
    file = await upload(client, jsonl(GOOD_LINE))
    with pytest.raises(openai.BadRequestError, match=r"the request body holds 1 NUL, which tokenizers and stores"):
        await client.fine_tuning.jobs.create(model="clinic-base", training_file=file.id,
                                             metadata={"distillery_job_id": "j\u0000"})


async def test_an_unknown_file_or_job_is_a_404_naming_its_id(client):
    with pytest.raises(openai.NotFoundError, match="No such File object: file-nope"):
        await client.files.retrieve("file-nope")
    with pytest.raises(openai.NotFoundError, match="No fine-tuning job found with id ftjob-nope"):
        await client.fine_tuning.jobs.retrieve("ftjob-nope")
    with pytest.raises(openai.NotFoundError, match="ftjob-nope"):
        await client.fine_tuning.jobs.list_events("ftjob-nope")
