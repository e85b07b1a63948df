"""What applications send: OTLP spans (JSON, protobuf) and the real langfuse SDK 5.x."""

import gzip
import json
import uuid

import pytest
from distillery_sandbox.langfuse import LangfuseStore, Project, create_app, run_in_thread
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status
from starlette.testclient import TestClient

AUTH = ("pk-lf-otel", "sk-lf-otel")
TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
START_NS = 1_772_438_400_000_000_000  # 2026-03-02T08:00:00Z


def otlp_json_payload() -> dict:
    def attribute(key, value):
        kind = "intValue" if isinstance(value, int) else "stringValue"
        return {"key": key, "value": {kind: str(value) if kind == "intValue" else value}}

    attributes = [
        attribute("langfuse.observation.type", "generation"),
        attribute("langfuse.observation.model.name", "gpt-4.1"),
        attribute("langfuse.observation.input", json.dumps([{"role": "user", "content": "Hi"}])),
        attribute("langfuse.observation.output", json.dumps({"role": "assistant", "content": "Hello!"})),
        attribute("langfuse.observation.usage_details",
                  json.dumps({"prompt_tokens": 9, "completion_tokens": 3})),
        attribute("langfuse.observation.metadata.arm", json.dumps("student")),
        attribute("langfuse.observation.prompt.version", 3),
        attribute("session.id", "call-42"),
        attribute("user.id", "caller-7"),
        {"key": "langfuse.trace.tags", "value": {"arrayValue": {"values": [{"stringValue": "voice"}]}}},
    ]
    span = {"traceId": TRACE_ID, "spanId": SPAN_ID, "name": "agent-turn",
            "startTimeUnixNano": str(START_NS), "endTimeUnixNano": str(START_NS + 1_250_000_000),
            "attributes": attributes, "status": {"code": 2, "message": "upstream timeout"}}
    return {"resourceSpans": [{
        "resource": {"attributes": [attribute("langfuse.environment", "staging")]},
        "scopeSpans": [{"scope": {"name": "langfuse-sdk"}, "spans": [span]}],
    }]}


@pytest.fixture()
def app_and_store():
    store = LangfuseStore("otel-project")
    return TestClient(create_app([Project(*AUTH, store)])), store


def test_an_otlp_json_generation_shows_up_in_v2_observations(app_and_store, langfuse_spec):
    client, _ = app_and_store
    response = client.post("/api/public/otel/v1/traces", json=otlp_json_payload(), auth=AUTH)
    assert response.status_code == 200
    langfuse_spec.check(response.json(), "OtelTraceResponse")
    groups = "core,basic,io,model,usage,metadata,prompt,trace_context,metrics"
    found = client.get("/api/public/v2/observations", auth=AUTH, params={"fields": groups}).json()
    langfuse_spec.check(found, "ObservationsV2Response")
    (item,) = found["data"]
    assert (item["id"], item["traceId"], item["type"]) == (SPAN_ID, TRACE_ID, "GENERATION")
    assert item["startTime"] == "2026-03-02T08:00:00.000Z" and item["latency"] == pytest.approx(1.25)
    assert item["usageDetails"] == {"input": 9, "output": 3, "total": 12}
    assert item["totalCost"] == pytest.approx((9 * 2.0 + 3 * 8.0) / 1e6)
    assert (item["sessionId"], item["userId"], item["environment"]) == ("call-42", "caller-7", "staging")
    assert (item["level"], item["statusMessage"]) == ("ERROR", "upstream timeout")
    assert item["metadata"] == {"arm": "student"} and item["tags"] == ["voice"]
    assert json.loads(item["input"]) == [{"role": "user", "content": "Hi"}]
    assert item["promptVersion"] == 3


def test_a_gzipped_protobuf_export_is_accepted_and_answered_in_protobuf(app_and_store):
    client, store = app_and_store

    def value(text):
        return AnyValue(string_value=text)

    span = Span(trace_id=bytes.fromhex(TRACE_ID), span_id=bytes.fromhex(SPAN_ID), name="tool-run",
                start_time_unix_nano=START_NS, end_time_unix_nano=START_NS + 10**8,
                attributes=[KeyValue(key="langfuse.observation.type", value=value("tool"))],
                status=Status(code=Status.STATUS_CODE_OK))
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(scope_spans=[ScopeSpans(spans=[span])])])
    response = client.post("/api/public/otel/v1/traces", auth=AUTH,
                           content=gzip.compress(request.SerializeToString()),
                           headers={"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"
    assert store.observation(SPAN_ID)["type"] == "TOOL"


def test_an_unreadable_export_gets_400(app_and_store):
    client, _ = app_and_store
    response = client.post("/api/public/otel/v1/traces", auth=AUTH, content=b"\xff\x00garbage",
                           headers={"Content-Type": "application/x-protobuf"})
    assert response.status_code == 400 and "protobuf" in response.json()["message"]


def test_a_single_score_is_created_as_the_spec_describes(app_and_store, langfuse_spec):
    client, _ = app_and_store
    body = {"traceId": TRACE_ID, "observationId": SPAN_ID, "name": "hallucination", "value": 1,
            "comment": "wrong price"}
    response = client.post("/api/public/scores", json=body, auth=AUTH)
    assert response.status_code == 200
    langfuse_spec.check(response.json(), "CreateScoreResponse")
    scores = client.get("/api/public/v3/scores", auth=AUTH,
                        params={"fields": "details,subject,annotation", "traceId": TRACE_ID,
                                "observationId": SPAN_ID}).json()
    langfuse_spec.check(scores, "GetScoresV3Response")
    (score,) = scores["data"]
    assert (score["id"], score["value"], score["dataType"], score["source"]) == (
        response.json()["id"], 1.0, "NUMERIC", "API")
    assert score["subject"] == {"kind": "observation", "id": SPAN_ID, "traceId": TRACE_ID}


def test_a_batch_with_a_bad_score_reports_what_was_rejected(app_and_store):
    client, store = app_and_store
    good = {"traceId": TRACE_ID, "name": "quality", "value": "good", "dataType": "CATEGORICAL"}
    bad = {"traceId": TRACE_ID, "name": "quality", "value": "good"}  # numeric by default
    accepted = client.post("/api/public/scores", json=[good], auth=AUTH)
    partial = client.post("/api/public/scores", json=[good, bad], auth=AUTH)
    assert (accepted.status_code, accepted.json()) == (202, {"message": "Accepted"})
    assert partial.status_code == 207
    assert (partial.json()["accepted"], partial.json()["rejected"]) == (1, 1)
    assert "numeric" in partial.json()["errors"][0]["message"]
    assert store.counts()["scores"] == 2


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 101}, "limit"),
        ({"observationId": SPAN_ID}, "traceId"),
        ({"sessionId": "s", "traceId": "t"}, "mutually exclusive"),
        ({"value": "1"}, "dataType"),
        ({"valueMin": "0.5", "dataType": "BOOLEAN"}, "NUMERIC"),
        ({"fields": "gossip"}, "gossip"),
    ],
)
def test_bad_score_queries_get_400(app_and_store, params, message):
    client, _ = app_and_store
    response = client.get("/api/public/v3/scores", params=params, auth=AUTH)
    assert response.status_code == 400 and message in response.json()["message"]


def test_scores_page_out_exactly_once_and_filter_by_value(app_and_store):
    client, _ = app_and_store
    batch = [{"traceId": f"trace-{i}", "name": "hallucination", "value": float(i % 2),
              "timestamp": f"2026-03-02T09:{i // 60:02d}:{i % 60:02d}.000Z"} for i in range(250)]
    assert client.post("/api/public/scores", json=batch, auth=AUTH).status_code == 202
    ids, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        body = client.get("/api/public/v3/scores", params=params, auth=AUTH).json()
        ids += [s["id"] for s in body["data"]]
        cursor = body["meta"].get("cursor")
        if not cursor:
            break
    assert len(ids) == len(set(ids)) == 250
    flagged = client.get("/api/public/v3/scores", auth=AUTH,
                         params={"dataType": "NUMERIC", "valueMin": "1", "limit": 100}).json()
    assert len(flagged["data"]) == 100 and {s["value"] for s in flagged["data"]} == {1.0}


@pytest.fixture()
def running_sandbox():
    store = LangfuseStore("sdk-project")
    with run_in_thread([Project(*AUTH, store)]) as url:
        yield url, store


@pytest.fixture()
def langfuse_client(running_sandbox):
    from langfuse import Langfuse

    client = Langfuse(public_key=AUTH[0], secret_key=AUTH[1], base_url=running_sandbox[0],
                      environment="sandbox-test")
    yield client
    client.shutdown()


def test_a_generation_recorded_with_the_langfuse_sdk_shows_up_with_model_usage_and_session(langfuse_client):
    from langfuse import propagate_attributes

    langfuse = langfuse_client
    session = f"call-{uuid.uuid4().hex[:12]}"
    messages = [{"role": "system", "content": "You are the clinic line."},
                {"role": "user", "content": "Are you open on Saturday?"}]
    with propagate_attributes(session_id=session, user_id="caller-00042", tags=["voice"]):
        with langfuse.start_as_current_observation(
            as_type="generation", name="agent-turn", model="gpt-4.1", input=messages,
            model_parameters={"max_tokens": 256, "temperature": 0.3},
        ) as generation:
            generation.update(output={"role": "assistant", "content": "Yes, 09:00 to 13:00."},
                              usage_details={"input": 120, "output": 12},
                              metadata={"intent": "opening_hours"})
            trace_id, observation_id = langfuse.get_current_trace_id(), generation.id
    langfuse.create_score(name="hallucination", value=0.0, trace_id=trace_id,
                          observation_id=observation_id, data_type="NUMERIC")
    langfuse.flush()

    page = langfuse.api.observations.get_many(
        type="GENERATION", session_id=session, fields="core,basic,io,model,usage,metadata")
    (item,) = page.data
    assert (item.id, item.trace_id, item.session_id) == (observation_id, trace_id, session)
    assert item.model == "gpt-4.1" and item.user_id == "caller-00042"
    assert item.usage_details == {"input": 120, "output": 12, "total": 132}
    assert item.model_parameters == {"max_tokens": 256, "temperature": 0.3}
    assert json.loads(item.input) == messages
    assert item.metadata == {"intent": "opening_hours"} and item.environment == "sandbox-test"

    scores = langfuse.api.scores.get_many(trace_id=trace_id, fields="subject")
    assert [(s.name, s.value) for s in scores.data] == [("hallucination", 0.0)]
