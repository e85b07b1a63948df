"""`make bench`'s runner reads the figures from the lines the benchmark scripts print: a
changed line must show here, not as a silently missing row of the table."""

from __future__ import annotations

import sys

import pytest

from file_modules import bench_module

run_all = bench_module("run_all")

CLEANER = """\
postgresql: 15.20, DISTILLERY_TEST_DATABASE_URL's server, large values compressed with lz4
raw consume-and-decode: 9,426 generations/s (6.4s)
cleaner:                298 generations/s (10.1s, 1 process(es), batch size 1000); {'accepted (indexed)': 2569}; NER cache hit rate 84.8%, sentences 61.5%; 4.82 ms CPU per generation
cleaner with 2 personal-data processes: 496 generations/s (6.1s, 1 process(es) with their workers); NER cache hit rate 84.8%; 4.94 ms CPU per generation
cleaner without named-entity detection: 3,100 generations/s (2.0s, 1 process); cache hit rate 84.8%; 0.88 ms CPU per generation
"""

DATASET = """\
postgresql: 18.6, the embedded server, large values compressed with pglz (this build has no lz4)
stored in 8.4 s (2,369 examples/s, not part of the build)
example store: 10,000 examples/s (1.3 s in add + commit, batches of 2,000; the rest is simulating and counting tokens)
stored examples → broker ack of DatasetBuilt (1 event): 60.0 s (11,648 examples/s)
peak RSS of the build process: 346 MiB (of which 346 MiB after imports)
"""


def _by_name(figures: list) -> dict:
    return {f.name: f for f in figures}


def test_the_cleaners_lines_become_rows_with_their_targets() -> None:
    rows = _by_name(run_all.cleaner_figures(CLEANER))
    assert rows["generations/s, default (NER on)"].value == 298
    assert rows["generations/s, default (NER on)"].met is False
    assert rows["NER on, 2 PII processes"].value == 496
    no_ner = rows["generations/s, NER off"]
    assert (no_ner.value, no_ner.raw_limit) == (3100, 9426)
    assert no_ner.met is True  # 3,100 ≥ 3,000 and 33% ≥ 25% of the raw rate
    assert rows["NER off: generations per CPU-second"].value == pytest.approx(1000 / 0.88)
    assert rows["NER cache hit rate"].value == 84.8
    assert rows["NER sentence cache hit rate"].value == 61.5


def test_the_default_names_its_automatic_worker_processes_and_one_process_is_a_row_of_its_own() -> None:
    out = CLEANER.replace("(10.1s, 1 process(es), batch size", "(10.1s, 1 process(es) with 2 personal-data "
                          "processes each (auto), batch size").replace("cleaner with 2 personal-data processes: 496",
                                                                       "cleaner with 0 personal-data processes: 1,000")
    rows = _by_name(run_all.cleaner_figures(out))
    assert rows["generations/s, default (NER on, auto: 2 PII processes)"].value == 298
    alone = rows["NER on, one process"]
    assert (alone.value, alone.met) == (1000, True)  # the target holds for it too, met at its bound


def test_a_target_is_met_at_its_bound_and_missed_just_past_it() -> None:
    rows = _by_name(run_all.dataset_figures(DATASET))
    assert rows["example store (add + commit)"].met is True  # exactly 10,000 a second
    assert rows["build → DatasetBuilt acked"].met is False  # "under 60 s": 60.0 is not
    assert rows["build peak RSS"].met is True
    slower = DATASET.replace("example store: 10,000", "example store: 9,999")
    assert _by_name(run_all.dataset_figures(slower))["example store (add + commit)"].met is False


def test_the_share_of_the_raw_rate_is_a_target_of_its_own() -> None:
    below_share = CLEANER.replace("raw consume-and-decode: 9,426", "raw consume-and-decode: 12,401")
    no_ner = _by_name(run_all.cleaner_figures(below_share))["generations/s, NER off"]
    assert no_ner.value >= 3000 and no_ner.ratio < 0.25
    assert no_ner.met is False


def test_the_table_names_the_postgresql_server_each_stage_wrote_to() -> None:
    runs = [run_all.StageRun("cleaner", [], 1.0, 0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), output=CLEANER),
            run_all.StageRun("dataset", [], 1.0, 0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), output=DATASET),
            run_all.StageRun("router", [], 1.0, 0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), output="[]")]
    assert run_all.servers(runs).splitlines()[-2:] == [
        "cleaner: 15.20, DISTILLERY_TEST_DATABASE_URL's server, large values compressed with lz4",
        "dataset: 18.6, the embedded server, large values compressed with pglz (this build has no lz4)",
    ]
    assert run_all.servers(runs[2:]) == ""


def test_a_stage_that_prints_none_of_its_lines_fails_the_run() -> None:
    stage = run_all.Stage("dataset", [sys.executable, "-c", "print('nothing useful')"], [], run_all.dataset_figures)
    run = run_all.run_stage(stage, stage.quick)
    assert run.figures == [] and run.error == "printed none of the figures this runner reads"
    assert "MISSED" in run_all.table([run])


def test_a_run_with_named_entities_only_gives_no_ner_off_row() -> None:
    ner_only = "\n".join(line for line in CLEANER.splitlines() if "without named-entity" not in line)
    rows = _by_name(run_all.cleaner_figures(ner_only))
    assert rows["generations/s, default (NER on)"].target == 1000
    assert "generations/s, NER off" not in rows and "generations/s (no NER engine)" not in rows


def test_a_cleaner_without_a_named_entity_engine_is_held_to_the_ner_off_target() -> None:
    older = "raw consume-and-decode: 9,426 generations/s (6.4s)\ncleaner: 3,100 generations/s (2.0s); 0.88 ms CPU\n"
    [row] = [f for f in run_all.cleaner_figures(older) if f.unit == "gen/s"]
    assert (row.name, row.target, row.met) == ("generations/s (no NER engine)", 3000, True)


def test_the_report_ends_with_where_each_profiled_cleaner_run_spent_its_cpu() -> None:
    profiled = CLEANER.replace("raw consume-and-decode", (
        "where the cleaner's CPU went (NER off; py-spy, every thread; stacks in /tmp/p.txt):\n"
        "   26.8%  personal data (patterns, named entities)\n"
        "   15.9%  screening (filters, messages, tokens)\n"
        "raw consume-and-decode"))
    runs = [run_all.StageRun("cleaner-ner-off", [], 1.0, 0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), output=profiled),
            run_all.StageRun("dataset", [], 1.0, 0, (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), output=DATASET)]
    report = run_all.profiles(runs)
    assert report.strip().splitlines() == [
        "cleaner-ner-off: where the cleaner's CPU went (NER off; py-spy, every thread; stacks in /tmp/p.txt):",
        "   26.8%  personal data (patterns, named entities)",
        "   15.9%  screening (filters, messages, tokens)"]
    assert run_all.profiles(runs[1:]) == ""


def _saved_run(commit: str, mode: str = "quick", stage: str = "any", **values: float) -> dict:
    """A saved run's JSON with one figure per keyword (router's control as ``choose``)."""
    names = {"choose": ("router", "choose() in process", "calls/s", True),
             "store": ("dataset-builder", "example store (add + commit)", "examples/s", True),
             "build": ("dataset-builder", "build → DatasetBuilt acked", "s", False),
             "ingest": ("trace-ingester", "sandbox → traces.raw", "gen/s", True)}
    figures = [{"stage": names[k][0], "name": names[k][1], "value": v, "unit": names[k][2],
                "higher_is_better": names[k][3]} for k, v in values.items()]
    return {"commit": commit, "mode": mode, "finished_at": "20261206T000000Z",
            "stages": [{"stage": stage, "figures": figures}]}


def test_a_comparison_says_better_or_worse_in_each_figures_own_direction() -> None:
    before = _saved_run("aaa", choose=1_000_000, store=10_000, build=10.0, ingest=1000)
    after = _saved_run("bbb", choose=1_020_000, store=11_000, build=11.0, ingest=1099)
    rendered = run_all.comparison(before, after)
    lines = rendered.splitlines()
    store = next(line for line in lines if "example store" in line)
    build = next(line for line in lines if "build → DatasetBuilt" in line)
    ingest = next(line for line in lines if "sandbox → traces.raw" in line)
    assert store.split()[-2:] == ["+10%", "better"]  # a rate up, by 10%
    assert build.split()[-2:] == ["+10%", "worse"]  # a time up
    assert ingest.split()[-2:] == ["+10%", "≈"]  # 9.9%: under what runs of one commit differ by
    assert "aaa" in rendered.splitlines()[1] and "bbb" in rendered.splitlines()[1]
    assert rendered.splitlines()[-1].startswith("the machine ran at the same speed (router choose() +2%")


def test_a_figure_only_one_run_has_is_listed_as_new_or_gone() -> None:
    rendered = run_all.comparison(_saved_run("aaa", choose=1e6, store=10_000), _saved_run("bbb", choose=1e6, build=9.0))
    assert next(line for line in rendered.splitlines() if "build → DatasetBuilt" in line).endswith("new")
    assert next(line for line in rendered.splitlines() if "example store" in line).endswith("gone")


def test_a_stage_the_new_run_left_out_is_not_listed_as_gone() -> None:
    before = _saved_run("aaa", stage="dataset", store=10_000)
    before["stages"].append({"stage": "router", "figures": _saved_run("aaa", choose=1e6)["stages"][0]["figures"]})
    only_router = _saved_run("bbb", stage="router", choose=1e6)
    rendered = run_all.comparison(before, only_router)
    assert "example store" not in rendered
    assert "choose() in process" in rendered
    failed_router = {**only_router, "stages": [{"stage": "router", "figures": []}]}
    assert next(line for line in run_all.comparison(before, failed_router).splitlines()
                if "choose() in process" in line).endswith("gone")


def test_a_comparison_warns_when_the_control_says_the_machine_ran_at_another_speed() -> None:
    slower = run_all.comparison(_saved_run("aaa", choose=1_000_000), _saved_run("bbb", choose=890_000))
    assert "the machine's speed changed between the runs: router choose() moved -11%" in slower
    within = run_all.comparison(_saved_run("aaa", choose=1_000_000), _saved_run("bbb", choose=900_000))
    assert "the machine ran at the same speed" in within
    unknown = run_all.comparison(_saved_run("aaa", store=1.0), _saved_run("bbb", store=1.0))
    assert "whether the machine ran at the same speed is unknown" in unknown


def test_compare_prints_two_saved_runs_and_a_file_that_is_none_is_one_line(tmp_path, capsys) -> None:
    import json

    old, new, bad = tmp_path / "old.json", tmp_path / "new.json", tmp_path / "bad.json"
    old.write_text(json.dumps(_saved_run("aaa", choose=1e6, store=10_000)))
    new.write_text(json.dumps(_saved_run("bbb", choose=1e6, store=12_000)))
    bad.write_text("{not json")
    assert run_all.main(["--compare", str(old), str(new)]) == 0
    assert "+20%" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        run_all.main(["--compare", str(old), str(bad)])
    assert f"{bad} is not a saved benchmark run" in capsys.readouterr().err


def test_a_run_is_compared_with_the_last_one_of_its_own_mode_only(tmp_path) -> None:
    import json

    latest = tmp_path / "latest.json"
    latest.write_text(json.dumps(_saved_run("aaa", mode="full", choose=1e6)))
    assert run_all._previous_run(latest, "quick") is None
    assert run_all._previous_run(latest, "full")["commit"] == "aaa"
    latest.write_text("{}")
    assert run_all._previous_run(latest, "full") is None
    assert run_all._previous_run(tmp_path / "missing.json", "quick") is None
