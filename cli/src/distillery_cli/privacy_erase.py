"""``distillery privacy erase``: remove one caller's data from every store the project owns.

Why a command topic and not the CLI deleting rows itself: each service owns its schema (no
one else reads or writes its tables), knows which of its tables can hold callers' words, and
erases in its own transaction through its own services layer, as it applies any message. A
service that is down erases when it comes back (the command stays on the topic for 7 days),
and a scaled service erases once. The CLI publishes ``EraseCaller`` and waits for each such
service's ``CallerErased``, then says what remains in systems the project does not own.
"""

from __future__ import annotations

import asyncio
import getpass
import time
from typing import Annotated

import typer

from distillery_cli.common import broker_bootstrap, console, die, friendly, print_table, run_async
from distillery_contracts.privacy import CallerErased, EraseCaller
from distillery_contracts.registry import PRIVACY_ERASURES, TOPICS, topic_for

ERASING_SERVICES = ("trace-ingester", "cleaner", "dataset-builder", "evaluator", "console")
"""The services whose tables can hold callers' data, each of which answers an EraseCaller."""


def remains_elsewhere() -> list[tuple[str, str]]:
    """What an erasure cannot reach, and what to do about it."""
    days = {name: spec.retention_ms // 86_400_000 for name, spec in TOPICS.items() if spec.retention_ms}
    raw, accepted = days["distillery.traces.raw.v1"], days["distillery.examples.accepted.v1"]
    return [
        ("Langfuse", "the traces themselves, where they were captured: delete them there "
                     "(DELETE /api/public/traces/{id}), or the next backfill reads them again"),
        ("Kafka", f"traces.raw keeps the call for {raw} days, examples.accepted/rejected for {accepted} days, "
                  "every <topic>.dlq for 30 days (deleted by the broker with their log segments)"),
        ("fine-tuning providers", "training files already uploaded for published datasets (OpenAI, Azure, "
                                  "the trainer's files): delete them with the provider's files API"),
        ("published datasets", "files of datasets already built keep the caller (named above, if any); "
                               "retire those not yet trained"),
    ]


async def request_erasure(bootstrap: str, command: EraseCaller, expect: tuple[str, ...],
                          timeout_s: float) -> dict[str, CallerErased]:
    """Publish ``command`` and collect the reports of ``expect`` until all came or time ran out."""
    from aiokafka import TopicPartition

    from distillery_runtime.errors import ConfigError
    from distillery_runtime.kafka import publish_events
    from distillery_runtime.kafka_clients import kafka_reader, partition_ids

    found: dict[str, CallerErased] = {}
    async with kafka_reader(bootstrap) as reader:
        partitions = [TopicPartition(PRIVACY_ERASURES, p) for p in await partition_ids(reader, PRIVACY_ERASURES)]
        if not partitions:
            raise ConfigError(f"the broker has no topic {PRIVACY_ERASURES}: run 'distillery topics create'")
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        await publish_events(bootstrap, topic_for(EraseCaller).name, [command], producer="cli/0.1.0")
        deadline = time.monotonic() + timeout_s
        while set(expect) - set(found) and time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=500)
            for records in batches.values():
                for record in records:
                    report = CallerErased.model_validate_json(record.value)
                    if report.erasure_id == command.command_id:
                        found[report.service] = report
            await asyncio.sleep(0)
    return found


@friendly
def erase_cmd(
    session: Annotated[str | None, typer.Option("--session", help="Langfuse session id (one call) to erase.")] = None,
    trace: Annotated[str | None, typer.Option("--trace", help="Langfuse trace id (one turn) to erase.")] = None,
    timeout: Annotated[float, typer.Option("--timeout", min=1, help="Seconds to wait for every service.")] = 120,
) -> None:
    """Erase one caller (by session or trace id) from every store the project owns.

    Each service holding callers' data deletes them from its own tables and reports what it
    removed; a service not running now erases when it starts. Exits 1 when one did not answer.
    """
    if (session is None) == (trace is None):
        die("name exactly one caller: --session ID or --trace ID")
    command = EraseCaller(session_id=session, trace_id=trace, requested_by=getpass.getuser())
    reports = run_async(request_erasure(broker_bootstrap(), command, ERASING_SERVICES, timeout))
    rows = [(service, store.store, str(store.removed), store.note or "")
            for service in ERASING_SERVICES if service in reports for store in reports[service].stores]
    print_table(("service", "store", "removed", "kept"), rows,
                title=f"Erasure {command.command_id} of {'session ' + session if session else 'trace ' + str(trace)}")
    console.print("Still held outside the stores Distillery owns:")
    for system, what in remains_elsewhere():
        console.print(f"  {system}: {what}", markup=False)
    missing = [s for s in ERASING_SERVICES if s not in reports]
    if missing:
        console.print(f"No answer yet from {', '.join(missing)}: each erases when it runs again "
                      f"(the command stays on its topic for 7 days).", markup=False)
        raise typer.Exit(1)
