"""Variables read outside the settings classes.

Options of the ``distillery`` command that take an environment variable are found in the
command tree itself; the few variables code reads directly are listed here, and a unit
test fails when the source mentions a ``DISTILLERY_*`` name that no list covers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from distillery_cli.config_fields import SECRET, UNSET, format_value, type_name
from distillery_cli.config_registry import Variable

DIRECT = (
    Variable("DISTILLERY_PRICES", UNSET, "JSON object",
             "Prices per 1M tokens by model family, laid over the built-in table (DESIGN.md's), e.g. "
             '{"gpt-4.1": {"input": 2, "cached_input": 0.5, "output": 8}}.'),
    Variable("DISTILLERY_CRASH_AT", UNSET, "str",
             "Tests only: the crash point at which the process kills itself (at-least-once tests)."),
    Variable("DISTILLERY_CRASH_MARKER", UNSET, "path",
             "Tests only: file that makes DISTILLERY_CRASH_AT fire once across restarts."),
    Variable("DISTILLERY_TEST_DATABASE_URL", UNSET, "secret",
             "Tests only: a PostgreSQL server for the tests; unset: an embedded one.", secret=True),
    Variable("DISTILLERY_TEST_BROKER", UNSET, "tansu | kafka",
             "Tests only: the broker of integration and end-to-end tests; unset: Apache Kafka (with "
             "PostgreSQL) in containers when a Docker engine answers, else Tansu and an embedded PostgreSQL."),
    Variable("DISTILLERY_SOAK_SECONDS", "45", "float",
             "Tests only: how long the chaos soak kills services and feeds bad records (make soak: 360)."),
    Variable("DISTILLERY_SPECS_DIR", UNSET, "path",
             "Tests only: where the sandbox tests find the vendor API specifications; "
             "unset: shared/specs beside the repository."),
    Variable("DISTILLERY_IMAGE_PREFIX", "distillery", "str",
             "docker compose only: images are <prefix>-<service>:<tag>, one per service."),
    Variable("DISTILLERY_IMAGE_TAG", "local", "str",
             "docker compose only: the tag of every Distillery image."),
    Variable("DISTILLERY_POSTGRES_PASSWORD", SECRET, "secret",
             "docker compose only: password of the distillery PostgreSQL user.", secret=True),
    Variable("DISTILLERY_BIND", "127.0.0.1", "str",
             "docker compose only: host address the published ports (routing API, Langfuse UI) listen on."),
    Variable("DISTILLERY_ROUTING_PORT", "8080", "int",
             "docker compose only: host port of the rollout-controller's routing API."),
    Variable("DISTILLERY_CONSOLE_PORT", "8700", "int",
             "docker compose only: host port of the operator console's pages."),
    Variable("DISTILLERY_MODELS_DIR", "./models", "path",
             "docker compose only (students profile): host folder of base-model checkpoints, /models in "
             "the trainer and vLLM."),
    Variable("DISTILLERY_STUDENT_BASE_MODEL", "Qwen2.5-1.5B-Instruct", "str",
             "docker compose only (students profile): the checkpoint under /models vLLM serves."),
    Variable("DISTILLERY_STUDENT_BASE_NAME", "student-base", "str",
             "docker compose only (students profile): the name vLLM serves the base model under."),
)


def other_variables() -> tuple[Variable, ...]:
    """The CLI's environment-backed options, then the variables code reads directly."""
    from typer.main import get_command

    from distillery_cli.main import app

    found: dict[str, tuple[list[str], Any]] = {}
    for path, param in _envvar_params(get_command(app), "distillery"):
        for name in _names(param.envvar):
            found.setdefault(name, ([], param))[0].append(path)
    options = [_option_variable(name, _common_path(paths), param) for name, (paths, param) in found.items()]
    return tuple(sorted(options, key=lambda v: v.name)) + DIRECT


def _envvar_params(command: Any, path: str) -> Iterator[tuple[str, Any]]:
    for param in command.params:
        if param.envvar:
            yield path, param
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _envvar_params(sub, f"{path} {name}")


def _common_path(paths: list[str]) -> str:
    """``distillery report, distillery rollout status/pause`` for an option commands share."""
    parents: dict[str, list[str]] = {}
    for path in paths:
        head, _, last = path.rpartition(" ")
        parents.setdefault(head, []).append(last)
    return ", ".join(f"{head} {'/'.join(lasts)}" for head, lasts in parents.items())


def _names(envvar: Any) -> list[str]:
    return [envvar] if isinstance(envvar, str) else list(envvar)


def _option_variable(name: str, path: str, param: Any) -> Variable:
    option = max(param.opts, key=len)
    default = UNSET if param.default in (None, "") else format_value(param.default)
    help_text = " ".join((getattr(param, "help", None) or "").split())
    return Variable(name=name, default=default, type=_param_type(param),
                    meaning=f"`{path} {option}`: {help_text}".strip())


def _param_type(param: Any) -> str:
    """Typer keeps the annotation on its parameters; plain click has a named type."""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        return type_name(descriptor.annotation)
    return getattr(getattr(param, "type", None), "name", "str")
