"""The test session's choice of broker and database. No Docker engine exists on the machine
these tests were written on, so the Kafka branch is proven here with the probe mocked; the
same integration and end-to-end tests then run on whichever broker is chosen."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from infra_choice import KAFKA_IMAGE, InfraChoice, InfraChoiceError, choose_infrastructure, docker_reachable, running_broker

DB = {"DISTILLERY_TEST_DATABASE_URL": "postgresql://postgres@db:5432/postgres"}


def probe_says(answer: bool):
    calls = []

    def probe() -> bool:
        calls.append(1)
        return answer
    return probe, calls


def test_runs_on_apache_kafka_and_a_postgres_container_when_a_docker_engine_answers():
    probe, calls = probe_says(True)
    choice = choose_infrastructure({}, probe)
    assert (choice.broker, choice.database) == ("kafka", "container") and calls == [1]


def test_runs_on_tansu_and_embedded_postgres_when_no_docker_engine_answers():
    probe, _ = probe_says(False)
    choice = choose_infrastructure({}, probe)
    assert (choice.broker, choice.database) == ("tansu", "embedded")
    assert "no Docker" in choice.why


def test_a_given_postgres_server_is_used_on_either_broker():
    for answer, broker in ((True, "kafka"), (False, "tansu")):
        probe, _ = probe_says(answer)
        choice = choose_infrastructure(DB, probe)
        assert (choice.broker, choice.database) == (broker, "given")


def test_tansu_forced_never_asks_docker_even_when_an_engine_would_answer():
    probe, calls = probe_says(True)
    choice = choose_infrastructure({"DISTILLERY_TEST_BROKER": "Tansu"}, probe)
    assert (choice.broker, choice.database) == ("tansu", "embedded") and calls == []


def test_kafka_forced_runs_on_kafka_when_docker_answers():
    probe, _ = probe_says(True)
    choice = choose_infrastructure({"DISTILLERY_TEST_BROKER": "kafka", **DB}, probe)
    assert (choice.broker, choice.database) == ("kafka", "given")
    assert choice.why == "DISTILLERY_TEST_BROKER=kafka"


def test_kafka_forced_without_docker_is_refused_in_one_line_not_silently_run_on_tansu():
    probe, _ = probe_says(False)
    with pytest.raises(InfraChoiceError) as caught:
        choose_infrastructure({"DISTILLERY_TEST_BROKER": "kafka"}, probe)
    assert "needs a Docker engine" in str(caught.value) and "\n" not in str(caught.value)


def test_an_unknown_broker_name_is_refused_with_the_accepted_ones():
    probe, calls = probe_says(True)
    with pytest.raises(InfraChoiceError, match="expected tansu or kafka"):
        choose_infrastructure({"DISTILLERY_TEST_BROKER": "redpanda"}, probe)
    assert calls == []


def test_docker_probe_is_true_only_when_the_engine_pings_back(monkeypatch):
    import docker

    closed = []

    def client(ping):
        return SimpleNamespace(ping=ping, close=lambda: closed.append(1))

    monkeypatch.setattr(docker, "from_env", lambda **_: client(lambda: True))
    assert docker_reachable() is True
    monkeypatch.setattr(docker, "from_env", lambda **_: client(lambda: False))
    assert docker_reachable() is False

    def refused(**_):
        raise docker.errors.DockerException("Error while fetching server API version: connection refused")
    monkeypatch.setattr(docker, "from_env", refused)
    assert docker_reachable() is False

    def ping_fails():
        raise ConnectionError("socket closed")
    monkeypatch.setattr(docker, "from_env", lambda **_: client(ping_fails))
    assert docker_reachable() is False
    assert len(closed) == 3


def test_this_machine_has_no_docker_engine_so_the_session_runs_on_tansu(monkeypatch):
    """Documents the machine the suite was written on (skipped where Docker exists)."""
    if docker_reachable():
        pytest.skip("a Docker engine answers here: the session runs on Apache Kafka")
    monkeypatch.delenv("DISTILLERY_TEST_BROKER", raising=False)
    assert choose_infrastructure().broker == "tansu"


def test_a_kafka_choice_gives_every_broker_user_its_own_kraft_container_stopped_afterwards(monkeypatch, tmp_path):
    """The one place the integration tests, the demo loop and the soak get their broker: on a
    Kafka choice a KRaft container, its bootstrap what the container reports (mocked here)."""
    import testcontainers.community.kafka as kafka

    events: list[object] = []

    class Container:
        def __init__(self, image: str) -> None:
            events.append(("image", image))

        def with_kraft(self) -> Container:
            events.append("kraft")
            return self

        def start(self) -> Container:
            events.append("start")
            return self

        def get_bootstrap_server(self) -> str:
            return "localhost:49153"

        def stop(self) -> None:
            events.append("stop")

    monkeypatch.setattr(kafka, "KafkaContainer", Container)
    with running_broker(InfraChoice("kafka", "container", "mocked"), tmp_path) as broker:
        assert broker.bootstrap == "localhost:49153"
        assert events == [("image", KAFKA_IMAGE), "kraft", "start"]
    assert events[-1] == "stop"


def test_a_tansu_choice_starts_an_in_memory_tansu_that_answers_and_is_gone_afterwards(tmp_path):
    import socket

    with running_broker(InfraChoice("tansu", "embedded", "no Docker engine answered"), tmp_path) as broker:
        host, _, port = broker.bootstrap.rpartition(":")
        socket.create_connection((host, int(port)), timeout=5).close()
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=1).close()
