import json
from datetime import datetime, timedelta, timezone

import pytest
from distillery_sandbox.langfuse import FIELD_GROUPS, Faults, LangfuseStore, Project, create_app
from distillery_sandbox.workload import DefectRates, WorkloadConfig, simulate_calls
from starlette.testclient import TestClient

AUTH = ("pk-lf-test", "sk-lf-test")
ALL_GROUPS = ",".join(FIELD_GROUPS)
CALLS = list(simulate_calls(WorkloadConfig(seed=5, calls=60, defects=DefectRates.typical())))
GENERATIONS = [g for call in CALLS for g in call.generations]


def sandbox(calls=CALLS, faults=None, **store_options):
    store = LangfuseStore("project-a", **store_options)
    store.add_calls(calls)
    other = LangfuseStore("project-b")
    projects = [Project(*AUTH, store), Project("pk-lf-other", "sk-lf-other", other)]
    return TestClient(create_app(projects, faults)), store


@pytest.fixture(scope="module")
def client():
    return sandbox()[0]


def observations(client, **params):
    response = client.get("/api/public/v2/observations", params=params, auth=AUTH)
    assert response.status_code == 200, response.text
    return response.json()


def walk(client, path, **params):
    """Every item of a cursor-paginated list, page by page."""
    items, cursor, pages = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        body = client.get(path, params=query, auth=AUTH).json()
        items.extend(body["data"])
        pages += 1
        cursor = body["meta"].get("cursor")
        if not cursor:
            return items, pages


def test_health_answers_without_credentials(client, langfuse_spec):
    response = client.get("/api/public/health")
    assert response.status_code == 200
    langfuse_spec.check(response.json(), "HealthResponse")


def test_observations_with_every_field_group_validate_against_the_spec(client, langfuse_spec):
    body = observations(client, type="GENERATION", fields=ALL_GROUPS, limit=1000)
    assert len(body["data"]) == len(GENERATIONS)
    langfuse_spec.check(body, "ObservationsV2Response")


def test_default_field_groups_are_core_and_basic(client, langfuse_spec):
    body = observations(client, limit=5)
    langfuse_spec.check(body, "ObservationsV2Response")
    first = body["data"][0]
    assert {"id", "traceId", "startTime", "userId", "sessionId", "level"} <= set(first)
    assert "input" not in first and "usageDetails" not in first


def test_a_generation_reads_back_as_the_platform_recorded_it(client):
    generation = next(g for g in GENERATIONS if g.usage and g.output and not g.defects)
    found = observations(client, traceId=generation.trace_id, fields=ALL_GROUPS, limit=100)["data"]
    item = next(o for o in found if o["id"] == generation.observation_id)
    assert item["sessionId"] == generation.session_id and item["userId"] == generation.user_id
    assert json.loads(item["input"])["messages"] == list(generation.messages)
    assert json.loads(item["input"])["tools"] == list(generation.tools)
    assert json.loads(item["output"]) == generation.output
    assert item["providedModelName"] == "gpt-4.1"
    assert item["modelParameters"] == generation.model_parameters
    assert item["usageDetails"] == {"input": generation.usage.input_tokens,
                                    "output": generation.usage.output_tokens,
                                    "total": generation.usage.total_tokens}
    assert item["totalCost"] == pytest.approx(generation.cost.total)
    assert item["latency"] == pytest.approx(generation.latency, abs=0.002)
    assert item["metadata"]["intent"] == generation.intent
    assert (item["promptName"], item["promptVersion"]) == (generation.prompt_name, generation.prompt_version)
    assert item["tags"] == list(generation.tags) and item["traceName"] == generation.trace_name


def test_error_generations_carry_level_and_status_message(client):
    errors = observations(client, level="ERROR", limit=1000)["data"]
    expected = [g for g in GENERATIONS if "error" in g.defects]
    assert {o["id"] for o in errors} == {g.observation_id for g in expected}
    assert all(o["statusMessage"] for o in errors)


def test_start_time_window_includes_its_start_and_excludes_its_end(client):
    everything, _ = walk(client, "/api/public/v2/observations", fields="core", limit=1000)
    ascending = list(reversed(everything))
    start, end = ascending[9]["startTime"], ascending[20]["startTime"]
    found, pages = walk(client, "/api/public/v2/observations", fromStartTime=start,
                        toStartTime=end, limit=4)
    assert [o["id"] for o in found] == [o["id"] for o in reversed(ascending[9:20])]
    assert pages == 3


def test_the_filter_parameter_selects_by_metadata_and_takes_precedence(client):
    condition = [{"type": "stringObject", "column": "metadata", "key": "intent",
                  "operator": "=", "value": "booking"}]
    found = observations(client, filter=json.dumps(condition), userId="nobody", limit=1000)["data"]
    assert {o["id"] for o in found} == {g.observation_id for g in GENERATIONS if g.intent == "booking"}


def test_the_filter_parameter_compares_numbers_and_models(client):
    conditions = [{"type": "number", "column": "outputTokens", "operator": ">", "value": 40},
                  {"type": "stringOptions", "column": "model", "operator": "any of", "value": ["gpt-4.1"]}]
    found = observations(client, filter=json.dumps(conditions), limit=1000)["data"]
    expected = {g.observation_id for g in GENERATIONS
                if g.usage and g.usage.output_tokens > 40 and g.model == "gpt-4.1"}
    assert {o["id"] for o in found} == expected


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"limit": 1001}, "limit"),
        ({"fields": "core,everything"}, "everything"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"parseIoAsJson": "true"}, "parseIoAsJson"),
        ({"fromStartTime": "yesterday"}, "fromStartTime"),
        ({"filter": json.dumps([{"type": "string", "column": "colour", "operator": "=",
                                 "value": 1}])}, "colour"),
        ({"filter": json.dumps([{"type": "string", "column": "input", "operator": "contains",
                                 "value": "x"}])}, "matches"),
    ],
)
def test_bad_list_requests_get_400_with_a_reason(client, params, message):
    response = client.get("/api/public/v2/observations", params=params, auth=AUTH)
    assert response.status_code == 400
    assert message in response.json()["message"]


def test_25000_generations_page_out_exactly_once_while_new_calls_arrive(large_sample):
    config, calls = large_sample
    client, store = sandbox(calls)
    expected = {g.observation_id for call in calls for g in call.generations}
    later = WorkloadConfig(seed=99, calls=40, start=config.start + timedelta(minutes=30))
    seen, cursor, pages = [], None, 0
    while True:
        params = {"type": "GENERATION", "limit": 1000, "fields": "core,basic,usage"}
        body = client.get("/api/public/v2/observations",
                          params=params | ({"cursor": cursor} if cursor else {}), auth=AUTH).json()
        seen.extend(o["id"] for o in body["data"])
        pages += 1
        if pages == 3:
            store.add_calls(simulate_calls(later))  # inserted mid-walk, among the pages
        cursor = body["meta"].get("cursor")
        if not cursor:
            break
    original = [i for i in seen if i in expected]
    assert len(expected) >= 25_000 and pages >= 26
    assert len(original) == len(set(original)) == len(expected)
    assert len(seen) == len(set(seen))


def test_pages_run_newest_first(client):
    found, _ = walk(client, "/api/public/v2/observations", limit=50)
    times = [o["startTime"] for o in found]
    assert times == sorted(times, reverse=True)


def test_ingested_items_stay_hidden_for_the_lag():
    now = [datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)]
    client, store = sandbox(calls=[], lag_seconds=120, clock=lambda: now[0])
    store.add_calls(CALLS[:1])
    assert observations(client)["data"] == []
    now[0] += timedelta(seconds=119)
    assert observations(client)["data"] == []
    now[0] += timedelta(seconds=1)
    assert len(observations(client)["data"]) == len(CALLS[0].generations)


def test_missing_and_wrong_credentials_get_401_in_langfuse_shape(client):
    missing = client.get("/api/public/v2/observations")
    wrong = client.get("/api/public/v2/observations", auth=("pk-lf-test", "sk-wrong"))
    garbled = client.get("/api/public/v2/observations", headers={"Authorization": "Basic ###"})
    for response in (missing, wrong, garbled):
        assert response.status_code == 401
        assert response.json()["error"] == "UnauthorizedError" and response.json()["message"]


def test_each_key_pair_sees_only_its_own_project(client):
    other = client.get("/api/public/v2/observations", auth=("pk-lf-other", "sk-lf-other"))
    assert other.status_code == 200 and other.json()["data"] == []


def test_every_nth_request_is_rate_limited_with_retry_after():
    client, _ = sandbox(faults=Faults(rate_limit_every=3, retry_after_seconds=7))
    statuses = [client.get("/api/public/v2/observations", auth=AUTH) for _ in range(6)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "7"
    assert client.get("/api/public/health").status_code == 200


def test_every_nth_request_fails_with_500():
    client, _ = sandbox(faults=Faults(server_error_every=2))
    statuses = [client.get("/api/public/v3/scores", auth=AUTH).status_code for _ in range(4)]
    assert statuses == [200, 500, 200, 500]


def test_a_chosen_observation_is_served_malformed_and_the_others_intact(langfuse_spec):
    victim, neighbour = GENERATIONS[3].observation_id, GENERATIONS[4].observation_id
    client, _ = sandbox(faults=Faults(malformed={victim: "input_not_messages"}))
    found = {o["id"]: o for o in observations(client, fields="core,io,model", limit=1000)["data"]}
    assert found[victim]["input"] == "caller audio transcript unavailable"
    assert json.loads(found[neighbour]["input"])["messages"]
    langfuse_spec.check({"data": list(found.values()), "meta": {}}, "ObservationsV2Response")


def test_faults_can_be_changed_on_a_running_sandbox():
    client, _ = sandbox()
    response = client.post("/sandbox/v1/faults", json={"rate_limit_every": 1}, auth=AUTH)
    assert response.status_code == 200
    assert client.get("/api/public/v2/observations", auth=AUTH).status_code == 429
    bad = client.post("/sandbox/v1/faults", json={"explode": True}, auth=AUTH)
    assert bad.status_code == 400 and "explode" in bad.json()["message"]
    negative = client.post("/sandbox/v1/faults", json={"server_error_every": -1}, auth=AUTH)
    assert negative.status_code == 400
    assert "server_error_every must not be negative" in negative.json()["message"]


def test_simulate_feeds_more_traffic_into_the_callers_project():
    client, store = sandbox(calls=[])
    response = client.post("/sandbox/v1/simulate", auth=AUTH,
                           json={"calls": 5, "seed": 3, "defects": {"hallucination": 0.5}})
    assert response.status_code == 200
    assert response.json()["observations"] == store.counts()["observations"] > 5
    stats = client.get("/sandbox/v1/stats", auth=AUTH).json()
    assert stats["observations"] == response.json()["observations"]
    refused = client.post("/sandbox/v1/simulate", auth=AUTH, json={"defects": {"cut": 2}})
    assert refused.status_code == 400 and "cut" in refused.json()["message"]


def test_a_score_added_to_the_store_arrives_late_but_is_listed():
    now = [datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)]
    client, store = sandbox(calls=[], lag_seconds=60, clock=lambda: now[0])
    generation = GENERATIONS[0]
    store.add_score("hallucination", 1.0, trace_id=generation.trace_id,
                    observation_id=generation.observation_id, source="EVAL")
    listed = client.get("/api/public/v3/scores", auth=AUTH, params={"fields": "subject"}).json()
    assert listed["data"] == []
    now[0] += timedelta(seconds=60)
    (score,) = client.get("/api/public/v3/scores", auth=AUTH, params={"fields": "subject"}).json()["data"]
    assert (score["value"], score["source"]) == (1.0, "EVAL")
    assert score["subject"]["id"] == generation.observation_id
    with pytest.raises(ValueError, match="numeric"):
        store.add_score("hallucination", "high", trace_id=generation.trace_id)
