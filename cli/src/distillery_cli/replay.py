"""``distillery replay``: move a consumer group's offsets so its service reprocesses a topic.

The group must have no live members: resetting under a running consumer would race
its own commits. With no member, this tool joins the group alone, commits the new
offsets and leaves; the service picks them up when it starts again.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import typer
from aiokafka import TopicPartition

from distillery_cli.common import broker_bootstrap, console, die, friendly, print_table, run_async
from distillery_cli.topics import PartitionInfo, partitions
from distillery_runtime.errors import ConfigError
from distillery_runtime.kafka_clients import kafka_admin, kafka_reader


@dataclass(frozen=True)
class Target:
    """Where to move the group: the earliest offset, a point in time, or an offset."""

    earliest: bool = False
    at: datetime | None = None
    offset: int | None = None


@dataclass
class Move:
    partition: int
    current: int | None
    new: int


async def live_members(bootstrap: str, group: str) -> list[str]:
    async with kafka_admin(bootstrap) as admin:
        [described] = await admin.describe_consumer_groups([group])
        groups = described.groups
        # DescribeGroups v2: (error_code, group, state, protocol_type, protocol, members)
        return [member[0] for g in groups for member in g[5]]


async def plan(bootstrap: str, group: str, topic: str, target: Target) -> list[Move]:
    parts = await partitions(bootstrap, topic)
    if not parts:
        raise ConfigError(f"topic {topic!r} does not exist on the broker at {bootstrap}")
    async with kafka_reader(bootstrap, group=group) as consumer:
        tps = [TopicPartition(topic, p.partition) for p in parts]
        by_time = {}
        if target.at is not None:
            stamp = int(target.at.timestamp() * 1000)
            by_time = await consumer.offsets_for_times({tp: stamp for tp in tps})
        moves = []
        for p, tp in zip(parts, tps, strict=True):
            moves.append(Move(p.partition, await consumer.committed(tp), _new_offset(p, target, by_time.get(tp))))
        return moves


def _new_offset(part: PartitionInfo, target: Target, found: object) -> int:
    if target.earliest:
        return part.start
    if target.offset is not None:
        return max(part.start, min(target.offset, part.end))
    return found.offset if found is not None else part.end  # type: ignore[attr-defined]


async def apply(bootstrap: str, group: str, topic: str, moves: list[Move], timeout: float = 30.0) -> None:
    """Join the (empty) group alone, commit the new offsets, leave."""
    async with kafka_reader(bootstrap, topic, group=group) as consumer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        wanted = {TopicPartition(topic, m.partition) for m in moves}
        while consumer.assignment() != wanted:
            if loop.time() > deadline:
                raise ConfigError(f"could not take over group {group!r} within {timeout:.0f}s; is a member running?")
            await consumer.getmany(timeout_ms=200)
        await consumer.commit({TopicPartition(topic, m.partition): m.new for m in moves})


def replay_cmd(
    group: str = typer.Option(..., help="Consumer group, e.g. distillery.cleaner."),
    topic: str = typer.Option(..., help="Topic to reprocess, e.g. distillery.traces.raw.v1."),
    to_earliest: bool = typer.Option(False, "--to-earliest", help="From the first retained message."),
    to_datetime: datetime | None = typer.Option(None, "--to-datetime", help="From the first message at or after this time (ISO 8601)."),
    to_offset: int | None = typer.Option(None, "--to-offset", help="From this offset on every partition."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the offsets it would set; change nothing."),
) -> None:
    """Reset a consumer group (its service stopped) so the service reprocesses a topic."""
    chosen = [to_earliest, to_datetime is not None, to_offset is not None]
    if sum(chosen) != 1:
        die("say where to replay from: exactly one of --to-earliest, --to-datetime ISO, --to-offset N")
    if to_datetime is not None and to_datetime.tzinfo is None:
        die("--to-datetime needs a time zone, e.g. 2026-11-01T00:00:00+00:00")
    _replay(group, topic, Target(to_earliest, to_datetime, to_offset), dry_run)


@friendly
def _replay(group: str, topic: str, target: Target, dry_run: bool) -> None:
    bootstrap = broker_bootstrap()
    members = run_async(live_members(bootstrap, group))
    if members and not dry_run:
        die(f"consumer group {group!r} has {len(members)} live member(s); stop its service first "
            f"(Ctrl-C 'distillery run ...', or 'docker compose stop <service>'), then replay; "
            "a member that just stopped is dropped within its session timeout (10 s)")
    moves = run_async(plan(bootstrap, group, topic, target))
    print_table(("partition", "committed now", "will be" if dry_run else "set to", "messages to reprocess"),
                [(str(m.partition), "-" if m.current is None else str(m.current), str(m.new),
                  str(max(0, (m.current if m.current is not None else m.new) - m.new))) for m in moves])
    if dry_run:
        console.print("Dry run: nothing changed.")
        return
    run_async(apply(bootstrap, group, topic, moves))
    console.print(f"Group {group} will reprocess {topic} from the offsets above when its service starts.")
