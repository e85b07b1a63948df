"""How `make test` shares two cores between its two pytest-xdist workers.

Most integration and end-to-end tests wait on consumer groups, polls and subprocesses, so two
of them run side by side well. The tests that train or serve SmolLM2 on the CPU each want both
cores: `--dist loadgroup` sends them to one worker as one unit, run in turn while the other
worker takes everything else (their session-scoped model fixtures are then built once), and
every other file is a unit of its own (its module fixtures are built once). The demo loop,
whose gates measure latency, is marked ``serial`` instead: `make test` runs it alone after.

pytest-xdist 3.8's own ``xdist_group`` marks do not work under pytest 9 (it renames the node
ids through an attribute pytest 9 no longer reads), so the scheduler below groups by file.
"""

from __future__ import annotations

from xdist.scheduler import LoadScopeScheduling

CPU_BOUND_MODEL = "cpu-bound-model"
CPU_BOUND_FILES = frozenset({
    "tests/integration/test_students_learning.py", "tests/integration/test_students_resume.py",
    "tests/integration/test_students_check.py",
    "tests/integration/test_trainer_service.py", "tests/e2e/test_selfhosted_student.py",
})


class CpuBoundFirst(LoadScopeScheduling):
    """Units of work: the CPU-bound files together (the largest unit, so it starts first), and
    every other file alone."""

    def _split_scope(self, nodeid: str) -> str:
        path = nodeid.split("::", 1)[0]
        return CPU_BOUND_MODEL if path in CPU_BOUND_FILES else path
