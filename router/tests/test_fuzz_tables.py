"""Fuzzing the router's decoders of outside data: records on the routing topic, HTTP bodies
and the state file, as hypothesis draws them. A table is applied only when it is one (unique
arm names, weights summing to 100); anything else is skipped (topic, file) or refused as
TableUnavailable (HTTP), never an exception that would stop the follower."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import httpx
import hypothesis
import hypothesis.strategies as st
import pytest

from distillery_router.http_source import HttpTableSource, TableUnavailable
from distillery_router.kafka_source import KafkaTableSource
from distillery_router.table import WEIGHT_SUM_TOLERANCE, RouteTable
from distillery_router.table_file import TableFile

pytestmark = pytest.mark.fuzz
SETTINGS = hypothesis.settings(max_examples=60, deadline=None, derandomize=True,
                               suppress_health_check=[hypothesis.HealthCheck.too_slow,
                                                      hypothesis.HealthCheck.function_scoped_fixture])

TEXT = st.text(max_size=10) | st.sampled_from(["voice-agent", "\ud83d", "a\x00", "openai", "candidate"])
SCALAR = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | TEXT)
JSON = st.recursive(SCALAR, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)
ARM = st.fixed_dictionaries({"name": TEXT, "model": TEXT, "provider": TEXT},
                            optional={"weight": st.floats(allow_nan=True, allow_infinity=True) | st.integers()
                                      | TEXT, "deployment": JSON})
TABLE = st.fixed_dictionaries(
    {"route": TEXT, "version": st.integers(min_value=-2, max_value=2**70) | TEXT,
     "updated_at": st.sampled_from([datetime(2026, 3, 2, tzinfo=UTC).isoformat(), "yesterday", "2026-13-01"]),
     "arms": st.lists(ARM, max_size=4) | JSON},
    optional={"rollout_id": JSON, "signature": JSON})


def _bytes(value: object) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


BODIES = TABLE.map(_bytes) | JSON.map(_bytes) | st.binary(max_size=200)


def _is_a_table(table: RouteTable) -> None:
    names = [a.name for a in table.arms]
    assert len(set(names)) == len(names)
    assert abs(sum(a.weight for a in table.arms) - 100) <= WEIGHT_SUM_TOLERANCE * 10
    assert all(0 <= a.weight <= 100 for a in table.arms)


@SETTINGS
@hypothesis.given(key=st.none() | st.binary(max_size=12) | TEXT.map(lambda t: t.encode("utf-8", "surrogatepass")),
                  value=st.none() | BODIES,
                  headers=st.lists(st.tuples(TEXT, st.binary(max_size=20)), max_size=3)
                  | st.lists(JSON, max_size=2))
def test_a_record_on_the_routing_topic_is_a_table_or_skipped_never_an_error(key, value, headers):
    record = SimpleNamespace(key=key, value=value, headers=headers, offset=7)
    table = KafkaTableSource(consumer_factory=lambda: None)._readable(record)  # type: ignore[arg-type,return-value]
    if table is not None:
        _is_a_table(table)
        assert key is None or table.route == key.decode()


SOURCE = HttpTableSource("http://controller.invalid", client=httpx.AsyncClient(transport=httpx.MockTransport(
    lambda request: httpx.Response(500))))  # made once: a client loads its TLS settings when made


@SETTINGS
@hypothesis.given(BODIES)
def test_an_http_body_is_a_table_or_refused_as_unavailable(body):
    source = SOURCE
    response = httpx.Response(200, content=body)
    try:
        table = source._parse("voice-agent", response)
    except TableUnavailable as refused:
        assert str(refused)
    else:
        _is_a_table(table)
        assert table.route == "voice-agent"


@SETTINGS
@hypothesis.given(st.binary(max_size=300) | st.fixed_dictionaries(
    {"format": st.sampled_from([1, 1, 2, "1", None]), "tables": st.lists(TABLE, max_size=3) | JSON}).map(_bytes))
def test_the_state_file_loads_its_tables_or_none_whatever_it_holds(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("state") / "tables.json"
    path.write_bytes(content)
    for table in TableFile(path).load():
        _is_a_table(table)
