"""`POST /api/public/otel/v1/traces`: OTLP spans (protobuf or JSON) to Langfuse observations.

The attribute names are the ones the `langfuse` SDK 5.x sets (see its
`_client/attributes.py`), plus the common `gen_ai.*` conventions for other OTel
instrumentations, so a generation recorded with the SDK reads back from the v2 API.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from distillery_sandbox.langfuse.filters import QueryError
from distillery_sandbox.langfuse.otlp_mapping import observation_from_span


@dataclass(frozen=True)
class OtlpSpan:
    """A span with ids as hex, attributes as plain Python values."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    start: datetime
    end: datetime | None
    attributes: dict[str, Any]
    resource: dict[str, Any]
    status_code: int
    status_message: str | None


def decode_body(body: bytes, content_type: str, content_encoding: str | None) -> list[OtlpSpan]:
    """The spans of an ExportTraceServiceRequest; QueryError when it cannot be read."""
    body = _decompress(body, (content_encoding or "").lower())
    if "json" in content_type.lower():
        try:
            return _spans_from_json(json.loads(body))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise QueryError(f"not an OTLP JSON ExportTraceServiceRequest: {exc}") from exc
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except DecodeError as exc:
        raise QueryError(f"not an OTLP protobuf ExportTraceServiceRequest: {exc}") from exc
    return _spans_from_protobuf(request)


def observations_from_body(body: bytes, content_type: str, content_encoding: str | None,
                           project_id: str) -> list[dict[str, Any]]:
    return [observation_from_span(span, project_id)
            for span in decode_body(body, content_type, content_encoding)]


def _decompress(body: bytes, encoding: str) -> bytes:
    try:
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, zlib.error) as exc:
        raise QueryError(f"body is not valid {encoding}: {exc}") from exc
    if encoding not in ("", "identity"):
        raise QueryError(f"unsupported Content-Encoding {encoding!r}; use gzip or none")
    return body


def _from_nanos(nanos: int | str | None) -> datetime | None:
    if nanos in (None, 0, "0", ""):
        return None
    try:
        return datetime.fromtimestamp(int(nanos) / 1e9, tz=timezone.utc)
    except (OverflowError, OSError) as exc:  # beyond a float or the platform's time_t: a 400, not a 500
        raise ValueError(f"time of {str(nanos)[:40]} ns is out of range") from exc


def _any_value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind)


def _spans_from_protobuf(request: ExportTraceServiceRequest) -> list[OtlpSpan]:
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _any_value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(OtlpSpan(
                    trace_id=span.trace_id.hex(),
                    span_id=span.span_id.hex(),
                    parent_span_id=span.parent_span_id.hex() or None,
                    name=span.name,
                    start=_from_nanos(span.start_time_unix_nano) or datetime.now(timezone.utc),
                    end=_from_nanos(span.end_time_unix_nano),
                    attributes={a.key: _any_value(a.value) for a in span.attributes},
                    resource=resource,
                    status_code=span.status.code,
                    status_message=span.status.message or None,
                ))
    return spans


def _json_value(value: dict[str, Any] | None) -> Any:
    if not value:
        return None
    if "arrayValue" in value:
        return [_json_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return {kv["key"]: _json_value(kv.get("value")) for kv in value["kvlistValue"].get("values", [])}
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    for kind in ("stringValue", "boolValue", "bytesValue"):
        if kind in value:
            return value[kind]
    return None


def _json_id(raw: str | None) -> str | None:
    """OTLP JSON carries ids as hex; some exporters send base64 instead."""
    if not raw:
        return None
    try:
        int(raw, 16)
        return raw.lower()
    except ValueError:
        try:
            return base64.b64decode(raw).hex()
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"span id {raw!r} is neither hex nor base64") from exc


def _json_status(status: dict[str, Any] | None) -> tuple[int, str | None]:
    status = status or {}
    code = status.get("code", 0)
    if isinstance(code, str):
        code = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}.get(code, 0)
    return int(code), status.get("message") or None


def _spans_from_json(payload: dict[str, Any]) -> list[OtlpSpan]:
    spans = []
    for resource_spans in payload["resourceSpans"]:
        attributes = (resource_spans.get("resource") or {}).get("attributes") or []
        resource = {a["key"]: _json_value(a.get("value")) for a in attributes}
        for scope_spans in resource_spans.get("scopeSpans") or []:
            for span in scope_spans.get("spans") or []:
                code, message = _json_status(span.get("status"))
                spans.append(OtlpSpan(
                    trace_id=_json_id(span["traceId"]),
                    span_id=_json_id(span["spanId"]),
                    parent_span_id=_json_id(span.get("parentSpanId")),
                    name=span.get("name") or "",
                    start=_from_nanos(span.get("startTimeUnixNano")) or datetime.now(timezone.utc),
                    end=_from_nanos(span.get("endTimeUnixNano")),
                    attributes={a["key"]: _json_value(a.get("value"))
                                for a in span.get("attributes") or []},
                    resource=resource,
                    status_code=code,
                    status_message=message,
                ))
    return spans
