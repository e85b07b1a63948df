"""Runs the demo: stack, sandboxes, six services as processes, voice traffic, live view."""

from __future__ import annotations

import asyncio
import json
import signal
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live

from distillery_cli.console_cmd import sign_in_lines
from distillery_cli.demo.monitor import PipelineMonitor, PipelineView
from distillery_cli.demo.outcome import cost_figures, summary
from distillery_cli.demo.plan import LANGFUSE_KEYS, OPENAI_KEY, SELFHOSTED, STUDENT_BASE, DemoPlan, StudentPorts
from distillery_cli.demo.processes import ProcessGroup
from distillery_cli.demo.view import final_report, live_view
from distillery_cli.demo.voice import VoicePlatform
from distillery_cli.localstack.broker import start_broker
from distillery_cli.localstack.postgres import start_postgres
from distillery_cli.localstack.procs import free_port, wait_for_port
from distillery_cli.provision import create_topics, migrate_all
from distillery_contracts.registry import EXAMPLES_ACCEPTED, EXAMPLES_REJECTED, TRACES_RAW
from distillery_runtime.auth import local_token
from distillery_runtime.db import check_database, create_engine, redacted
from distillery_runtime.errors import ConfigError
from distillery_runtime.kafka import check_broker
from distillery_runtime.registration import registrations
from distillery_runtime.signing import local_keys
from distillery_runtime.stackstate import StackState, clear_stack_state, write_stack_state
from distillery_sandbox.golden import write_golden_set

SERVICES = ("trace-ingester", "cleaner", "dataset-builder", "finetune-controller", "evaluator",
            "rollout-controller")


class ChildDied(RuntimeError):
    """A demo process exited; the message holds its exit code and last log lines."""


@dataclass(frozen=True)
class ExistingStack:
    """A broker and database the demo uses instead of starting Tansu and an embedded PostgreSQL
    (Apache Kafka, say): the demo creates its topics and runs the migrations there, and leaves
    both running when it stops. Both should hold no other Distillery data."""

    kafka_bootstrap: str
    database_url: str

    async def check(self) -> None:
        """One line naming the option to fix when either cannot be reached."""
        for option, probe in (("--kafka-bootstrap", self._check_broker), ("--database-url", self._check_database)):
            try:
                await probe()
            except ConfigError as exc:
                raise ConfigError(f"{option}: {str(exc).split('. Start it')[0]}") from None

    async def _check_broker(self) -> None:
        await check_broker(self.kafka_bootstrap)

    async def _check_database(self) -> None:
        engine = create_engine(self.database_url, "public", pool_size=1)
        try:
            await check_database(engine)
        finally:
            await engine.dispose()


@dataclass
class Endpoints:
    bootstrap: str
    database_url: str
    langfuse_url: str
    openai_url: str
    routing_url: str


def finished(view: PipelineView, cycles_wanted: int = 2, stop_at_verdict: bool = False) -> tuple[bool, str]:
    """Done when enough cycles completed their rollout, or, after the first, a later
    candidate was stopped by the evaluator (it did not beat production); with
    ``stop_at_verdict``, also when the first candidate was stopped by its gates or rolled back."""
    cycles = sorted(view.cycles.values(), key=lambda c: c.cycle_id)
    completed = [c for c in cycles if c.decisions and c.decisions[-1].decision.value == "completed"]
    if len(completed) >= cycles_wanted:
        return True, f"{len(completed)} cycle(s) rolled out to 90/10"
    if stop_at_verdict and cycles:
        first = cycles[0]
        if first.job and first.job.status.value in ("failed", "cancelled"):
            error = first.job.error.message if first.job.error else first.job.status.value
            return True, f"the student's fine-tuning {first.job.status.value}: {error}"
        if first.evaluation and first.evaluation.outcome.value != "passed":
            failed = [g.name for g in first.evaluation.gates if not g.passed]
            return True, f"the student did not pass its gates ({', '.join(failed) or first.evaluation.outcome.value})"
        if first.decisions and first.decisions[-1].decision.value == "rolled_back":
            return True, "the student's rollout was rolled back by its live gates"
    if completed and cycles_wanted > 1 and any(
            c.evaluation and c.evaluation.outcome.value != "passed" and c.cycle_id > completed[0].cycle_id
            for c in cycles):
        return True, "a later candidate did not beat production and was stopped; production untouched"
    return False, ""


def candidate_routed(view: PipelineView, route: str = "voice-agent") -> bool:
    table = view.routes.get(route)
    return table is not None and any(arm.name == "candidate" for arm in table.arms)


class Demo:
    def __init__(self, plan: DemoPlan, home: Path, console: Console, existing: ExistingStack | None = None) -> None:
        self.plan = plan
        self.existing = existing
        self.home = home
        self.console = console
        self.group = ProcessGroup(home / "logs")
        self.stack: list[Any] = []
        self.services = SERVICES if plan.hosted else (*SERVICES, "trainer")
        self.students: StudentPorts | None = None
        self.console_url = ""

    async def start(self) -> Endpoints:
        if self.home.exists():
            shutil.rmtree(self.home)
        self.home.mkdir(parents=True)
        self.home.chmod(0o755)
        self.console.print(f"[bold]Distillery demo[/] — files and logs in {self.home}")
        state = await self._start_stack()
        bootstrap, database_url = state.kafka_bootstrap, state.database_url
        await create_topics(bootstrap)
        await migrate_all(database_url)
        # Operator commands run from another terminal find the demo's stack through this file.
        write_stack_state(self.home, state)
        local_keys(self.home).ensure()  # operator commands from another terminal, and the router's trust
        self.console.print(f"  broker {bootstrap} · database {redacted(database_url)}")
        self.console.print(f"  watch it from another terminal: DISTILLERY_HOME={self.home} "
                           ".venv/bin/distillery status")
        langfuse_port, openai_port, routing_port = free_port(), free_port(), free_port()
        public, secret = LANGFUSE_KEYS
        self.group.distillery("sandbox-langfuse", [
            "sandbox", "langfuse", "--port", str(langfuse_port), "--calls", str(self.plan.history_calls),
            "--seed", str(self.plan.seed), "--keys", f"{public}:{secret}", "--log-level", "warning"], {})
        self.group.distillery("sandbox-openai", [
            "sandbox", "openai", "--port", str(openai_port), "--latency-scale", str(self.plan.latency_scale),
            "--time-scale", str(self.plan.job_time_scale), "--log-level", "warning"], {})
        for port, what in ((langfuse_port, "the Langfuse sandbox"), (openai_port, "the OpenAI sandbox")):
            await asyncio.to_thread(wait_for_port, "127.0.0.1", port, 60, what)
        ends = Endpoints(bootstrap, database_url, f"http://127.0.0.1:{langfuse_port}",
                         f"http://127.0.0.1:{openai_port}", f"http://127.0.0.1:{routing_port}")
        common = self.plan.common_env(self.home, ends.bootstrap, ends.database_url, state.environment)
        golden_set = self.home / "golden.jsonl"
        await asyncio.to_thread(write_golden_set, golden_set)
        cleaner_config = self.home / "cleaner.json"
        write_cleaner_config(cleaner_config)
        if not self.plan.hosted:
            await self._start_student_server()
        per_service = self.plan.service_env(ends.langfuse_url, ends.openai_url, routing_port, golden_set,
                                            self.students, cleaner_config)
        for name in self.services:
            self.group.distillery(name, ["run", name], {**common, **per_service[name]})
        console_port = free_port()  # the operator console, steering as the local operator
        self.console_url = f"http://127.0.0.1:{console_port}/"
        self.group.distillery("console", ["console", "--port", str(console_port)], {
            **common, "DISTILLERY_CONSOLE_OPERATOR_KEYS": str(local_keys(self.home).operator_key),
            "DISTILLERY_CONSOLE_REFRESH_S": "2"})
        await self._wait_until_ready()
        await asyncio.to_thread(wait_for_port, "127.0.0.1", console_port, 120, "the operator console")
        self.console.print(f"  sandboxes, {len(self.services)} services ({', '.join(self.services)}) and the "
                           "operator console are up, each a separate process")
        self.console.print(f"  [bold]operator console: {self.console_url}[/]")
        self.print_sign_in()
        return ends

    async def _start_stack(self) -> StackState:
        """Tansu and an embedded PostgreSQL of the demo's own, or the existing ones it was given."""
        if self.existing is not None:
            await self.existing.check()
            return StackState(self.existing.kafka_bootstrap, self.existing.database_url,
                              environment=self.plan.stack_env())
        broker = start_broker(self.home, free_port())
        self.stack.append(broker)
        pg = await asyncio.to_thread(start_postgres, self.home, free_port())
        self.stack.append(pg)
        return StackState(broker.bootstrap, pg.url, broker_pid=broker.pid, postgres_pid=pg.pid,
                          environment=self.plan.stack_env())

    def print_sign_in(self) -> None:
        token = local_token(self.home, create=False)
        if token:
            where = f"the token in {self.home / 'keys' / 'api-token'}"
            for line in sign_in_lines(self.console_url, token, where):
                self.console.print(f"  {line}", soft_wrap=True, markup=False, highlight=False)

    async def stay(self) -> None:
        """Everything keeps running for a look at the console, until Ctrl-C or SIGTERM."""
        self.console.print(f"[bold]Staying up[/]: the operator console is at {self.console_url} "
                           "(Ctrl-C or SIGTERM stops everything)")
        self.print_sign_in()  # the one printed at start has likely expired by now
        while True:
            self.check_children()
            await asyncio.sleep(1)

    async def _start_student_server(self) -> None:
        """`distillery serve` with the base model the trainer fine-tunes; adapters come later."""
        cache = self.home.parent / "models"  # kept across demos: the base model is converted once
        self.students = StudentPorts(free_port(), free_port(), cache, self.home / "trainer")
        self.group.distillery("student-server", [
            "serve", "--base-model", STUDENT_BASE, "--port", str(self.students.serve_port),
            "--model-cache", str(cache)], {"HF_HUB_OFFLINE": "1"})
        self.console.print(f"  starting the student server ({STUDENT_BASE} on this CPU; the first run converts "
                           f"the model into {cache})")
        await asyncio.to_thread(wait_for_port, "127.0.0.1", self.students.serve_port, 600, "the student server")

    async def _wait_until_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_children()
            regs = {r.service for r in registrations(self.home)}
            if regs >= {s.replace("-", "_") for s in self.services} or regs >= set(self.services):
                return
            await asyncio.sleep(0.5)
        raise ChildDied("services did not become ready in time; see the logs in " + str(self.home / "logs"))

    def check_children(self) -> None:
        dead = self.group.dead()
        if dead:
            child = dead[0]
            raise ChildDied(f"{child.name} exited ({child.process.returncode}); last log lines:\n{child.tail()}")

    def stop(self) -> None:
        self.group.stop_all()
        for proc in reversed(self.stack):
            proc.stop()
        clear_stack_state(self.home)


class TeacherRegression:
    """Turns the OpenAI sandbox's teacher drift on once the first dataset is built, so that
    every later dataset learns from a teacher that misstates facts nothing flags."""

    def __init__(self, openai_url: str, rate: float, console: Console) -> None:
        self.openai_url, self.rate, self.console = openai_url, rate, console
        self.started = rate <= 0

    async def maybe_start(self, view: PipelineView) -> None:
        if self.started or not any(c.dataset for c in view.cycles.values()):
            return
        async with httpx.AsyncClient(base_url=self.openai_url, timeout=10) as client:
            response = await client.post("/sandbox/v1/teacher", json={"wrong_fact_rate": self.rate})
            response.raise_for_status()
        self.started = True
        self.console.print(f"  rehearsing a teacher regression: {self.rate:.0%} of its factual answers "
                           "now state a wrong fact")


def write_cleaner_config(path: Path) -> None:
    """The simulated clinic's cleaning rules: the defaults, with what the clinic publishes (its
    name, number, address, clinicians and insurers) on the personal-data allow list, as a
    clinic's operator configures it, so the student learns to say them."""
    from distillery_sandbox.workload import default_knowledge_base

    kb = default_knowledge_base()
    allow = [kb.clinic_name, kb.phone, kb.address, *(d.name for d in kb.doctors), *kb.insurers]
    path.write_text(json.dumps({"pii": {"allow": allow}}, indent=2) + "\n")


async def run_demo(plan: DemoPlan, home: Path, summary_path: Path | None, console: Console,
                   stay: bool = False, existing: ExistingStack | None = None) -> int:
    """Runs the demo to its end, then stops everything; with ``stay``, the outcome is reported
    (and the summary written) first, and everything keeps running until Ctrl-C or SIGTERM."""
    from langfuse import Langfuse

    from distillery_router import Router, RoutingTableFollower, TableKeys
    from distillery_router.client import LangfuseGenerationRecorder, ProviderEndpoint, RoutedChatClient
    from distillery_sandbox.workload import default_knowledge_base

    demo = Demo(plan, home, console, existing)
    main_task = asyncio.current_task()
    if main_task is not None:  # SIGTERM stops the demo as cleanly as Ctrl-C does
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    started = time.monotonic()
    stop = asyncio.Event()
    view = PipelineView()
    reason, done, code = "stopped", False, 1
    voice = None
    reported = False

    def report() -> None:
        costs = cost_figures(view, voice.stats.usage if voice else {}, teacher="gpt-4.1")
        console.print(final_report(view, costs, reason))
        if summary_path is not None and voice is not None:
            outcome = summary(view, voice.stats, costs, time.monotonic() - started, done, reason)
            written = summary_path.with_name(summary_path.name + ".tmp")  # readers never see half of it
            written.write_text(json.dumps({**outcome, "console_url": demo.console_url}, indent=2, default=str))
            written.replace(summary_path)
            console.print(f"Summary written to {summary_path}")
    try:
        ends = await demo.start()
        public, secret = LANGFUSE_KEYS
        langfuse = Langfuse(public_key=public, secret_key=secret, host=ends.langfuse_url)
        router = Router()
        providers = {"openai": ProviderEndpoint(api_key=OPENAI_KEY, base_url=f"{ends.openai_url}/v1")}
        if demo.students is not None:  # the routing table names where each arm is served
            providers[SELFHOSTED] = ProviderEndpoint(api_key="none", base_url=demo.students.serve_url, timeout_s=120)
        chat = RoutedChatClient(router, providers=providers, recorder=LangfuseGenerationRecorder(langfuse))
        voice = VoicePlatform(chat, default_knowledge_base(), seed=plan.seed, calls_per_second=plan.calls_per_second,
                              concurrency=plan.voice_concurrency, max_tokens=plan.voice_max_tokens)
        monitor = PipelineMonitor(ends.bootstrap, counted=(TRACES_RAW, EXAMPLES_ACCEPTED, EXAMPLES_REJECTED))
        view = monitor.view
        regression = TeacherRegression(ends.openai_url, plan.teacher_regression, console)
        table_keys = TableKeys.load(local_keys(home).table_keys)
        async with RoutingTableFollower(router, routes=["voice-agent"], base_url=ends.routing_url, poll_interval=1.0,
                                        table_keys=table_keys, api_token=local_token(home)):
            tasks = [asyncio.create_task(monitor.run(stop))]
            if plan.hosted:
                tasks.append(asyncio.create_task(voice.run(stop)))
            with Live(live_view(view, voice.stats, plan.dataset_threshold, 0, "starting"), console=console,
                      refresh_per_second=2, transient=False) as live:
                while True:
                    elapsed = time.monotonic() - started
                    done, reason = finished(view, plan.cycles, stop_at_verdict=not plan.hosted)
                    if done or elapsed > plan.time_limit_s:
                        reason = reason or f"time limit of {plan.time_limit_s:.0f}s reached"
                        break
                    demo.check_children()
                    await regression.maybe_start(view)
                    if len(tasks) == 1 and candidate_routed(view):
                        # Self-hosted: the CPU server answers live calls only once a student is
                        # rolled out; the history alone makes the dataset.
                        console.print("  the student is routed: live calls start")
                        tasks.append(asyncio.create_task(voice.run(stop)))
                    live.update(live_view(view, voice.stats, plan.dataset_threshold, elapsed, "running"))
                    await asyncio.sleep(0.5)
            stop.set()
            await asyncio.wait(tasks, timeout=40)
        langfuse.flush()
        await chat.aclose()
        code = 0 if done else 1
        if stay:
            report()
            reported = True
            await demo.stay()
    except ChildDied as exc:
        reason, code = str(exc), 1
    except (KeyboardInterrupt, asyncio.CancelledError):
        if not reported:  # after the report, Ctrl-C is how a stay ends, not an interruption
            reason, code = "interrupted (Ctrl-C)", 1
    finally:
        stop.set()
        console.print("Stopping services, sandboxes and the stack…")
        await asyncio.to_thread(demo.stop)
    if not reported:
        report()
    elif code:
        console.print(f"[bold red]{reason}[/]")
    return code
