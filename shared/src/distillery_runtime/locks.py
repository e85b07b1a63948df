"""PostgreSQL advisory locks: one holder of a name at a time, across every instance of a service.

A lock is taken on a dedicated connection and lives as long as that connection: if the
process dies or the connection breaks, the server releases it and another instance can
take over. Holders therefore check their connection between steps (:meth:`HeldLock.check`)
and stop acting as soon as it is gone, rather than trusting a lock they may have lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

_TRY_LOCK = text("select pg_try_advisory_lock(hashtext(:n))")
_UNLOCK = text("select pg_advisory_unlock(hashtext(:n))")
_ALIVE = text("select 1")


class LockLost(Exception):
    """The connection holding an advisory lock is gone, so the lock may be someone else's now."""


async def try_lock(conn: AsyncConnection, name: str) -> bool:
    """Take ``name`` for ``conn``'s session if nobody holds it; True when taken."""
    held = bool((await conn.execute(_TRY_LOCK, {"n": name})).scalar())
    await conn.commit()
    return held


async def unlock(conn: AsyncConnection, name: str) -> None:
    await conn.execute(_UNLOCK, {"n": name})
    await conn.commit()


class HeldLock:
    """A lock this process holds, on the connection that holds it."""

    def __init__(self, conn: AsyncConnection, name: str) -> None:
        self.conn = conn
        self.name = name

    async def check(self) -> None:
        """Raise :class:`LockLost` when the holding connection no longer answers."""
        try:
            await self.conn.execute(_ALIVE)
            await self.conn.commit()
        except Exception as exc:
            raise LockLost(f"lost the advisory lock {self.name!r}: {type(exc).__name__}") from exc


@asynccontextmanager
async def advisory_lock(engine: AsyncEngine, name: str) -> AsyncIterator[HeldLock | None]:
    """Try to take ``name`` on a connection of its own; yields the held lock, or None when
    another session holds it.

    Released on exit; work on ``HeldLock.conn`` that was not committed is rolled back first.
    A connection that cannot release the lock (broken mid-transaction) is discarded rather
    than returned to the pool still holding it, where it would block every later taker.
    """
    async with engine.connect() as conn:
        if not await try_lock(conn, name):
            yield None
            return
        try:
            yield HeldLock(conn, name)
        finally:
            try:
                await conn.rollback()
                await unlock(conn, name)
            except Exception:
                with suppress(Exception):
                    await conn.invalidate()
