"""Fuzzing the OTLP span decoder the Langfuse sandbox reads exports with: arbitrary bodies in
JSON and protobuf, and OTLP JSON with any field replaced. Each is read into observations or
refused as QueryError (a 400 with the reason), never an exception that would answer 500."""

from __future__ import annotations

import gzip
import json

import hypothesis
import hypothesis.strategies as st
import pytest
from distillery_sandbox.langfuse.filters import QueryError
from distillery_sandbox.langfuse.otlp import observations_from_body

pytestmark = pytest.mark.fuzz
SETTINGS = hypothesis.settings(max_examples=60, deadline=None, derandomize=True,
                               suppress_health_check=[hypothesis.HealthCheck.too_slow])

TEXT = st.text(max_size=10) | st.sampled_from(["\ud83d", "zz", "AAAA", "5b8efff798038103d269b633813fc60c"])
NANOS = (st.integers(min_value=-(10**30), max_value=10**30) | st.integers(min_value=0, max_value=2**64)
         | TEXT | st.floats(allow_nan=True, allow_infinity=True))
SCALAR = st.none() | st.booleans() | NANOS | TEXT
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
                    max_leaves=10)
VALUE = st.one_of(
    st.fixed_dictionaries({"intValue": NANOS}), st.fixed_dictionaries({"doubleValue": NANOS}),
    st.fixed_dictionaries({"stringValue": JSON}), st.fixed_dictionaries({"arrayValue": JSON}),
    st.fixed_dictionaries({"kvlistValue": JSON}), JSON)
SPAN_FIELDS = {"traceId": TEXT | JSON, "spanId": TEXT | JSON, "parentSpanId": TEXT | JSON,
               "startTimeUnixNano": NANOS, "endTimeUnixNano": NANOS, "name": JSON, "status": JSON,
               "attributes": st.lists(st.fixed_dictionaries({"key": TEXT, "value": VALUE}), max_size=3) | JSON}


def otlp_json_payload() -> dict:
    """One generation span as the langfuse SDK exports it (test_otlp_and_sdk.py has the full one)."""
    def attribute(key: str, value: str) -> dict:
        return {"key": key, "value": {"stringValue": value}}

    span = {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "agent-turn",
            "startTimeUnixNano": "1772438400000000000", "endTimeUnixNano": "1772438401250000000",
            "attributes": [attribute("langfuse.observation.type", "generation"),
                           attribute("langfuse.observation.model.name", "gpt-4.1"),
                           attribute("langfuse.observation.input", json.dumps([{"role": "user", "content": "Hi"}])),
                           attribute("langfuse.observation.output", json.dumps({"role": "assistant", "content": "Hello"})),
                           attribute("langfuse.observation.usage_details", json.dumps({"prompt_tokens": 9})),
                           attribute("session.id", "call-42")],
            "status": {"code": 1}}
    return {"resourceSpans": [{"resource": {"attributes": [attribute("langfuse.environment", "production")]},
                               "scopeSpans": [{"scope": {"name": "langfuse-sdk"}, "spans": [span]}]}]}


def _read(body: bytes, content_type: str, encoding: str | None = None) -> None:
    try:
        observations = observations_from_body(body, content_type, encoding, "project")
    except QueryError as refused:
        assert str(refused)
        return
    assert isinstance(observations, list)


@SETTINGS
@hypothesis.given(st.binary(max_size=300), st.sampled_from(["application/json", "application/x-protobuf"]),
                  st.sampled_from([None, "gzip", "deflate", "br"]))
def test_any_body_is_read_or_refused_with_a_reason(body, content_type, encoding):
    _read(body, content_type, encoding)


@SETTINGS
@hypothesis.given(st.dictionaries(st.sampled_from(sorted(SPAN_FIELDS)), st.none(), max_size=4).flatmap(
    lambda keys: st.fixed_dictionaries({k: SPAN_FIELDS[k] for k in keys})))
def test_a_real_span_with_any_fields_replaced_is_read_or_refused_with_a_reason(changes):
    payload = otlp_json_payload()
    span = payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span.update(changes)
    _read(json.dumps(payload).encode("utf-8", "surrogatepass"), "application/json")


@SETTINGS
@hypothesis.given(JSON)
def test_any_json_document_is_read_or_refused_with_a_reason(document):
    _read(gzip.compress(json.dumps(document).encode("utf-8", "surrogatepass")), "application/json", "gzip")


@pytest.mark.parametrize("nanos", ["99999999999999999999999999", 10**30, -(10**25)], ids=["text", "int", "negative"])
def test_a_span_time_out_of_range_found_by_the_fuzzer_is_refused_not_a_500(nanos):
    payload = otlp_json_payload()
    payload["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["endTimeUnixNano"] = nanos
    with pytest.raises(QueryError, match="out of range"):
        observations_from_body(json.dumps(payload).encode(), "application/json", None, "project")
