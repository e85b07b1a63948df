"""docker-compose.yml and infra/Dockerfile: the production stack stays valid and scalable.

There is no Docker engine on the development machines, so the file is checked by
reading it; `docker compose config` runs too where the Compose plugin is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "infra" / "Dockerfile"
ENV_EXAMPLE = ROOT / "infra" / "docker" / "env.example"

SERVICES = (
    "trace-ingester",
    "cleaner",
    "dataset-builder",
    "finetune-controller",
    "evaluator",
    "rollout-controller",
)
ONE_SHOT = {"init"}
PUBLISHING = {"rollout-controller": "8080", "langfuse-web": "3000"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def published_ports(service: dict[str, Any]) -> list[str]:
    """Container ports a service publishes on the host."""
    ports = []
    for port in service.get("ports", []):
        target = port["target"] if isinstance(port, dict) else str(port).rsplit(":", 1)[-1]
        ports.append(str(target).split("/")[0])
    return ports


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    raw = service.get("depends_on", {})
    if isinstance(raw, list):
        return dict.fromkeys(raw, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in raw.items()}


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_its_own_command_from_its_own_image(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]

    assert service["command"] == ["distillery", "run", name]
    assert f"-{name}:" in service["image"]
    assert service["build"] == {"context": ".", "dockerfile": "infra/Dockerfile", "args": {"SERVICE": name}}


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_checks_its_healthz_with_python_on_the_port_it_serves(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]
    test = service["healthcheck"]["test"]

    assert test[:3] == ["CMD", "python", "-c"]
    assert "http://localhost:8080/healthz" in test[3]
    assert service["environment"]["DISTILLERY_HTTP_PORT"] == "8080"
    assert service["environment"]["DISTILLERY_HTTP_HOST"] == "0.0.0.0"


def test_every_long_running_container_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    missing = [name for name, s in services.items() if name not in ONE_SHOT and "healthcheck" not in s]

    assert missing == []


@pytest.mark.parametrize("name", SERVICES)
def test_services_can_be_scaled_no_container_name_and_no_fixed_host_port(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    service = services[name]

    assert "container_name" not in service
    assert published_ports(service) == ([PUBLISHING[name]] if name in PUBLISHING else [])


def test_only_the_routing_api_and_the_langfuse_ui_are_published(
    services: dict[str, dict[str, Any]],
) -> None:
    publishing = {name: published_ports(s) for name, s in services.items() if published_ports(s)}

    assert publishing == {name: [port] for name, port in PUBLISHING.items()}
    assert not any("container_name" in s for s in services.values())


@pytest.mark.parametrize("name", SERVICES)
def test_services_start_after_topics_and_migrations_are_done(
    services: dict[str, dict[str, Any]], name: str
) -> None:
    conditions = depends_on(services[name])

    assert conditions["init"] == "service_completed_successfully"
    assert conditions["kafka"] == conditions["postgres"] == "service_healthy"


def test_init_creates_the_topics_from_the_bare_cli_once_the_stores_are_healthy(
    services: dict[str, dict[str, Any]],
) -> None:
    """Each service migrates its own schema at start (under an advisory lock, so a scaled
    service migrates once); the init only needs the CLI, not every service's image."""
    init = services["init"]

    assert init["command"] == ["distillery", "topics", "create"]
    assert init["build"]["args"] == {"SERVICE": ""}
    assert depends_on(init) == {"kafka": "service_healthy", "postgres": "service_healthy"}
    assert init["restart"] == "no"


def test_every_depends_on_target_exists(services: dict[str, dict[str, Any]]) -> None:
    dangling = {
        (name, target) for name, s in services.items() for target in depends_on(s) if target not in services
    }

    assert dangling == set()


def test_kafka_runs_a_single_kraft_node_without_zookeeper(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    env = kafka["environment"]

    assert kafka["image"].startswith("apache/kafka:")
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert not any("ZOOKEEPER" in key for key in env)


def test_services_reach_kafka_postgres_and_langfuse_by_their_compose_names(
    services: dict[str, dict[str, Any]],
) -> None:
    env = services["cleaner"]["environment"]

    assert env["DISTILLERY_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert re.fullmatch(r"postgresql://distillery:\$\{[A-Z_]+:-distillery\}@postgres:5432/distillery",
                        env["DISTILLERY_DATABASE_URL"])
    assert env["DISTILLERY_LANGFUSE_HOST"] == "http://langfuse-web:3000"
    assert env["DISTILLERY_LOG_FORMAT"] == "json"
    assert "langfuse-web" in services


def test_langfuse_is_initialised_with_the_keys_the_services_use(
    services: dict[str, dict[str, Any]],
) -> None:
    service_env = services["trace-ingester"]["environment"]
    langfuse_env = services["langfuse-web"]["environment"]

    assert langfuse_env["LANGFUSE_INIT_PROJECT_PUBLIC_KEY"] == service_env["DISTILLERY_LANGFUSE_PUBLIC_KEY"]
    assert langfuse_env["LANGFUSE_INIT_PROJECT_SECRET_KEY"] == service_env["DISTILLERY_LANGFUSE_SECRET_KEY"]


def test_the_langfuse_v3_stack_is_complete(services: dict[str, dict[str, Any]]) -> None:
    assert services["langfuse-web"]["image"] == "langfuse/langfuse:3"
    assert services["langfuse-worker"]["image"] == "langfuse/langfuse-worker:3"
    for backing in ("langfuse-postgres", "clickhouse", "redis", "minio"):
        assert depends_on(services["langfuse-worker"])[backing] == "service_healthy"
    assert services["langfuse-web"]["environment"]["CLICKHOUSE_URL"] == "http://clickhouse:8123"


def test_every_variable_has_a_default_and_is_documented_in_the_env_example() -> None:
    text = COMPOSE_FILE.read_text()
    references = re.findall(r"\$\{([A-Z0-9_]+)([^}]*)\}", text)
    documented = set(re.findall(r"^([A-Z0-9_]+)=", ENV_EXAMPLE.read_text(), re.MULTILINE))

    without_default = sorted({name for name, rest in references if not rest.startswith(":-")})
    undocumented = sorted({name for name, _ in references} - documented)
    assert without_default == []
    assert undocumented == []


def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker is None or subprocess.run(
        [docker, "compose", "version"], capture_output=True, check=False
    ).returncode != 0:
        pytest.skip("the Docker Compose plugin is not installed here: `docker compose config` cannot run")
    result = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE_FILE), "config", "-q"],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )

    assert result.returncode == 0, result.stderr


def test_the_image_installs_the_locked_workspace_with_uv_and_runs_as_a_non_root_user() -> None:
    dockerfile = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)

    assert set(stages) == {"python:3.11-slim"}
    assert re.search(r"pip install [^\n]*uv", dockerfile)
    assert 'uv sync --frozen --no-dev --package distillery-cli ${SERVICE:+--extra "$SERVICE"}' in dockerfile
    assert 'PATH="/app/.venv/bin:${PATH}"' in dockerfile
    user = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0"))
    assert "ENTRYPOINT []" in dockerfile
    assert 'CMD ["distillery", "--help"]' in dockerfile


def test_the_image_copies_the_manifest_of_every_workspace_member() -> None:
    workspace = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]
    members = sorted(
        path.parent.relative_to(ROOT).as_posix()
        for pattern in workspace["members"]
        for path in ROOT.glob(f"{pattern}/pyproject.toml")
    )
    dockerfile = DOCKERFILE.read_text()

    missing = [m for m in members if f"COPY {m}/pyproject.toml {m}/" not in dockerfile]
    assert members and missing == []


def test_the_build_context_leaves_out_the_venv_git_and_secrets() -> None:
    ignored = (ROOT / ".dockerignore").read_text().splitlines()

    for entry in (".venv", ".git", ".env"):
        assert entry in ignored
