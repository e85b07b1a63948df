"""Erasing one caller: the command every service that holds callers' data obeys, and what each
one reports it removed.

The command names a caller by Langfuse session id (one phone call) or trace id (one turn). Each
service consumes it with a group of its own and erases from its own tables in its own
transaction, as for any other message, so an erasure reaches every store once each service is
running, and a service that was down catches up from its offset.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, Field, model_validator

from distillery_contracts.base import Command, Event


class EraseCaller(Command):
    """Remove one caller's data from every store the project owns (``distillery privacy erase``)."""

    event_type: ClassVar[str] = "EraseCaller"
    schema_version: ClassVar[int] = 1

    session_id: str | None = Field(default=None, min_length=1, description="Langfuse session id to erase.")
    trace_id: str | None = Field(default=None, min_length=1, description="Langfuse trace id to erase.")

    @model_validator(mode="after")
    def _names_a_caller(self) -> EraseCaller:
        if (self.session_id is None) == (self.trace_id is None):
            raise ValueError("an erasure names exactly one of session_id and trace_id")
        return self

    def partition_key(self) -> str:
        return self.session_id or self.trace_id or ""


class StoreErasure(BaseModel):
    """What one store of a service removed."""

    store: str = Field(min_length=1, description="The table or file set, e.g. 'dataset-builder.examples'.")
    removed: int = Field(ge=0, description="Rows or lines removed.")
    note: str | None = Field(default=None, description="What the store keeps and why, if anything.")


class CallerErased(Event):
    """One service has erased the caller named by an EraseCaller from its stores."""

    event_type: ClassVar[str] = "CallerErased"
    schema_version: ClassVar[int] = 1

    erasure_id: str = Field(min_length=1, description="command_id of the EraseCaller.")
    service: str = Field(min_length=1, description="The service that erased.")
    session_id: str | None = Field(default=None, description="Session id the command named.")
    trace_id: str | None = Field(default=None, description="Trace id the command named.")
    stores: list[StoreErasure] = Field(description="Every store of the service that can hold callers' data.")

    def event_id(self) -> str:
        return f"{self.erasure_id}:{self.service}"

    def partition_key(self) -> str:
        return self.erasure_id
