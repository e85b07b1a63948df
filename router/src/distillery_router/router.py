"""Sticky, monotone assignment of calls to arms.

A call lands in one of ``BUCKETS`` buckets by a hash of its route and call id, so the
same call always lands in the same bucket in every process and after every restart.
Arms own consecutive bucket ranges in table order, so a weight change moves only the
buckets between the old and the new boundary.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from hashlib import blake2b

from distillery_router.table import Arm, RouteTable

BUCKETS = 10_000
_SEPARATOR = b"\x00"

log = logging.getLogger(__name__)


class UnknownRoute(LookupError):
    """``choose`` was asked for a route that has no table (and no default arm is set)."""

    def __init__(self, route: str, known: Iterable[str]) -> None:
        self.route = route
        known_list = sorted(known)
        super().__init__(
            f"no routing table for route {route!r} (known routes: {known_list or 'none yet'}); "
            "is the follower running, or should the router have a default arm?"
        )


def bucket_of(route: str, call_id: str) -> int:
    """The bucket in ``[0, BUCKETS)`` that a call occupies on a route.

    This function is part of the routing contract: changing it reshuffles every live
    call, so it is pinned by a test.
    """
    digest = blake2b(route.encode() + _SEPARATOR + call_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


@dataclass(frozen=True, slots=True)
class CompiledTable:
    """A table turned into what ``choose`` needs: arm i owns buckets below thresholds[i]."""

    table: RouteTable
    prefix: bytes
    thresholds: tuple[int, ...]
    arms: tuple[Arm, ...]

    @classmethod
    def compile(cls, table: RouteTable) -> CompiledTable:
        # Rounding the cumulative share (not each weight) keeps boundaries monotone in
        # the weights and makes the last boundary exactly BUCKETS.
        thresholds: list[int] = []
        cumulative = 0.0
        for arm in table.arms:
            cumulative += arm.weight
            thresholds.append(min(BUCKETS, round(cumulative * BUCKETS / 100)))
        thresholds[-1] = BUCKETS
        return cls(
            table=table,
            prefix=table.route.encode() + _SEPARATOR,
            thresholds=tuple(thresholds),
            arms=table.arms,
        )


class Router:
    """Holds one table per route and assigns calls to arms.

    ``choose`` is lock-free: ``update`` swaps a whole compiled table in one dict
    assignment, so a reader sees either the old table or the new one.
    """

    def __init__(self, tables: Iterable[RouteTable] = (), *, default_arm: Arm | None = None) -> None:
        self._compiled: dict[str, CompiledTable] = {}
        self._write_lock = threading.Lock()
        self.default_arm = default_arm
        for table in tables:
            self.update(table)

    def choose(self, route: str, call_id: str) -> Arm:
        """The arm that serves ``call_id`` on ``route`` under the current table."""
        compiled = self._compiled.get(route)
        if compiled is None:
            return self._unknown(route)
        if not call_id:
            raise ValueError("call_id must be a non-empty string: an empty id would not be sticky")
        digest = blake2b(compiled.prefix + call_id.encode(), digest_size=8).digest()
        bucket = int.from_bytes(digest, "big") % BUCKETS
        return compiled.arms[bisect_right(compiled.thresholds, bucket)]

    def update(self, table: RouteTable) -> bool:
        """Apply ``table`` if it is newer than the one held; True when it was applied."""
        with self._write_lock:
            current = self._compiled.get(table.route)
            if current is not None and table.version <= current.table.version:
                if table.version < current.table.version:
                    log.info("ignored routing table %s v%s: v%s is in force",
                             table.route, table.version, current.table.version)
                return False
            self._compiled[table.route] = CompiledTable.compile(table)
            return True

    def table(self, route: str) -> RouteTable | None:
        """The table in force for ``route``, or None."""
        compiled = self._compiled.get(route)
        return compiled.table if compiled else None

    def tables(self) -> list[RouteTable]:
        """Every table in force, sorted by route."""
        return [self._compiled[route].table for route in sorted(self._compiled)]

    @property
    def routes(self) -> list[str]:
        return sorted(self._compiled)

    def _unknown(self, route: str) -> Arm:
        if self.default_arm is not None:
            return self.default_arm
        raise UnknownRoute(route, self._compiled)


_default_router = Router()


def default_router() -> Router:
    """The process-wide router behind the module-level ``choose``."""
    return _default_router


def choose(route: str, call_id: str) -> Arm:
    """Assign a call with the process-wide router (see ``default_router``)."""
    return _default_router.choose(route, call_id)
