"""The chaos soak: the whole loop with the sandboxes while a driver SIGKILLs a random service
every 12-18 s, restarts PostgreSQL once and feeds bad records of every kind; then no generation
lacks its verdict or has two, nothing downstream is duplicated, the routing table on the topic is
the controller's, and every bad record is accounted for. `make test` runs it for
DISTILLERY_SOAK_SECONDS (45 s by default; with start-up and settling about 3 minutes, longer on a loaded machine);
`make soak` for 360 s. It runs on the session's broker: Apache Kafka where a Docker engine answers."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from chaos import soak, soak_seconds

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(int(soak_seconds()) + 420)]


async def test_nothing_is_lost_or_duplicated_while_services_are_killed_and_postgres_restarts(broker, infra):
    home = Path(tempfile.mkdtemp(prefix="distillery-soak-"))
    figures = await soak(home, broker, soak_seconds(), settle_timeout=min(240.0, 60 + soak_seconds() / 3))
    print(f"\nbroker: {infra.broker} ({infra.why})\n" + figures.table())
    assert len(figures.kills) >= max(1, int(soak_seconds() // 18) - 1), figures.kills
    assert figures.postgres_restarts == 1
    assert figures.unexpected_exits == [], figures.unexpected_exits
    assert figures.generations > 0 and len(figures.cleaner_versions) >= 1
    assert figures.without_verdict == [], figures.without_verdict[:10]
    assert figures.duplicate_verdicts == [], figures.duplicate_verdicts[:10]
    assert figures.datasets >= 1 and figures.jobs >= 1 and figures.decisions >= 1 and figures.routes_checked >= 1
    assert (figures.duplicate_examples, figures.duplicate_datasets, figures.duplicate_jobs,
            figures.duplicate_decisions) == (0, 0, 0, 0)
    assert figures.route_mismatches == [], figures.route_mismatches
    for kind, k in figures.bad.items():
        assert k.fed > 0 and k.lost == 0, (kind, k, figures.logs)
