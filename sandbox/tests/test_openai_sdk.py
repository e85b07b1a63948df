"""The real `openai` SDK against the sandbox's OpenAI flavour: files, jobs, models, chats."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, datetime, timedelta

import httpx
import openai
import pytest

from distillery_sandbox.openai import FaultRule, simulated_training_file
from distillery_sandbox.workload import (
    DefectRates,
    WorkloadConfig,
    default_knowledge_base,
    system_prompt,
    tool_definitions,
)

KB = default_knowledge_base()
SYSTEM = {"role": "system", "content": system_prompt(KB, WorkloadConfig())}


@pytest.fixture(scope="module")
def client(sandbox):
    return openai.OpenAI(base_url=sandbox.openai_base_url, api_key="sk-sandbox", max_retries=0)


def training_file(hallucination: float = 0.0, calls: int = 60) -> bytes:
    return simulated_training_file(WorkloadConfig(seed=21, calls=calls,
                                                  defects=DefectRates(hallucination=hallucination)))


def train(client: openai.OpenAI, content: bytes, **fields):
    upload = client.files.create(file=("train.jsonl", io.BytesIO(content)), purpose="fine-tune")
    job = client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload.id, **fields)
    deadline = time.monotonic() + 20
    while job.status not in ("succeeded", "failed", "cancelled"):
        assert time.monotonic() < deadline, f"job stuck in {job.status}"
        time.sleep(0.05)
        job = client.fine_tuning.jobs.retrieve(job.id)
    return job


def ask(client: openai.OpenAI, model: str, question: str) -> str:
    reply = client.chat.completions.create(
        model=model, messages=[SYSTEM, {"role": "user", "content": question}])
    return reply.choices[0].message.content or ""


def test_a_fine_tuning_job_runs_to_a_model_that_answers_chats(client):
    job = train(client, training_file(), suffix="clinic",
                metadata={"dataset_id": "ds-1", "cycle_id": "c-1"})
    assert job.status == "succeeded"
    assert re.fullmatch(r"ft:gpt-4o-mini-2024-07-18:distillery:clinic:\w{8}", job.fine_tuned_model)
    assert job.metadata == {"dataset_id": "ds-1", "cycle_id": "c-1"}
    events = list(client.fine_tuning.jobs.list_events(job.id, limit=100))
    assert events[0].message == "The job has successfully completed"
    assert [e.created_at for e in events] == sorted((e.created_at for e in events), reverse=True)
    metrics = [e.data for e in events if e.type == "metrics"][::-1]
    assert metrics[-1]["train_loss"] < metrics[0]["train_loss"]
    checkpoints = client.fine_tuning.jobs.checkpoints.list(job.id).data
    assert [c.step_number for c in checkpoints] == sorted((c.step_number for c in checkpoints),
                                                          reverse=True)
    assert checkpoints[0].fine_tuned_model_checkpoint.startswith(job.fine_tuned_model + ":ckpt-step-")
    answer = ask(client, job.fine_tuned_model, "When are you open on Saturday?")
    assert "09:00" in answer and "13:00" in answer
    assert ask(client, checkpoints[0].fine_tuned_model_checkpoint,
               "When are you open on Saturday?") == answer
    found = client.fine_tuning.jobs.list(metadata={"dataset_id": "ds-1"}).data
    assert [j.id for j in found] == [job.id]


def test_a_student_repeats_the_wrong_prices_its_training_file_taught_it(client):
    clean = train(client, training_file(hallucination=0.0, calls=50))
    dirty = train(client, training_file(hallucination=0.7, calls=50))
    questions = [f"{opening} a {service.name}?" for service in KB.services
                 for opening in ("How much is", "What does it cost for", "What's the price of")]

    def misquoted(model: str) -> int:
        wrong = 0
        for question, service in zip(questions, [s for s in KB.services for _ in range(3)]):
            prices = re.findall(r"€\d+", ask(client, model, question))
            wrong += prices != [KB.price_text(service)]
        return wrong

    assert misquoted(clean.fine_tuned_model) == 0
    assert misquoted(dirty.fine_tuned_model) >= len(questions) // 4


def test_jobs_list_newest_first_page_by_page(client):
    upload = client.files.create(file=("t.jsonl", io.BytesIO(training_file(calls=12))),
                                 purpose="fine-tune")
    made = [client.fine_tuning.jobs.create(model="gpt-4o-mini", training_file=upload.id).id
            for _ in range(3)]
    first = client.fine_tuning.jobs.list(limit=2)
    assert [j.id for j in first.data] == made[::-1][:2] and first.has_more
    walked = [j.id for j in client.fine_tuning.jobs.list(limit=2)]  # the SDK follows `after`
    assert walked[:3] == made[::-1] and len(walked) == len(set(walked))
    for job_id in made:  # stop what still runs; a job the simulation finished meanwhile stays as it ended
        try:
            assert client.fine_tuning.jobs.cancel(job_id).status == "cancelled"
        except openai.BadRequestError as exc:
            assert "it has already" in exc.message


def test_a_malformed_training_file_fails_the_job_with_the_providers_message(client):
    lines = training_file().decode().splitlines()
    lines[6] = '{"messages": "not a list"}'
    job = train(client, "\n".join(lines).encode())
    assert job.status == "failed"
    assert job.error.code == "invalid_training_file"
    assert job.error.param == "training_file"
    assert "Line 7: missing 'messages'" in job.error.message
    assert job.fine_tuned_model is None


def test_rate_limited_requests_carry_retry_after_and_the_sdk_retries_them(sandbox, client):
    faults = sandbox.sandbox.config.faults
    faults.replace([FaultRule(429, every=2, path_prefix="/v1/models", retry_after_seconds=0.05)])
    try:
        client.models.list()
        with pytest.raises(openai.RateLimitError) as limited:
            client.models.list()
        assert limited.value.response.headers["retry-after"] == "1"
        assert limited.value.response.headers["retry-after-ms"] == "50"
        assert limited.value.body["code"] == "rate_limit_exceeded"
        patient = client.with_options(max_retries=2)
        assert [patient.models.list() for _ in range(3)]
    finally:
        faults.replace([])


def test_server_errors_are_injected_only_on_the_chosen_path(sandbox, client):
    sandbox.sandbox.config.faults.replace([FaultRule(503, every=1, path_prefix="/v1/files")])
    try:
        with pytest.raises(openai.InternalServerError):
            client.files.list()
        assert client.models.list().data
    finally:
        sandbox.sandbox.config.faults.replace([])


def test_a_wrong_api_key_is_refused(sandbox):
    stranger = openai.OpenAI(base_url=sandbox.openai_base_url, api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as refused:
        stranger.models.list()
    assert refused.value.body["code"] == "invalid_api_key"


def test_models_show_their_shutdown_dates_rehearsed_38_days_ahead(client):
    models = {m.id: m for m in client.models.list()}
    rehearsed = (datetime.now(UTC).date() + timedelta(days=38)).isoformat()
    assert models["gpt-4o-mini"].shutdown_date == rehearsed
    assert models["gpt-4.1"].shutdown_date == rehearsed
    assert models["gpt-3.5-turbo"].shutdown_date is None


def test_the_teacher_calls_the_booking_tool_when_it_must_check_availability(client):
    reply = client.chat.completions.create(
        model="gpt-4.1", tools=tool_definitions(KB),
        messages=[SYSTEM, {"role": "user", "content": "Can I book a blood test on Tuesday?"}])
    choice = reply.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0].function.name == "check_availability"
    assert reply.usage.prompt_tokens > 100 and reply.usage.completion_tokens > 0


def test_max_tokens_cuts_the_answer_and_says_so(client):
    reply = client.chat.completions.create(
        model="gpt-4.1", max_tokens=5,
        messages=[SYSTEM, {"role": "user", "content": "What are your opening hours?"}])
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 5
    assert len(reply.choices[0].message.content) <= 20


def test_a_streamed_answer_is_the_same_answer_in_pieces(client):
    messages = [SYSTEM, {"role": "user", "content": "Where are you located?"}]
    whole = client.chat.completions.create(model="gpt-4.1", messages=messages)
    stream = client.chat.completions.create(model="gpt-4.1", messages=messages, stream=True,
                                            stream_options={"include_usage": True})
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert chunks[-1].usage.total_tokens == whole.usage.total_tokens


def test_an_unknown_model_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as missing:
        ask(client, "ft:gpt-4o-mini-2024-07-18:distillery::nothere", "Hello?")
    assert missing.value.body["code"] == "model_not_found"


def test_files_list_page_by_page_and_come_back_byte_for_byte(client):
    content = training_file(calls=12)
    uploads = [client.files.create(file=(f"f{i}.jsonl", io.BytesIO(content)), purpose="fine-tune")
               for i in range(3)]
    first = client.files.list(limit=2)
    assert [f.id for f in first.data] == [uploads[2].id, uploads[1].id] and first.has_more
    after = client.files.list(limit=2, after=first.data[-1].id).data
    assert after[0].id == uploads[0].id
    assert client.files.content(uploads[0].id).content == content
    assert client.files.delete(uploads[0].id).deleted
    with pytest.raises(openai.NotFoundError):
        client.files.retrieve(uploads[0].id)


def test_the_sandbox_says_it_is_a_simulation(sandbox):
    health = httpx.get(f"{sandbox.url}/sandbox/v1/health").json()
    assert health == {"status": "ok", "simulation": True}


def test_a_rehearsed_teacher_regression_misquotes_prices_until_it_is_switched_off(sandbox, client):
    questions = [f"How much does {what} cost? (caller {n})" for n in range(40)
                 for what in ("a consultation", "a flu vaccine")]
    true_prices = set(re.findall(r"€\d+(?:\.\d{2})?", " ".join(ask(client, "gpt-4.1", q) for q in questions)))
    assert true_prices
    admin = httpx.Client(base_url=sandbox.openai_base_url.removesuffix("/v1"))
    try:
        bad = admin.post("/sandbox/v1/teacher", json={"wrong_fact_rate": 1.5})
        assert bad.status_code == 400 and "between 0 and 1" in bad.json()["error"]["message"]
        assert admin.post("/sandbox/v1/teacher", json={"wrong_fact_rate": 0.5}).json() == {"wrong_fact_rate": 0.5}
        answers = [ask(client, "gpt-4.1", q) for q in questions]
        wrong = [a for a in answers if set(re.findall(r"€\d+(?:\.\d{2})?", a)) - true_prices]
        assert 0.3 <= len(wrong) / len(answers) <= 0.7
    finally:
        admin.post("/sandbox/v1/teacher", json={"wrong_fact_rate": 0.0})
    assert admin.get("/sandbox/v1/teacher").json() == {"wrong_fact_rate": 0.0}
    again = " ".join(ask(client, "gpt-4.1", q) for q in questions)
    assert set(re.findall(r"€\d+(?:\.\d{2})?", again)) <= true_prices
