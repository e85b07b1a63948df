"""The console in real Chromium, fed a recorded cycle through a real broker, beside a real
rollout-controller: what an operator sees, steering that reaches the controller, answers
that stay text, the Data page (an example's Langfuse trace, a rejection's reason, a dead
letter republished to its topic by the operator), a rebuild by replay in a ``distillery console`` process (the demo's way of
starting it, whose printed one-time link signs a browser in), at 1280×800 and 390×844, with no JavaScript error.
The browser signs in through the sign-in page first; programs send the bearer token.

Screenshots of every page go to test-artifacts/console/ (not committed).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from browser import ARGS, ARTIFACTS, VIEWPORTS, chromium_path
from db_helpers import create_database, drop_database
from kafka_helpers import read_topic, wait_until
from processes import service_env, start_process

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "services" / "console" / "tests"))

from recorded_streams import (  # noqa: E402
    ACCEPTED_TRACE,
    CYCLE,
    HOLD_INTERVAL,
    ITEMS,
    LETTER_EVENT_ID,
    RUN,
    T0,
    hallucinated,
    recorded_cycle,
)

from distillery_console.app import build as build_console  # noqa: E402
from distillery_console.config import ConsoleSettings  # noqa: E402
from distillery_cli.localstack.procs import free_port  # noqa: E402
from distillery_contracts.registry import FINETUNE_JOBS, ROUTING_TABLE, TRACES_RAW, all_topic_specs  # noqa: E402
from distillery_contracts.samples import sample_finetune_job_changed  # noqa: E402
from distillery_rollout_controller.app import build as build_controller  # noqa: E402
from distillery_rollout_controller.config import RolloutSettings  # noqa: E402
from distillery_runtime.kafka import ensure_topics, publish_events  # noqa: E402
from distillery_runtime.service import ServiceRunner  # noqa: E402
from distillery_runtime.settings import RuntimeSettings  # noqa: E402
from distillery_runtime.signing import SigningKey, write_key_file  # noqa: E402

pytestmark = pytest.mark.integration
OPERATOR = "ana@clinic"
TOKEN = "console-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}  # the services' metrics, the controller's API and the console's pages
LANGFUSE = "http://langfuse.test"
KEEP_RECORDED = {f"{table}_retention_days": 36_500 for table in ("item", "example", "dead_letter")}


class Running:
    """A service run in this process until ``stop``."""

    def __init__(self, runner: ServiceRunner) -> None:
        self.runner = runner
        self.task = asyncio.create_task(runner.run())

    async def ready(self, service: str) -> str:
        async def up() -> str | None:
            if self.task.done():
                self.task.result()
            if not self.runner.http:
                return None
            url = f"http://127.0.0.1:{self.runner.http.port}"
            try:
                async with httpx.AsyncClient(base_url=url, timeout=5, headers=AUTH) as client:
                    metrics = (await client.get("/metrics")).text
            except httpx.HTTPError:
                return None
            return url if f'distillery_ready{{service="{service}"}} 1.0' in metrics else None

        url = await wait_until(up, timeout=90, interval=0.2)
        assert url, f"{service} did not become ready"
        return url

    async def stop(self) -> None:
        self.runner.stopping.set()
        await asyncio.wait_for(self.task, 60)


def runtime(broker, database_url: str, home: Path) -> RuntimeSettings:  # noqa: ANN001
    return RuntimeSettings(kafka_bootstrap=broker.bootstrap, database_url=database_url, home=home,
                           api_tokens=TOKEN, consumer_batch_timeout_ms=50, outbox_poll_s=0.1, handler_backoff_s=0.05)


async def text_of(url: str, path: str) -> str | None:
    async with httpx.AsyncClient(base_url=url, timeout=10, headers=AUTH) as client:
        response = await client.get(path)
    return response.text if response.status_code == 200 else None


async def sign_in(browser, console_url: str, errors: list[str]):  # noqa: ANN001, ANN201
    """Signs in through the page as an operator does (a wrong token first), and returns the
    session for the other contexts, which need not type it again."""
    context = await browser.new_context(viewport=VIEWPORTS["desktop"])
    page = await context.new_page()
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    await page.goto(f"{console_url}/cycles/{CYCLE}")
    assert "/sign-in?next=" in page.url
    await page.get_by_label("API token").fill("not-the-token")
    await page.get_by_role("button", name="Sign in").click()
    assert "not one this service accepts" in await page.get_by_role("alert").inner_text()
    await page.screenshot(path=ARTIFACTS / "sign-in-refused-desktop.png", full_page=True)
    await page.get_by_label("API token").fill(TOKEN)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"**/cycles/{CYCLE}")  # back where the browser was going
    state = await context.storage_state()
    await context.close()
    return state


async def test_an_operator_reads_a_cycle_judges_answers_and_pauses_the_rollout(broker, database_url,
                                                                               postgres_server_url, tmp_path):
    from playwright.async_api import async_playwright

    executable = chromium_path()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    key = SigningKey.generate(OPERATOR)
    key_file = write_key_file(tmp_path / "ana.json", key)
    await ensure_topics(broker.bootstrap, all_topic_specs())

    settings = runtime(broker, database_url, tmp_path / "home")
    trust = json.dumps([key.trusted().as_dict()])
    controller = Running(ServiceRunner(build_controller(settings, RolloutSettings(
        evaluate_interval_s=3600, operator_keys=trust)), settings))
    # Only traces.raw's dead letters: one consumer group instead of one per topic keeps the start short.
    # The recorded streams are dated: a retention of years keeps them whatever day the test runs.
    console_settings = ConsoleSettings(refresh_s=1, operator_keys=[key_file], read_model="first",
                                       langfuse_host=LANGFUSE, dead_letter_topics=[TRACES_RAW], health_interval_s=1,
                                       shutdown_notice_days=36_500, **KEEP_RECORDED)
    console = Running(ServiceRunner(build_console(settings, console_settings), settings))
    second_db, rebuilt = None, None
    try:
        controller_url, console_url = await controller.ready("rollout-controller"), await console.ready("console")
        # The recorded cycle, but the routing table is the real controller's: its rollout
        # starts from the recorded EvaluationCompleted, so a pause has something to pause.
        for topic, event in recorded_cycle():
            if topic != ROUTING_TABLE:
                await publish_events(broker.bootstrap, topic, [event], producer="recorded/1")
        # A later cycle's job trains gpt-4o-mini on OpenAI (the recorded one is on Azure, which
        # publishes its own dates): the gauge of the guard's last day for it.
        await publish_events(broker.bootstrap, FINETUNE_JOBS, [sample_finetune_job_changed(
            job_id="job-0043", cycle_id="cycle-0043", provider="openai", deployment_name=None,
            occurred_at=T0 + timedelta(days=7))], producer="recorded/1")

        async def rollout_started() -> dict | None:
            async with httpx.AsyncClient(base_url=controller_url, timeout=5, headers=AUTH) as client:
                rollouts = (await client.get("/v1/rollouts")).json()["rollouts"]
            return next((r for r in rollouts if r["status"] == "active"), None)

        live = await wait_until(rollout_started, timeout=60, interval=0.3)
        assert live, "the controller did not start a rollout from the recorded evaluation"
        rollout_id = live["rollout_id"]

        async def console_caught_up() -> bool:
            overview, cycle, answers = (await text_of(console_url, "/"), await text_of(console_url, f"/cycles/{CYCLE}"),
                                        await text_of(console_url, f"/evaluations/{RUN}/answers"))
            letters = await text_of(console_url, "/data/dead-letters")
            return bool(overview and rollout_id in overview and cycle and "[0.031, 0.094]" in cycle
                        and answers and f"{ITEMS} answer(s)" in answers and letters and "1 letter(s)" in letters)

        if not await wait_until(console_caught_up, timeout=60, interval=0.3):
            pages = {path: await text_of(console_url, path) for path in ("/", f"/cycles/{CYCLE}")}
            pytest.fail(f"the console did not read the topics: {pages}")

        # The controller's teacher, gpt-4.1, shuts down on 2027-01-14 by the default calendar, and
        # gpt-4o-mini's last training day is before it: the gauges alert rules read have their
        # series (their values depend on the day the test runs).
        async def teacher_gauge() -> bool:
            metrics = await text_of(console_url, "/metrics") or ""
            return ('distillery_routed_model_shutdown_days{arm="teacher",model="gpt-4.1",provider="openai",'
                    'route="voice-agent"}') in metrics and (
                'distillery_training_days_left{base_model="gpt-4o-mini-2024-07-18",provider="openai"}') in metrics

        assert await wait_until(teacher_gauge, timeout=30, interval=0.3), "no shutdown gauge for the teacher"

        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=executable, args=ARGS, headless=True)
            errors: list[str] = []
            session = await sign_in(browser, console_url, errors)
            for name, viewport in VIEWPORTS.items():
                page = await (await browser.new_context(viewport=viewport, storage_state=session)).new_page()
                page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
                page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))

                await page.goto(f"{console_url}/")
                await page.get_by_role("link", name=CYCLE).wait_for()
                assert await page.locator(f"[data-rollout='{rollout_id}']").count() == 1
                assert await page.locator(".going-away li[data-model='gpt-4.1']").count() == 1
                assert "The teacher: its calls fail" in await page.locator(".going-away").inner_text()
                assert await page.locator(".going-away li.training[data-base-model='gpt-4o-mini-2024-07-18']").count() == 1
                # The consumer groups' lag, read from Tansu, reaches the overview's live part.
                await page.locator("tr[data-group^='distillery.console.first.']").first.wait_for(timeout=30_000)
                await _fits(page, name)
                await page.screenshot(path=ARTIFACTS / f"overview-{name}.png", full_page=True)

                await page.get_by_role("link", name=CYCLE).click()
                held = page.locator("article.decision-held")
                low, high = HOLD_INTERVAL
                assert "hallucination" in await held.inner_text()
                assert f"[{low}, {high}]" in await held.locator("td.interval").inner_text()
                await _fits(page, name)
                await page.screenshot(path=ARTIFACTS / f"cycle-{name}.png", full_page=True)

                await page.get_by_role("link", name="failing answers only").first.click()
                items = await page.locator("article.item").evaluate_all("els => els.map(e => e.dataset.item)")
                assert items == [f"golden-{i:04d}" for i in range(ITEMS) if hallucinated(i)]
                await page.screenshot(path=ARTIFACTS / f"answers-failing-{name}.png", full_page=True)
                await page.get_by_label("failing answers only").uncheck()  # the filter submits itself
                await page.wait_for_url("**/answers?*")
                script_item = page.locator("article[data-item='golden-0001'] .answer-candidate .text")
                assert "<script>window.pwned = 1</script>" in await script_item.inner_text()
                assert await page.evaluate("window.pwned") is None
                await _fits(page, name)
                await page.screenshot(path=ARTIFACTS / f"answers-{name}.png", full_page=True)

                await page.get_by_role("link", name="Data", exact=True).click()
                trace = page.locator(f"article[data-example] a.trace[href='{LANGFUSE}/project/clinic-prod/traces/"
                                     f"{ACCEPTED_TRACE}']")
                assert await trace.count() == 1
                await _fits(page, name)
                await page.screenshot(path=ARTIFACTS / f"data-{name}.png", full_page=True)
                await page.get_by_role("link", name="hallucination (3)").click()
                await page.wait_for_url("**reason=hallucination*")
                reasons = await page.locator("article.example-rejected .reason-name").all_inner_texts()
                assert reasons == ["hallucination"] * 3
                assert "3 hallucination example(s)" in await page.locator("p.count").inner_text()
                await page.close()

            # Pause from the page, as the operator, with a reason and the confirmation.
            page = await (await browser.new_context(viewport=VIEWPORTS["desktop"], storage_state=session)).new_page()
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
            await page.goto(f"{console_url}/")
            form = page.locator(f"form[action='/rollouts/{rollout_id}/steer']")
            await form.get_by_label("Action").select_option("pause")
            await form.get_by_label("You").select_option(OPERATOR)
            await form.get_by_label("Reason").fill("checking the held hallucination gate")
            await form.get_by_label("I mean it").check()
            await form.get_by_role("button", name="Send").click()
            await page.get_by_role("status").wait_for()
            assert f"as {OPERATOR}" in await page.get_by_role("status").inner_text()

            async def paused() -> dict | None:
                async with httpx.AsyncClient(base_url=controller_url, timeout=5, headers=AUTH) as client:
                    doc = (await client.get("/v1/rollouts")).json()
                view = next(r for r in doc["rollouts"] if r["rollout_id"] == rollout_id)
                return view if view["status"] == "paused" else None

            view = await wait_until(paused, timeout=60, interval=0.3)
            assert view, "the controller did not pause the rollout"
            assert view["last_decision"]["actor"] == OPERATOR
            await page.locator(f"[data-rollout='{rollout_id}'] .state-paused").wait_for(timeout=60_000)
            await page.screenshot(path=ARTIFACTS / "overview-paused-desktop.png", full_page=True)

            # Republish the dead letter from the page: its message is back on traces.raw.
            await page.get_by_role("link", name="Dead letters").click()
            letter = page.locator("article.letter")
            assert TRACES_RAW in await letter.locator("h3").inner_text()
            await page.screenshot(path=ARTIFACTS / "dead-letters-desktop.png", full_page=True)
            form = letter.locator("form.republish")
            await form.get_by_label("You").select_option(OPERATOR)
            await form.get_by_label("Reason").fill("the ingester's mapping is fixed")
            await form.get_by_label("I mean it").check()
            await form.get_by_role("button", name="Republish").click()
            await page.get_by_role("status").wait_for()
            assert f"republished to {TRACES_RAW} by {OPERATOR}" in await page.get_by_role("status").inner_text()
            assert await letter.locator(".republished .operator").inner_text() == OPERATOR
            await page.screenshot(path=ARTIFACTS / "dead-letters-republished-desktop.png", full_page=True)
            back = [m for m in await read_topic(broker.bootstrap, TRACES_RAW, expect=1, timeout=30, settle=0.2)
                    if m.headers.get("event-id") == LETTER_EVENT_ID]
            assert len(back) == 1 and back[0].key == "call-dl" and b'"trace_id": "tr-dl"' in back[0].value
            await browser.close()
        assert errors == []

        # A console with an empty read model (a new database, a new read model), started as
        # operators and the demo start it, rebuilds the same pages from the topics.
        before = {path: await text_of(console_url, path) for path in
                  (f"/cycles/{CYCLE}", f"/evaluations/{RUN}/answers", f"/evaluations/{RUN}/answers?failing=1")}
        await console.stop()
        second_db = await create_database(postgres_server_url)
        port = free_port()
        env = service_env(broker.bootstrap, second_db, tmp_path / "home2", DISTILLERY_API_TOKENS=TOKEN,
                          DISTILLERY_CONSOLE_READ_MODEL="rebuilt", DISTILLERY_CONSOLE_OPERATOR_KEYS=str(key_file),
                          DISTILLERY_CONSOLE_DEAD_LETTER_TOPICS=TRACES_RAW, DISTILLERY_CONSOLE_LANGFUSE_HOST=LANGFUSE,
                          **{f"DISTILLERY_CONSOLE_{k.upper()}": str(v) for k, v in KEEP_RECORDED.items()})
        log = tmp_path / "console.log"
        rebuilt = start_process(["-m", "distillery_cli", "console", "--port", str(port)], env, log)
        rebuilt_url = f"http://127.0.0.1:{port}"

        async def same_pages() -> bool:
            try:
                return all([await text_of(rebuilt_url, path) == text for path, text in before.items()])
            except httpx.HTTPError:
                return False

        assert await wait_until(same_pages, timeout=120, interval=0.5), \
            f"the rebuilt console shows other pages; its log: {log.read_text()[-2000:]}"
        printed = log.read_text().splitlines()
        assert printed[0] == f"Console: {rebuilt_url}/  (Ctrl-C stops it)"
        link = printed[1].removeprefix("Sign in: ")
        assert link.startswith(f"{rebuilt_url}/sign-in?once=") and TOKEN not in link
        async with httpx.AsyncClient(timeout=10, follow_redirects=True) as browser_like:
            assert (await browser_like.get(f"{rebuilt_url}/")).url.path == "/sign-in"
            opened = await browser_like.get(link)
            assert opened.url.path == "/" and f'href="/cycles/{CYCLE}"' in opened.text
            browser_like.cookies.clear()
            assert (await browser_like.get(link)).status_code == 401  # once only
    finally:
        if rebuilt is not None:
            rebuilt.send_signal(signal.SIGTERM)
            await asyncio.to_thread(rebuilt.wait, 30)
        if not console.task.done():
            await console.stop()
        await controller.stop()
        if second_db:
            await drop_database(second_db)


async def _fits(page, viewport: str) -> None:  # noqa: ANN001
    """Nothing wider than the screen: usable without scrolling sideways (tables scroll inside)."""
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the {viewport} screen"
