"""Mutation testing of the decisions that guard users (`make mutate`).

mutmut 3 expects one package in ./src and its tests in ./tests, and imports the mutated copy by
putting mutants/src first on sys.path. Distillery is a uv workspace of many src layouts, so for
each guarded module this driver stages exactly that shape in .distillery/mutate/<name>/: a copy
of the module's own package (only the guarded files are mutated, `only_mutate`), a copy of the
package's unit-test folder (only the module's own test files run), and a pyproject.toml holding
the mutmut and pytest settings. Every other workspace package is imported as installed, unmutated.
Nothing in the work tree is ever rewritten, so other people's test runs never meet a mutant.

Run from the repository root: `.venv/bin/python tools/mutate.py [name ...] [--max-children N]`.
It prints, per module, mutants / killed / survived / timeout / other / score and lists every
survivor with its diff; docs/mutation.md explains each survivor that is an equivalent mutant.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE_ROOT = ROOT / ".distillery" / "mutate"
MUTMUT = Path(sys.executable).with_name("mutmut")
TARGET_SCORE = 90.0

# mutmut's exit codes (mutmut.stats.status_by_exit_code), folded into the table's columns.
KILLED = {1, 3, 37}
SURVIVED = {0}
TIMEOUT = {36, -24, 24, 152, 255}


@dataclass(frozen=True)
class Module:
    """One guarded decision: the files mutated and the unit tests that must catch the mutants."""

    name: str
    package: str  # the package's folder, relative to the repository root
    files: tuple[str, ...]  # relative to the package folder
    tests: str  # the package's unit-test folder
    test_files: tuple[str, ...]


CLEANER = "services/cleaner/src/distillery_cleaner"
MODULES = (
    Module(
        "evaluator-gates",
        "services/evaluator/src/distillery_evaluator",
        ("domain/gates.py",),
        "services/evaluator/tests",
        ("test_gates.py", "test_gate_report.py"),
    ),
    Module(
        "evaluator-measures",
        "services/evaluator/src/distillery_evaluator",
        ("domain/metrics.py", "domain/stats.py", "domain/judging.py"),
        "services/evaluator/tests",
        ("test_role_measures.py", "test_gates.py", "test_judge_position_bias.py", "test_scored_items.py",
         "test_offline_run.py"),
    ),
    Module("gate-statistics", "shared/src/distillery_runtime", ("stats.py",), "shared/tests", ("test_stats.py",)),
    Module(
        "evaluator-hallucination",
        "services/evaluator/src/distillery_evaluator",
        ("domain/hallucination.py", "domain/claims.py"),
        "services/evaluator/tests",
        ("test_hallucination_checker.py",),
    ),
    Module(
        "rollout-gates",
        "services/rollout_controller/src/distillery_rollout_controller",
        ("domain/gates.py", "domain/decide.py"),
        "services/rollout_controller/tests",
        ("test_gates.py", "test_gate_report.py"),
    ),
    Module(
        "rollout-plan",
        "services/rollout_controller/src/distillery_rollout_controller",
        ("domain/plan.py", "domain/routing.py", "domain/rollout.py"),
        "services/rollout_controller/tests",
        ("test_plan.py", "test_rollout_rules.py", "test_rollout_flow.py", "test_arm_providers.py"),
    ),
    Module(
        "router",
        "router/src/distillery_router",
        ("router.py",),
        "router/tests",
        ("test_choose.py", "test_router_state.py"),
    ),
    Module(
        "dataset-split",
        "services/dataset_builder/src/distillery_dataset_builder",
        ("domain/split.py",),
        "services/dataset_builder/tests",
        ("test_split.py",),
    ),
    Module(
        "dataset-leakage",
        "services/dataset_builder/src/distillery_dataset_builder",
        ("domain/plan.py", "domain/neardup.py"),
        "services/dataset_builder/tests",
        ("test_plan.py", "test_near_duplicates.py", "test_manifest_and_golden.py"),
    ),
    Module(
        "dataset-selection",
        "services/dataset_builder/src/distillery_dataset_builder",
        ("domain/selection.py",),
        "services/dataset_builder/tests",
        ("test_selection.py",),
    ),
    Module(
        "dataset-validation",
        "services/dataset_builder/src/distillery_dataset_builder",
        ("domain/validation.py", "domain/example_rules.py", "domain/message_rules.py", "domain/tool_rules.py",
         "domain/limits.py", "domain/jsonl_scan.py"),
        "services/dataset_builder/tests",
        ("test_issue_codes.py", "test_message_rules.py", "test_tool_rules.py", "test_validation_report.py",
         "test_records.py"),
    ),
    Module(
        "cleaner-filters",
        CLEANER,
        ("domain/filters.py",),
        "services/cleaner/tests",
        ("test_filter_details.py", "test_filters.py"),
    ),
    Module(
        "cleaner-truncation", CLEANER, ("domain/truncation.py",), "services/cleaner/tests", ("test_truncation.py",)
    ),
    Module(
        "cleaner-screen",
        CLEANER,
        ("domain/screen.py",),
        "services/cleaner/tests",
        ("test_filters.py", "test_screen.py", "test_dedup_resolve.py"),
    ),
    Module(
        "cleaner-dedup",
        CLEANER,
        ("domain/dedup.py", "domain/fingerprint.py"),
        "services/cleaner/tests",
        ("test_dedup.py", "test_dedup_resolve.py", "test_screen.py", "test_fingerprint.py"),
    ),
    Module(
        "contracts-shared-tools",
        "contracts/src/distillery_contracts",
        ("shared_tools.py",),
        "contracts/tests",
        ("test_shared_tools.py",),
    ),
    Module("cleaner-pii", CLEANER, ("domain/pii.py", "domain/spoken.py"), "services/cleaner/tests",
           ("test_pii.py", "test_pii_detection.py", "test_spoken.py")),
    Module(
        "cleaner-examples",
        CLEANER,
        ("domain/normalise.py", "domain/messages.py", "domain/text.py", "domain/events.py"),
        "services/cleaner/tests",
        ("test_example_rules.py", "test_normalise.py", "test_events.py", "test_screen.py", "test_filters.py",
         "test_filter_details.py", "test_batch_priming.py", "test_handlers.py"),
    ),
    Module(
        "cleaner-recognisers",
        CLEANER,
        ("domain/recognisers.py",),
        "services/cleaner/tests",
        ("test_recognisers.py", "test_phone_prefilter.py", "test_pii.py", "test_pii_detection.py"),
    ),
    Module(
        "rollout-authority",
        "services/rollout_controller/src/distillery_rollout_controller",
        ("domain/authority.py",),
        "services/rollout_controller/tests",
        ("test_command_authority.py",),
    ),
    Module(
        "operator-auth",
        "shared/src/distillery_runtime",
        ("auth.py", "signing.py"),
        "shared/tests",
        ("test_auth.py", "test_signing.py", "test_browser_sessions.py"),
    ),
    Module(
        "delivery-rules",
        "shared/src/distillery_runtime",
        ("consumer.py", "infra.py", "deadletter.py"),
        "shared/tests",
        ("test_delivery_rules.py", "test_consumer.py", "test_infra.py", "test_pipeline.py", "test_event_size.py"),
    ),
    Module(
        "ingester-capture",
        "services/trace_ingester/src/distillery_trace_ingester",
        ("domain/windows.py", "domain/mapping.py", "domain/chat.py", "domain/measures.py"),
        "services/trace_ingester/tests",
        ("test_mapping_edges.py", "test_windows_and_backfills.py", "test_mapping.py", "test_capture.py",
         "test_bad_records.py"),
    ),
    Module(
        "finetune-jobs",
        "services/finetune_controller/src/distillery_finetune_controller",
        ("domain/job.py", "domain/status.py", "domain/registry.py"),
        "services/finetune_controller/tests",
        ("test_registry_rules.py", "test_domain_rules.py", "test_fallback.py", "test_model_releases.py",
         "test_worker_lifecycle.py", "test_worker_failures.py", "test_loss_curve.py"),
    ),
    Module("caller-erasure", "shared/src/distillery_runtime", ("erasure.py",), "shared/tests", ("test_erasure.py",)),
    Module(
        "router-signature",
        "router/src/distillery_router",
        ("signature.py",),
        "router/tests",
        ("test_table_signatures.py",),
    ),
    Module(
        "router-follower",
        "router/src/distillery_router",
        ("follower.py", "http_source.py", "table.py"),
        "router/tests",
        ("test_follower.py", "test_follower_edges.py", "test_kafka_source.py", "test_route_table.py",
         "test_fuzz_tables.py", "test_table_signatures.py"),
    ),
    Module(
        "console-steering",
        "services/console/src/distillery_console",
        ("services.py", "domain/data.py"),
        "services/console/tests",
        ("test_steering_rules.py", "test_pages.py", "test_data_page.py", "test_read_model.py", "test_privacy.py",
         "test_domain.py"),
    ),
    Module("trainer-data-check", "students/src/distillery_students", ("domain/check.py",), "students/tests",
           ("test_check.py",)),
    Module(
        "lifecycle-guard",
        "services/finetune_controller/src/distillery_finetune_controller",
        ("domain/lifecycle.py",),
        "services/finetune_controller/tests",
        ("test_lifecycle_guard.py", "test_lifecycle_edges.py"),
    ),
    Module("model-calendar", "shared/src/distillery_runtime", ("model_calendar.py",), "shared/tests",
           ("test_model_calendar.py",)),
)


@dataclass
class Score:
    module: Module
    counts: dict[str, int]
    survivors: list[tuple[str, str]]  # (mutant name, diff)
    seconds: float
    error: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def score(self) -> float:
        return 100.0 * self.counts["killed"] / self.total if self.total else 0.0


def _toml_value(value: object) -> str:
    # JSON strings, numbers, booleans and lists of them are valid TOML values.
    return json.dumps(value)


def _pytest_options() -> dict[str, object]:
    root = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    options = dict(root["tool"]["pytest"]["ini_options"])
    options.pop("testpaths", None)
    options["addopts"] = "--import-mode=importlib -p no:cacheprovider"
    return options


def stage(module: Module) -> Path:
    """Lay out one module as mutmut expects it: ./src/<package>, ./tests, ./pyproject.toml."""
    # One folder per run: two people mutating the same module at once must not share it.
    where = STAGE_ROOT / f"{module.name}.{os.getpid()}"
    shutil.rmtree(where, ignore_errors=True)
    package = ROOT / module.package
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(package, where / "src" / package.name, ignore=ignore)
    shutil.copytree(ROOT / module.tests, where / "tests", ignore=ignore)
    mutated = [f"src/{package.name}/{f}" for f in module.files]
    selection = [f"tests/{t}" for t in module.test_files]
    lines = [
        "[tool.mutmut]",
        'source_paths = ["src"]',
        f"only_mutate = {_toml_value(mutated)}",
        f"pytest_add_cli_args_test_selection = {_toml_value(selection)}",
        'pytest_add_cli_args = ["-q", "-x", "-p", "no:randomly"]',
        "use_git_change_detection = false",
        "",
        "[tool.pytest.ini_options]",
    ]
    lines += [f"{key} = {_toml_value(value)}" for key, value in _pytest_options().items()]
    (where / "pyproject.toml").write_text("\n".join(lines) + "\n", "utf-8")
    return where


def _results(where: Path, module: Module) -> tuple[dict[str, int], list[str]]:
    counts = {"killed": 0, "survived": 0, "timeout": 0, "other": 0}
    survivors = []
    package = Path(module.package).name
    for f in module.files:
        meta = where / "mutants" / "src" / package / (f + ".meta")
        exit_codes = json.loads(meta.read_text("utf-8"))["exit_code_by_key"]
        for name, code in sorted(exit_codes.items()):
            if code in KILLED:
                counts["killed"] += 1
            elif code in SURVIVED:
                counts["survived"] += 1
                survivors.append(name)
            elif code in TIMEOUT:
                counts["timeout"] += 1
            else:  # no tests, not checked, suspicious, segfault: all count against the score
                counts["other"] += 1
                survivors.append(name)
    return counts, survivors


def run(module: Module, max_children: int) -> Score:
    started = time.monotonic()
    where = stage(module)
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [str(MUTMUT), "run", "--max-children", str(max_children)],
        cwd=where,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    try:
        counts, names = _results(where, module)
    except (FileNotFoundError, KeyError, json.JSONDecodeError) as error:
        tail = (done.stdout + done.stderr).strip().splitlines()[-15:]
        return Score(module, {}, [], seconds, f"mutmut failed ({error}):\n" + "\n".join(tail))
    survivors = []
    for name in names:
        shown = subprocess.run([str(MUTMUT), "show", name], cwd=where, env=env, capture_output=True, text=True)
        survivors.append((name, shown.stdout.strip()))
    return Score(module, counts, survivors, seconds)


def print_table(scores: list[Score]) -> None:
    header = f"{'module':<20} {'mutants':>7} {'killed':>6} {'survived':>8} {'timeout':>7} {'other':>5} {'score':>7}"
    print(header)
    print("-" * len(header))
    for s in scores:
        if s.error:
            print(f"{s.module.name:<20} ERROR")
            continue
        c = s.counts
        print(
            f"{s.module.name:<20} {s.total:>7} {c['killed']:>6} {c['survived']:>8} {c['timeout']:>7} "
            f"{c['other']:>5} {s.score:>6.1f}%"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="modules to run (default: all): " + ", ".join(m.name for m in MODULES))
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--quiet", action="store_true", help="list survivors by name, without their diffs")
    parser.add_argument("--keep", action="store_true", help="keep .distillery/mutate/<module>.<pid>/ to inspect")
    args = parser.parse_args(argv)
    known = {m.name: m for m in MODULES}
    unknown = [n for n in args.names if n not in known]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in args.names] if args.names else list(MODULES)

    scores = []
    for module in chosen:
        print(f"== {module.name}: {', '.join(module.files)} against {', '.join(module.test_files)}", flush=True)
        score = run(module, args.max_children)
        scores.append(score)
        if not args.keep:
            shutil.rmtree(STAGE_ROOT / f"{module.name}.{os.getpid()}", ignore_errors=True)
        if score.error:
            print(score.error, flush=True)
            continue
        print(f"   {score.total} mutants, {score.score:.1f}% killed in {score.seconds:.0f}s", flush=True)
        for name, diff in score.survivors:
            print(f"   survived: {name}" if args.quiet else f"   survived: {diff}", flush=True)
    print()
    print_table(scores)
    below = [s.module.name for s in scores if s.error or s.score < TARGET_SCORE]
    if below:
        print(f"\nbelow {TARGET_SCORE:.0f}% (see docs/mutation.md for the survivors known to be equivalent): "
              + ", ".join(below))
    return 1 if any(s.error for s in scores) else 0


if __name__ == "__main__":
    sys.exit(main())
