"""What the chaos soak checks at the end, read from the services' topics and tables.

Every captured generation has exactly one verdict per cleaner version; no example, dataset,
fine-tuning job or rollout decision is duplicated; the routing table on the topic equals the
controller's state; and for each kind of bad record, fed = dead-lettered + handled at the edge
(refused or made safe) + claim-checked + deduplicated, so lost = 0.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx
from bad_records import BAD_KINDS, BadRecords
from db_helpers import fetch_rows, fetch_value
from kafka_helpers import ReadMessage
from topic_reader import read_all

from distillery_contracts.registry import EXAMPLES_ACCEPTED, EXAMPLES_REJECTED, ROUTING_TABLE, TRACES_RAW

FINAL_DECISIONS = ("started", "advanced", "rolled_back", "completed", "aborted", "force_advanced")


@dataclass
class KindFigures:
    fed: int = 0
    dead_lettered: int = 0
    edge: int = 0
    claim_checked: int = 0
    deduplicated: int = 0

    @property
    def lost(self) -> int:
        return self.fed - self.dead_lettered - self.edge - self.claim_checked - self.deduplicated


@dataclass
class SoakFigures:
    generations: int = 0
    verdicts: int = 0
    cleaner_versions: list[str] = field(default_factory=list)
    without_verdict: list[str] = field(default_factory=list)
    duplicate_verdicts: list[str] = field(default_factory=list)
    examples: int = 0
    duplicate_examples: int = 0
    example_duplicates: list[str] = field(default_factory=list)
    datasets: int = 0
    duplicate_datasets: int = 0
    jobs: int = 0
    duplicate_jobs: int = 0
    decisions: int = 0
    duplicate_decisions: int = 0
    routes_checked: int = 0
    route_mismatches: list[str] = field(default_factory=list)
    bad: dict[str, KindFigures] = field(default_factory=dict)
    letters_by_group: dict[str, int] = field(default_factory=dict)
    kills: list[str] = field(default_factory=list)
    postgres_restarts: int = 0
    unexpected_exits: list[str] = field(default_factory=list)
    database_outage_exits: list[str] = field(default_factory=list)
    logs: str = ""
    timings: dict[str, int] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return (len(self.duplicate_verdicts) + self.duplicate_examples + self.duplicate_datasets
                + self.duplicate_jobs + self.duplicate_decisions)

    @property
    def lost(self) -> int:
        return len(self.without_verdict) + sum(max(k.lost, 0) for k in self.bad.values())

    def table(self) -> str:
        rows = [f"chaos soak: seconds {self.timings}, {len(self.kills)} kills ({', '.join(self.kills)}), "
                f"{self.postgres_restarts} PostgreSQL restart(s), unexpected exits: {len(self.unexpected_exits)}, "
                f"exits while the database was down (restarted as compose would): {len(self.database_outage_exits)}",
                f"generations captured {self.generations}, verdicts {self.verdicts} "
                f"(cleaner versions {', '.join(self.cleaner_versions) or '-'}), without a verdict "
                f"{len(self.without_verdict)}, with two or more {len(self.duplicate_verdicts)}",
                f"examples {self.examples} (duplicated {self.duplicate_examples}), datasets {self.datasets} "
                f"(duplicated {self.duplicate_datasets}), fine-tuning jobs {self.jobs} (duplicated "
                f"{self.duplicate_jobs}), rollout decisions {self.decisions} (duplicated {self.duplicate_decisions})",
                f"routes compared with the controller {self.routes_checked}, mismatched {len(self.route_mismatches)}",
                f"dead letters on traces.raw.dlq by consumer group: {self.letters_by_group}",
                f"{'bad record kind':<26}{'fed':>5}{'dead-lettered':>15}{'edge':>6}{'claim-checked':>15}"
                f"{'deduplicated':>14}{'lost':>6}"]
        for kind, k in self.bad.items():
            rows.append(f"{kind:<26}{k.fed:>5}{k.dead_lettered:>15}{k.edge:>6}{k.claim_checked:>15}"
                        f"{k.deduplicated:>14}{k.lost:>6}")
        rows.append(f"duplicates = {self.duplicates}, lost = {self.lost}")
        rows += [f"  two verdicts: {d}" for d in self.duplicate_verdicts[:5]]
        rows += [f"  no verdict: {d}" for d in self.without_verdict[:5]]
        rows += [f"  duplicated example: {d}" for d in self.example_duplicates[:5]]
        return "\n".join(rows)


def _json(message: ReadMessage) -> dict[str, Any] | None:
    try:
        body = json.loads(message.value)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _has_lone_surrogate(raw: bytes) -> bool:
    """Whether JSON text decodes to a string no UTF-8 writer can write (an escaped lone surrogate)."""
    try:
        json.dumps(json.loads(raw), ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    except ValueError:
        return False
    return False


async def check_soak(bootstrap: str, database_url: str, routing_url: str, bad: BadRecords,
                     settle_timeout: float, api_headers: dict[str, str] | None = None) -> SoakFigures:
    """The figures once every consumer has caught up and the rollout-controller has decided
    something (or ``settle_timeout`` has passed)."""
    deadline = time.monotonic() + settle_timeout
    while True:
        figures = await figures_now(bootstrap, database_url, routing_url, bad, api_headers or {})
        settled = figures.lost == 0 and not figures.route_mismatches and figures.decisions > 0
        if settled or time.monotonic() > deadline:
            return figures
        await asyncio.sleep(5.0)


async def figures_now(bootstrap: str, database_url: str, routing_url: str, bad: BadRecords,
                      api_headers: dict[str, str]) -> SoakFigures:
    figures = SoakFigures()
    raw = await read_all(bootstrap, TRACES_RAW)
    fed_ids = {f.ident for f in bad.fed if f.kind in ("invalid_utf8", "wrong_schema_version")}
    fed_generations = {f.ident for f in bad.fed if f.kind == "lone_surrogate_topic"}
    captured: dict[str, tuple[str, str]] = {}
    wire: dict[tuple[str, str], bytes] = {}
    for m in raw:
        body = _json(m) if m.headers.get("event-type") == "TraceCaptured" else None
        if body is None or m.headers.get("schema-version") != "1" or m.headers.get("event-id") in fed_ids:
            continue
        generation = (str(body.get("project_id")), str(body.get("observation_id")))
        if generation[1] in fed_generations:  # accounted for as a bad record below
            continue
        captured[m.headers["event-id"]] = generation
        wire[generation] = m.value
    verdicts: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for m in [*await read_all(bootstrap, EXAMPLES_ACCEPTED), *await read_all(bootstrap, EXAMPLES_REJECTED)]:
        body = _json(m)
        if body is None:
            continue
        lineage = body.get("lineage") or {}
        verdicts[(lineage.get("project_id"), lineage.get("observation_id"), body.get("cleaner_version"))].add(
            m.headers.get("event-id", ""))
    versions = sorted({v for _, _, v in verdicts})
    figures.cleaner_versions = versions
    figures.generations = len(set(captured.values()))
    figures.verdicts = sum(len(ids) for ids in verdicts.values())
    generations = set(captured.values())
    for project, observation in sorted(generations):
        for version in versions or ["(none)"]:
            count = len(verdicts.get((project, observation, version), ()))
            if count == 0:
                figures.without_verdict.append(f"{project}/{observation}@{version}")
            elif count > 1:
                figures.duplicate_verdicts.append(
                    f"{project}/{observation}@{version}: {sorted(verdicts[(project, observation, version)])}")
    letters = [body for m in await read_all(bootstrap, f"{TRACES_RAW}.dlq") if (body := _json(m))]
    for letter in letters:
        group = letter.get("consumer_group") or letter.get("source_topic") or "?"
        figures.letters_by_group[group] = figures.letters_by_group.get(group, 0) + 1
    figures.bad = _bad_figures(bad, letters, verdicts, versions, captured, wire)
    await _table_figures(figures, database_url)
    await _route_figures(figures, bootstrap, database_url, routing_url, api_headers)
    return figures


def _bad_figures(bad: BadRecords, letters: list[dict[str, Any]], verdicts: dict[tuple[str, str, str], set[str]],
                 versions: list[str], captured: dict[str, tuple[str, str]],
                 wire: dict[tuple[str, str], bytes]) -> dict[str, KindFigures]:
    by_key = {letter.get("original_key") for letter in letters}
    cleaner_letters = {(letter.get("original_headers") or {}).get("event-id") for letter in letters
                       if "clean" in (letter.get("consumer_group") or "")}
    cleaner_keys = {letter.get("original_key") for letter in letters if "clean" in (letter.get("consumer_group") or "")}
    judged = {(p, o) for (p, o, v), ids in verdicts.items() if len(ids) == 1}
    out = {kind: KindFigures() for kind in BAD_KINDS}
    for fed in bad.fed:
        k = out[fed.kind]
        k.fed += 1
        if fed.kind == "oversized":
            k.dead_lettered += fed.ident in by_key
        elif fed.kind == "lone_surrogate_langfuse":
            made_safe = [g for g in judged if g[1] == fed.ident and not _has_lone_surrogate(wire.get(g, b""))
                         and "\ufffd".encode() in wire.get(g, b"")]
            if made_safe:
                k.edge += 1
            else:
                k.dead_lettered += fed.ident in by_key
        elif fed.kind in ("invalid_utf8", "wrong_schema_version"):
            k.dead_lettered += fed.ident in cleaner_letters
        elif fed.kind == "lone_surrogate_topic":
            if fed.ident in cleaner_keys:
                k.dead_lettered += 1
            else:  # made safe where the consumer decodes it: judged once, no surrogate downstream
                k.edge += (fed.project_id or "", fed.ident) in judged
        elif fed.kind == "duplicate_id":
            generation = captured.get(fed.ident)
            k.deduplicated += generation is not None and all(
                len(verdicts.get((*generation, v), ())) == 1 for v in versions)
    return out


async def _table_figures(figures: SoakFigures, url: str) -> None:
    async def value(sql: str) -> int:
        return int(await fetch_value(url, sql, default=0) or 0)

    figures.examples = await value("select count(*) from dataset_builder.examples")
    figures.duplicate_examples = await value(
        "select count(*) from (select 1 from dataset_builder.examples group by observation_id, cleaner_version,"
        " config_hash having count(*) > 1) d")
    figures.example_duplicates = [str(dict(r)) for r in await fetch_rows(
        url, "select observation_id, array_agg(example_id) as ids, array_agg(seq) as seqs from dataset_builder.examples"
        " group by observation_id, cleaner_version, config_hash having count(*) > 1")]
    figures.datasets = await value("select count(*) from dataset_builder.datasets")
    figures.duplicate_datasets = await value(
        "select count(*) - count(distinct members) from (select md5(string_agg(example_id, ',' order by example_id))"
        " as members from dataset_builder.dataset_examples group by dataset_id) d")
    figures.jobs = await value("select count(*) from finetune_controller.jobs")
    figures.duplicate_jobs = await value(
        "select count(*) from (select 1 from finetune_controller.jobs group by dataset_id having count(*) > 1) d")
    figures.decisions = await value("select count(*) from rollout_controller.decisions")
    finals = ", ".join(f"'{d}'" for d in FINAL_DECISIONS)
    figures.duplicate_decisions = await value(
        f"select count(*) from (select 1 from rollout_controller.decisions where decision in ({finals})"
        " group by rollout_id, decision, stage_index having count(*) > 1) d")


async def _route_figures(figures: SoakFigures, bootstrap: str, url: str, routing_url: str,
                         api_headers: dict[str, str]) -> None:
    """The latest table per route on the compacted topic, the controller's row, and what its
    routing API answers must all be the same table."""
    latest: dict[str, dict[str, Any]] = {}
    for m in await read_all(bootstrap, ROUTING_TABLE):
        body = _json(m)
        if body is not None and m.key:
            latest[m.key] = body
    states = {r["route"]: r for r in await fetch_rows(url, "select route, version, route_table from rollout_controller.route_state")}
    figures.routes_checked = len(set(latest) | set(states))
    async with httpx.AsyncClient(base_url=routing_url, timeout=10, headers=api_headers) as client:
        for route in sorted(set(latest) | set(states)):
            on_topic, state = latest.get(route), states.get(route)
            saved = json.loads(state["route_table"]) if state and isinstance(state["route_table"], str) else (
                state["route_table"] if state else None)
            answer = await client.get(f"/v1/routes/{route}")
            served = answer.json() if answer.status_code == 200 else f"HTTP {answer.status_code}"
            tables = {"topic": on_topic, "controller": saved, "api": served}
            shapes = {name: _shape(t) for name, t in tables.items()}
            if len({json.dumps(s, sort_keys=True) for s in shapes.values()}) != 1:
                figures.route_mismatches.append(f"{route}: {shapes}")


def _shape(table: dict[str, Any] | str | None) -> Any:
    if not isinstance(table, dict):
        return table
    arms = sorted((str(a.get("name")), str(a.get("model")), a.get("weight")) for a in table.get("arms") or [])
    return {"version": table.get("version"), "arms": arms}
