"""A finished run keeps the prompts and answers it quotes no longer than its retention
(DISTILLERY_EVALUATOR_RUN_ITEM_RETENTION_DAYS): its items, answers and scores go, and its report
loses its examples but keeps the verdict, gates and metrics; a run in progress keeps everything."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from evaluator_support import STUDENT, golden_items, make_evaluator, with_student, wrong_prices

from distillery_evaluator.adapters.fakes import FakeChatClient
from distillery_evaluator.domain.results import Answer
from distillery_evaluator.report import EXAMPLES_REMOVED, HALLUCINATED_HEADING, strip_examples
from distillery_evaluator.services import forget_old_run_details

RETENTION = timedelta(days=180)


async def finished_run(repo, request_, tmp_path) -> str:
    """Carry the run to its verdict; returns its report."""
    await repo.create_run(request_, None)
    assert await make_evaluator(repo, FakeChatClient(with_student(wrong_prices)), tmp_path).run_next()
    return (tmp_path / "reports" / request_.run_id / "report.md").read_text()


async def test_a_run_finished_longer_ago_than_the_retention_loses_its_items_and_its_reports_examples(
        repo, request_, tmp_path):
    report = await finished_run(repo, request_, tmp_path)
    finished = repo.runs[request_.run_id].completed_at
    assert HALLUCINATED_HEADING in report and repo.run_items[request_.run_id]

    rows = await forget_old_run_details(repo, tmp_path / "reports", RETENTION, 10_000,
                                        finished + RETENTION + timedelta(seconds=1))

    assert rows > 0
    assert (await repo.items(request_.run_id), await repo.answers(request_.run_id),
            await repo.scores(request_.run_id)) == ([], [], [])
    stripped = (tmp_path / "reports" / request_.run_id / "report.md").read_text()
    assert HALLUCINATED_HEADING not in stripped and "Least similar" not in stripped
    assert stripped.startswith(report[:report.index(HALLUCINATED_HEADING)])  # verdict, gates, metrics
    assert stripped.endswith(EXAMPLES_REMOVED)
    assert repo.runs[request_.run_id].result["outcome"] == "failed"  # the verdict stays


async def test_a_run_finished_within_the_retention_keeps_its_items_and_its_report(repo, request_, tmp_path):
    report = await finished_run(repo, request_, tmp_path)
    finished = repo.runs[request_.run_id].completed_at

    rows = await forget_old_run_details(repo, tmp_path / "reports", RETENTION, 10_000,
                                        finished + RETENTION - timedelta(seconds=1))

    assert rows == 0 and await repo.items(request_.run_id) and await repo.answers(request_.run_id)
    assert (tmp_path / "reports" / request_.run_id / "report.md").read_text() == report


async def test_a_run_in_progress_keeps_what_it_resumes_from_however_old(repo, request_, tmp_path):
    await repo.create_run(request_, None)
    await repo.claim_run(datetime.now(UTC), timedelta(seconds=60))
    await repo.save_items(request_.run_id, golden_items())
    await repo.save_answers(request_.run_id, [Answer(i.item_id, "candidate", STUDENT, "noted") for i in golden_items()])

    rows = await forget_old_run_details(repo, tmp_path / "reports", RETENTION, 10_000,
                                        datetime.now(UTC) + 10 * RETENTION)

    assert rows == 0
    assert len(await repo.items(request_.run_id)) == len(await repo.answers(request_.run_id)) == len(golden_items())


def test_stripping_a_report_twice_or_a_missing_one_is_harmless(tmp_path):
    folder = tmp_path / "eval-1"
    folder.mkdir()
    (folder / "report.md").write_text(f"# Evaluation\n\n## Gates\n\n{HALLUCINATED_HEADING} (1)\n\n| my card |\n")

    assert strip_examples(tmp_path, "eval-1") is True
    once = (folder / "report.md").read_text()
    assert strip_examples(tmp_path, "eval-1") is False and (folder / "report.md").read_text() == once
    assert "my card" not in once and once.startswith("# Evaluation\n\n## Gates\n\n")
    assert strip_examples(tmp_path, "eval-unknown") is False
