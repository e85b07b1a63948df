"""Fencing tokens: what a holder did under a lock it has since lost is never saved.

An advisory lock (``locks.py``) says who leads *now*, but a leader cut off from the database
(a stalled process, a broken connection it has not noticed yet) may still be half-way through
a round when another instance takes over. So each time a lock is won its holder takes the next
token of that name, and every transaction that saves the holder's work first checks that its
token is still the newest. The check reads the row ``for share``: a new holder's increment waits
for the old holder's transaction in flight, and every later save of the old holder fails with
:class:`LostLease`, which abandons the work instead of writing it.

Each service that fences creates ``fencing_tokens (name text primary key, token bigint not null)``
in a frozen migration revision of its own.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from distillery_runtime.locks import LockLost


class LostLease(LockLost):
    """Another holder took the lock or lease since this one was granted; nothing it did since is saved."""


_TAKE = text("""
    insert into fencing_tokens (name, token) values (:n, 1)
    on conflict (name) do update set token = fencing_tokens.token + 1
    returning token
""")
_CURRENT = text("select token from fencing_tokens where name = :n for share")


async def take_token(session: AsyncSession, name: str) -> int:
    """The next token of ``name`` (in the caller's transaction); every older one is fenced off
    once it commits."""
    return int((await session.execute(_TAKE, {"n": name})).scalar_one())


async def hold_token(session: AsyncSession, name: str, token: int) -> None:
    """Raise :class:`LostLease` unless ``token`` is still the newest of ``name``; until the caller's
    transaction ends no newer token can be taken."""
    current = (await session.execute(_CURRENT, {"n": name})).scalar_one_or_none()
    if current != token:
        raise LostLease(f"{name}: token {token} was superseded by {current}; the work done under it is dropped")
