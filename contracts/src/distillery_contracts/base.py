"""Base classes shared by every contract: events, commands and topic specifications."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from pydantic import BaseModel, ConfigDict


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

    def event_id(self) -> str | None:
        """Deterministic event id, or None to let the producer assign a random one."""
        return None

    def partition_key(self) -> str | None:
        """Key that keeps related events in order (None: no ordering needed)."""
        return None


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
