"""Bad records the chaos soak feeds, each kind where it arrives in production.

At the Langfuse edge (the sandbox's OTLP endpoint, as an application's SDK sends): a
generation over the services' event limit, and one whose text holds a lone surrogate. Straight
onto ``traces.raw``: a body that is not UTF-8, a body with a lone surrogate escape, a wrong
schema version header, and exact copies of records already there (duplicate event ids).
Every record is remembered by the id it can be found again by.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from kafka_helpers import ReadMessage
from topic_reader import read_all

from distillery_contracts.registry import TRACES_RAW
from distillery_contracts.traces import observation_event_id

BAD_KINDS = ("oversized", "lone_surrogate_langfuse", "invalid_utf8", "lone_surrogate_topic",
             "wrong_schema_version", "duplicate_id")
PER_ROUND = 2


@dataclass
class Fed:
    kind: str
    ident: str
    """Observation id (Langfuse edge, lone surrogate on the topic), event id (topic), or the
    copied record's event id (duplicates)."""
    project_id: str | None = None


@dataclass
class BadRecords:
    bootstrap: str
    langfuse_url: str
    keys: tuple[str, str]
    run: str
    oversized_bytes: int
    fed: list[Fed] = field(default_factory=list)

    async def feed_round(self) -> None:
        await self._langfuse_round()
        await self._topic_round()

    # --- the Langfuse edge ----------------------------------------------------------------

    async def _langfuse_round(self) -> None:
        spans, fed = [], []
        for n in range(PER_ROUND):
            big = "x" * self.oversized_bytes
            span_id = secrets.token_hex(8)
            spans.append(_generation_span(span_id, f"Please repeat this: {n}", f"Sure. {big}"))
            fed.append(Fed("oversized", span_id))
            span_id = secrets.token_hex(8)
            # the escape is read as a lone surrogate by every JSON parser on the way
            spans.append(_generation_span(span_id, "Can I book for Tuesday? \\ud83d", "Yes, Tuesday at 10 \\ud83d"))
            fed.append(Fed("lone_surrogate_langfuse", span_id))
        body = {"resourceSpans": [{"resource": {"attributes": [_attr("langfuse.environment", "production")]},
                                   "scopeSpans": [{"scope": {"name": "langfuse-sdk"}, "spans": spans}]}]}
        async with httpx.AsyncClient(base_url=self.langfuse_url, timeout=60, auth=self.keys) as client:
            response = await client.post("/api/public/otel/v1/traces", content=json.dumps(body),
                                         headers={"content-type": "application/json"})
            response.raise_for_status()
        self.fed += fed

    # --- straight onto traces.raw ------------------------------------------------------------

    async def _topic_round(self) -> None:
        template = await self._a_captured_trace()
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap)
        await producer.start()
        try:
            body = json.loads(template.value)
            project = body["project_id"]
            for n in range(PER_ROUND):
                tag = f"soak-{self.run}-{secrets.token_hex(4)}"
                await self._send(producer, "invalid_utf8", tag, template.headers, tag,
                                 template.value.replace(b'"project_id"', b'"project_id\xff\xfe"', 1))
                # a version this consumer cannot read: below the first, or a later one whose
                # body no longer fits the version it knows (a later body that still fits is read)
                await self._send(producer, "wrong_schema_version", f"{tag}-v0", {**template.headers,
                                 "schema-version": "0"}, f"{tag}-v0", template.value)
                later = {"observation_ref": {"project": project, "id": body["observation_id"]}, "format": 99}
                await self._send(producer, "wrong_schema_version", f"{tag}-v99", {**template.headers,
                                 "schema-version": "99"}, f"{tag}-v99", json.dumps(later).encode())
                observation = f"{tag}-sur"
                event_id = observation_event_id(project, observation)
                surrogate = {**body, "observation_id": observation}
                await self._send(producer, "lone_surrogate_topic", event_id, template.headers, observation,
                                 _with_surrogate_text(surrogate).encode(), project)
            for copy in (await self._captured_traces())[:PER_ROUND + 1]:
                await producer.send_and_wait(TRACES_RAW, copy.value, key=copy.key.encode() if copy.key else None,
                                             headers=[(k, v.encode()) for k, v in copy.headers.items()])
                self.fed.append(Fed("duplicate_id", copy.headers["event-id"], json.loads(copy.value)["project_id"]))
        finally:
            await producer.stop()

    async def _send(self, producer: AIOKafkaProducer, kind: str, event_id: str, headers: dict[str, str],
                    ident: str, value: bytes, project: str | None = None) -> None:
        headers = {**headers, "event-id": event_id}
        await producer.send_and_wait(TRACES_RAW, value, key=ident.encode(),
                                     headers=[(k, v.encode()) for k, v in headers.items()])
        self.fed.append(Fed(kind, ident, project))

    async def _captured_traces(self) -> list[ReadMessage]:
        return [m for m in await read_all(self.bootstrap, TRACES_RAW)
                if m.headers.get("event-type") == "TraceCaptured" and m.headers.get("schema-version") == "1"
                and not (m.key or "").startswith("soak-")]

    async def _a_captured_trace(self, timeout: float = 120.0) -> ReadMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = await self._captured_traces()
            if found:
                return found[0]
            await asyncio.sleep(2.0)
        raise RuntimeError("no TraceCaptured on traces.raw to copy: the ingester published nothing")

    def of_kind(self, kind: str) -> list[Fed]:
        return [f for f in self.fed if f.kind == kind]


def _with_surrogate_text(body: dict[str, Any]) -> str:
    """``body`` as JSON whose last message's text ends in an escaped lone surrogate."""
    marker = "\u2603SOAK\u2603"
    messages = body.get("input_messages") or []
    if messages and isinstance(messages[-1], dict) and isinstance(messages[-1].get("content"), str):
        messages[-1]["content"] += marker
        return json.dumps(body).replace(json.dumps(marker)[1:-1], "\\ud83d", 1)
    return json.dumps(body)


def _attr(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "value": {"stringValue": value}}


def _generation_span(span_id: str, question: str, answer: str) -> dict[str, Any]:
    now = time.time_ns()
    raw_in = json.dumps([{"role": "system", "content": "You are the clinic's voice agent."},
                         {"role": "user", "content": question}])
    raw_out = json.dumps({"role": "assistant", "content": answer})
    # json.dumps escaped the backslash of "\\ud83d": undo it so the attribute holds the escape itself
    raw_in, raw_out = (s.replace("\\\\ud83d", "\\ud83d") for s in (raw_in, raw_out))
    attributes = [_attr("langfuse.observation.type", "generation"),
                  _attr("langfuse.observation.model.name", "gpt-4.1"),
                  _attr("langfuse.observation.input", raw_in), _attr("langfuse.observation.output", raw_out),
                  _attr("langfuse.observation.usage_details", json.dumps({"prompt_tokens": 20, "completion_tokens": 8})),
                  _attr("session.id", f"soak-call-{span_id}")]
    return {"traceId": secrets.token_hex(16), "spanId": span_id, "name": "voice-agent",
            "startTimeUnixNano": str(now - 2_000_000_000), "endTimeUnixNano": str(now - 1_000_000_000),
            "attributes": attributes, "status": {"code": 1}}
