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
KAFKA_DIR = ROOT / "infra" / "kafka"
SECRETS = (
    "DISTILLERY_POSTGRES_PASSWORD", "DISTILLERY_LANGFUSE_PUBLIC_KEY", "DISTILLERY_LANGFUSE_SECRET_KEY",
    "DISTILLERY_TRAINER_API_KEY", "LANGFUSE_ADMIN_PASSWORD", "LANGFUSE_SALT", "LANGFUSE_ENCRYPTION_KEY",
    "LANGFUSE_NEXTAUTH_SECRET", "LANGFUSE_POSTGRES_PASSWORD", "CLICKHOUSE_PASSWORD", "MINIO_ROOT_PASSWORD",
    "REDIS_AUTH", "KAFKA_ADMIN_PASSWORD",
)

SERVICES = (
    "trace-ingester",
    "cleaner",
    "dataset-builder",
    "finetune-controller",
    "evaluator",
    "rollout-controller",
    "console",
)
ONE_SHOT = {"init"}
PUBLISHING = {"rollout-controller": "8080", "langfuse-web": "3000", "console": "8080"}


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


def test_only_the_routing_api_the_console_and_the_langfuse_ui_are_published(
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


def kafka_properties() -> dict[str, str]:
    lines = (KAFKA_DIR / "server.properties").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_kafka_runs_a_single_kraft_node_without_zookeeper(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    props = kafka_properties()

    assert kafka["image"].startswith("apache/kafka:")
    assert set(props["process.roles"].split(",")) == {"broker", "controller"}
    assert props["controller.quorum.voters"] == f"{props['node.id']}@127.0.0.1:9093"
    assert "SASL_SSL://kafka:9092" in props["advertised.listeners"]
    assert not any("zookeeper" in key for key in props)


def test_services_reach_kafka_postgres_and_langfuse_by_their_compose_names(
    services: dict[str, dict[str, Any]],
) -> None:
    env = services["cleaner"]["environment"]

    assert env["DISTILLERY_KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert re.fullmatch(r"postgresql://distillery:\$\{DISTILLERY_POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432/distillery",
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


def test_every_variable_has_a_default_or_is_a_required_secret_and_is_documented_in_the_env_example() -> None:
    text = COMPOSE_FILE.read_text()
    references = re.findall(r"\$\{([A-Z0-9_]+)([^}]*)\}", text)
    documented = env_example()

    required = {name for name, rest in references if rest.startswith(":?")}
    neither = sorted({name for name, rest in references if not rest.startswith((":-", ":?"))})
    undocumented = sorted({name for name, _ in references} - set(documented))
    assert neither == []
    assert undocumented == []
    assert set(SECRETS) <= required, "a secret with a default is a secret everyone knows"
    assert {name for name in required if documented[name]} == set(), "the example must not supply secrets"


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


# --- docker compose config without a Docker engine: the interpolation rules it applies -----

_VARIABLE = re.compile(r"\$\$|\$\{([A-Za-z0-9_]+)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class MissingVariable(Exception):
    """What `docker compose config` says for ``${VAR:?message}`` when VAR is unset or empty."""


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's substitution: ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error},
    ${VAR?error}, $VAR and $$ (a literal $)."""
    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        value = env.get(name)
        empty_counts = operator is not None and operator.startswith(":")
        missing = value is None or (empty_counts and value == "")
        if operator in (":?", "?") and missing:
            raise MissingVariable(f"required variable {name} is missing a value: {argument}")
        if operator in (":-", "-") and missing:
            return argument
        return value or ""
    return _VARIABLE.sub(replace, text)


def env_example() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z0-9_]+)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE))


def filled_example(**overrides: str) -> dict[str, str]:
    """The env.example with a value of one's own for every secret it leaves empty."""
    env = {name: value or f"secret-of-{name.lower()}" for name, value in env_example().items()}
    return env | overrides


def test_the_interpolation_follows_composes_rules() -> None:
    env = {"SET": "x", "EMPTY": ""}
    assert interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} $SET $$SET", env) == "x d  d x $SET"
    with pytest.raises(MissingVariable, match="EMPTY is missing a value: say so"):
        interpolate("${EMPTY:?say so}", env)
    assert interpolate("${EMPTY?say so}", env) == ""


@pytest.mark.parametrize("secret", SECRETS)
def test_compose_configuration_fails_without_each_secret(secret: str) -> None:
    text = COMPOSE_FILE.read_text()
    interpolate(text, filled_example())  # everything set: accepted

    unset = {k: v for k, v in filled_example().items() if k != secret}
    for env in (unset, filled_example(**{secret: ""})):
        with pytest.raises(MissingVariable, match=f"required variable {secret} is missing"):
            interpolate(text, env)


def test_compose_configuration_fails_with_the_env_example_as_shipped() -> None:
    with pytest.raises(MissingVariable):
        interpolate(COMPOSE_FILE.read_text(), env_example())


def host_bindings(compose_text: str, env: dict[str, str]) -> dict[str, list[str]]:
    """Per service, the host address of each published port once interpolated."""
    services = yaml.safe_load(interpolate(compose_text, env))["services"]
    found: dict[str, list[str]] = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            parts = str(port).split(":")
            found.setdefault(name, []).append(parts[0] if len(parts) == 3 else "0.0.0.0")
    return found


def test_published_ports_listen_on_localhost_unless_the_user_says_otherwise() -> None:
    text = COMPOSE_FILE.read_text()
    default = filled_example()
    default.pop("DISTILLERY_BIND")

    assert host_bindings(text, default) == {name: ["127.0.0.1"] for name in PUBLISHING}
    assert host_bindings(text, filled_example(DISTILLERY_BIND="10.0.0.5")) == {
        name: ["10.0.0.5"] for name in PUBLISHING}


def test_every_distillery_container_talks_sasl_ssl_to_kafka_as_its_own_user(
    services: dict[str, dict[str, Any]],
) -> None:
    users = {}
    for name in (*SERVICES, "trainer", "init"):
        env = services[name]["environment"]
        assert env["DISTILLERY_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
        assert env["DISTILLERY_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
        assert env["DISTILLERY_KAFKA_SSL_CAFILE"] == "/etc/distillery/kafka/ca.crt"
        assert env["DISTILLERY_KAFKA_SASL_PASSWORD"].startswith("${KAFKA_")
        users[name] = env["DISTILLERY_KAFKA_SASL_USERNAME"]
    assert users == {**{name: name for name in (*SERVICES, "trainer")}, "init": "admin"}


def test_the_broker_accepts_clients_only_over_sasl_ssl_and_denies_what_no_acl_allows() -> None:
    props = kafka_properties()
    protocols = dict(item.split(":", 1) for item in props["listener.security.protocol.map"].split(","))
    exposed = [listener for listener in props["listeners"].split(",") if "127.0.0.1" not in listener]

    assert [listener.split(":")[0] for listener in exposed] == ["SASL_SSL"]
    assert protocols["SASL_SSL"] == "SASL_SSL" and props["sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert props["allow.everyone.if.no.acl.found"] == "false"
    assert props["authorizer.class.name"].endswith("StandardAuthorizer")


def test_only_the_rollout_controller_may_write_the_routing_table() -> None:
    acls = (KAFKA_DIR / "acls.sh").read_text()
    start = (KAFKA_DIR / "start.sh").read_text()
    found = re.search(r'^SERVICES="([^"]+)"', start, re.MULTILINE)

    assert found is not None and set(SERVICES) <= set(found.group(1).split())
    assert "ROUTING_TABLE=distillery.routing.table.v1" in acls
    assert "for service in $SERVICES router; do" in start
    assert ('$ACLS --add --allow-principal User:router --operation Read --operation Describe --topic '
            '"$ROUTING_TABLE"') in acls and "User:router --operation Write" not in acls
    assert re.search(r'if \[ "\$service" != rollout-controller \]; then\n\s+\$ACLS --add --deny-principal '
                     r'"User:\$service" --operation Write --topic "\$ROUTING_TABLE"', acls)
