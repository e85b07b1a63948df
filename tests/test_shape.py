"""One shape for every service (docs/architecture.md), checked on the source itself.

These run without infrastructure, in `make test-unit` too: a new service that skips the
shape, a handler that filters with ``isinstance``, a production package importing the
simulator or a CLI reaching into a service's adapters fails here, with the file named.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SERVICES = sorted(p for p in (REPO / "services").iterdir() if (p / "pyproject.toml").exists())
PACKAGES = {s.name: next((s / "src").glob("distillery_*")) for s in SERVICES}
LAYERS = ("handlers.py", "services.py", "views.py")


def by_service(test):  # noqa: ANN001, ANN201 - a decorator for the tests below
    return pytest.mark.parametrize("service", sorted(PACKAGES), ids=str)(test)


@by_service
def test_every_service_has_the_same_folders(service: str) -> None:
    package = PACKAGES[service]
    expected = [*LAYERS, "app.py", "config.py", "adapters/__init__.py", "adapters/fakes.py", "domain/__init__.py"]
    assert [name for name in expected if not (package / name).exists()] == []


@by_service
def test_fakes_live_only_in_adapters_fakes(service: str) -> None:
    package = PACKAGES[service]
    misplaced = [
        f"{path.relative_to(REPO)}: class {node.name}"
        for path in package.rglob("*.py") if path != package / "adapters" / "fakes.py"
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef) and re.match(r"(Fake|InMemory)", node.name)
    ]
    assert misplaced == []


@by_service
def test_handlers_only_translate_typed_deliveries(service: str) -> None:
    source = (PACKAGES[service] / "handlers.py").read_text()
    problems = [pattern for pattern in (r"\bisinstance\(", r"\bcast\(", r"# type: ignore", r"\bAny\b",
                                        r"Delivery\](?!\])", r"list\[Delivery\]", r"\bSql[A-Z]\w+\(")
                if re.search(pattern, source)]
    assert problems == [], f"{service}/handlers.py holds {problems}: handlers receive typed deliveries " \
                           "and injected stores (see docs/architecture.md)"


@by_service
def test_no_production_package_depends_on_the_simulator(service: str) -> None:
    package = PACKAGES[service]
    importers = [str(p.relative_to(REPO)) for p in package.rglob("*.py") if "distillery_sandbox" in p.read_text()]
    assert importers == []
    project = tomllib.loads((REPO / "services" / service / "pyproject.toml").read_text())["project"]
    assert not [d for d in project.get("dependencies", []) if d.startswith("distillery-sandbox")]


def test_the_cli_reads_services_through_their_views_and_commands_only() -> None:
    service_modules = "|".join(p.name for p in PACKAGES.values())
    reach_in = re.compile(rf"^\s*(from|import) ({service_modules})\.(adapters|domain)\b", re.M)
    found = [f"{p.relative_to(REPO)}: {m.group(0).strip()}" for p in (REPO / "cli" / "src").rglob("*.py")
             for m in reach_in.finditer(p.read_text())]
    assert found == []


def test_handlers_services_and_views_type_check() -> None:
    files = [str(PACKAGES[s] / layer) for s in sorted(PACKAGES) for layer in LAYERS if (PACKAGES[s] / layer).exists()]
    files.append(str(REPO / "shared" / "src" / "distillery_runtime"))
    result = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", *files],
                            cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
