"""Base classes shared by every contract: events, commands and topic specifications."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import quote
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field


class Event(BaseModel):
    """A payload published on a topic.

    Subclasses set ``event_type`` (past tense for events, imperative for commands)
    and ``schema_version``; both travel in the envelope headers, never in the body.
    Unknown fields are ignored so that a consumer on version N reads N+1 payloads
    that only added optional fields.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    event_type: ClassVar[str]
    schema_version: ClassVar[int] = 1

    @classmethod
    def decode_json(cls, body: bytes) -> Self:
        """The event a JSON body holds, validated: what consumers decode with. An event type may
        decode faster, never differently (``TraceCaptured``)."""
        return cls.model_validate_json(body)

    def event_id(self) -> str | None:
        """Deterministic event id, or None to let the producer assign a random one."""
        return None

    def partition_key(self) -> str | None:
        """Key that keeps related events in order (None: no ordering needed)."""
        return None

    def shortened_to(self, max_bytes: int) -> Self:
        """This event with a JSON body of at most ``max_bytes``, where it can lose detail and
        still say what it must (a dead letter can drop the message it carries). Other events
        are whole or not at all: the base returns ``self``, and the producer refuses it."""
        return self


class Command(Event):
    """An imperative request from a person or a script, published on a command topic.

    Carries who asked and when, so that every forced or manual action is auditable,
    and a command id that lets a consumer ignore a command delivered twice.
    """

    command_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex,
        min_length=1,
        description="Unique id of this request; a redelivered command is applied once.",
    )
    requested_by: str = Field(
        min_length=1, description="Who asked: a user name, or 'scheduler'/'<service>' for automation."
    )
    requested_at: AwareDatetime = Field(
        default_factory=lambda: datetime.now(UTC), description="When the request was made."
    )

    def event_id(self) -> str:
        return self.command_id


def observation_event_id(project_id: str, observation_id: str) -> str:
    """The event id of what concerns one Langfuse observation: ``<project>:<observation>``.

    Langfuse observation ids are unique per project only, so the bare id let two projects'
    generations collide in every consumer's inbox (the second was taken for a redelivery and
    dropped). The project id is percent-encoded (``:`` and ``%`` at least), so no pair of parts
    can be shifted into another pair's id.
    """
    return f"{quote(project_id, safe='')}:{observation_id}"


def stable_hash(*parts: str, length: int = 32) -> str:
    """Hex digest identifying an ordered tuple of strings; the basis of deterministic ids."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


@dataclass(frozen=True)
class TopicSpec:
    """One topic in the registry: name, key, payload types, partitions and retention."""

    name: str
    events: tuple[type[Event], ...]
    key: str
    partitions: int = 12
    retention_ms: int | None = 7 * 24 * 3600 * 1000
    compacted: bool = False
    description: str = ""
    extra_config: dict[str, str] = field(default_factory=dict)

    @property
    def dlq(self) -> str:
        return f"{self.name}.dlq"

    def event_class(self, event_type: str) -> type[Event] | None:
        return next((e for e in self.events if e.event_type == event_type), None)

    def topic_config(self) -> dict[str, str]:
        config = dict(self.extra_config)
        if self.compacted:
            config["cleanup.policy"] = "compact"
        if self.retention_ms is not None and not self.compacted:
            config["retention.ms"] = str(self.retention_ms)
        return config
