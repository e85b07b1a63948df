"""Reading one Langfuse project through its public API, with retries that honour Retry-After.

``GET /api/public/v2/observations`` (GENERATION, a start-time range, cursor pages of up
to 1,000, only the field groups the mapping needs) and ``GET /api/public/v3/scores``
(a timestamp range, pages of up to 100, with each score's subject). 429 and 5xx
answers and transport errors are retried with exponential backoff, or after exactly
``Retry-After`` when Langfuse says how long to wait. 401/403 (bad keys) and 404 (not a
Langfuse server) are configuration errors: the ingester stops and says what to fix.
"""

from __future__ import annotations

import abc
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import stamina

from distillery_runtime.logs import get_logger
from distillery_trace_ingester.config import LangfuseProject
from distillery_trace_ingester.domain.windows import to_millis
from distillery_trace_ingester.metrics import LANGFUSE_REQUESTS, LANGFUSE_RETRIES

log = get_logger(__name__)

OBSERVATIONS_PATH = "/api/public/v2/observations"
SCORES_PATH = "/api/public/v3/scores"
OBSERVATION_FIELDS = "basic,time,io,metadata,model,usage,prompt,trace_context"
"""Every group the mapping reads; `core` always comes, `metrics` is derived from `time`."""
SCORE_FIELDS = "details,subject"


class LangfuseError(Exception):
    """Langfuse could not be read this time (down, rate limiting beyond our patience)."""


class LangfuseConfigError(LangfuseError):
    """Langfuse refused us in a way only a person can fix (keys, host)."""


class _Retryable(Exception):
    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def iso(moment: datetime) -> str:
    """Langfuse's own timestamp format: UTC, milliseconds, a trailing Z."""
    return to_millis(moment.astimezone(UTC)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class AbstractLangfuseReader(abc.ABC):
    """Reads generations and scores of one project."""

    project_id: str

    @abc.abstractmethod
    async def check_access(self) -> None:
        """One cheap request; LangfuseConfigError when the keys or the host are wrong."""

    @abc.abstractmethod
    def generations(self, start: datetime, end: datetime) -> AsyncIterator[list[dict[str, Any]]]:
        """Pages of GENERATION observations with ``start <= startTime < end``."""

    @abc.abstractmethod
    async def scores(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Every score with ``start <= timestamp < end``, with its subject."""

    async def close(self) -> None:
        """Release connections."""


class HttpLangfuseReader(AbstractLangfuseReader):
    """The public API over httpx; ``transport`` lets tests answer in-process."""

    def __init__(self, project: LangfuseProject, *, page_size: int = 1000, score_page_size: int = 100,
                 timeout_s: float = 30.0, max_attempts: int = 8, max_retry_after_s: float = 300.0,
                 expand_metadata: Sequence[str] = (), transport: httpx.AsyncBaseTransport | None = None,
                 wait_initial_s: float = 0.5, wait_max_s: float = 30.0) -> None:
        self.project_id = project.project_id
        self.host = project.host
        self._page_size = page_size
        self._score_page_size = score_page_size
        self._max_attempts = max_attempts
        self._max_retry_after_s = max_retry_after_s
        self._expand = ",".join(expand_metadata)
        self._wait = (wait_initial_s, wait_max_s)
        self._client = httpx.AsyncClient(
            base_url=project.host, auth=(project.public_key, project.secret_key.get_secret_value()),
            timeout=timeout_s, transport=transport, headers={"accept": "application/json"},
        )

    async def close(self) -> None:
        await self._client.aclose()

    async def check_access(self) -> None:
        await self._get(OBSERVATIONS_PATH, {"type": "GENERATION", "limit": 1})

    async def generations(self, start: datetime, end: datetime) -> AsyncIterator[list[dict[str, Any]]]:
        params: dict[str, Any] = {"type": "GENERATION", "fromStartTime": iso(start), "toStartTime": iso(end),
                                  "limit": self._page_size, "fields": OBSERVATION_FIELDS}
        if self._expand:
            params["expandMetadata"] = self._expand
        async for page in self._pages(OBSERVATIONS_PATH, params):
            yield page

    async def scores(self, start: datetime, end: datetime) -> list[dict[str, Any]]:
        params = {"fromTimestamp": iso(start), "toTimestamp": iso(end),
                  "limit": self._score_page_size, "fields": SCORE_FIELDS}
        return [score async for page in self._pages(SCORES_PATH, params) for score in page]

    async def _pages(self, path: str, params: dict[str, Any]) -> AsyncIterator[list[dict[str, Any]]]:
        cursor: str | None = None
        while True:
            body = await self._get(path, {**params, "cursor": cursor} if cursor else params)
            data = body.get("data") if isinstance(body, dict) else None
            if not isinstance(data, list):
                raise LangfuseError(f"{self._where(path)} answered without a 'data' list")
            yield data
            meta = body.get("meta") if isinstance(body.get("meta"), dict) else {}
            following = meta.get("cursor")
            if not following or not data:
                return
            if following == cursor:
                raise LangfuseError(f"{self._where(path)} returned the same cursor twice")
            cursor = following

    async def _get(self, path: str, params: dict[str, Any]) -> Any:
        try:
            async for attempt in stamina.retry_context(
                on=self._retry_hook, attempts=self._max_attempts, timeout=None,
                wait_initial=self._wait[0], wait_max=self._wait[1],
            ):
                with attempt:
                    response = await self._client.get(path, params=params)
                    LANGFUSE_REQUESTS.labels(self.project_id, str(response.status_code)).inc()
                    self._check(response, path)
        except _Retryable as exc:
            raise LangfuseError(f"{self._where(path)} still answers HTTP {exc.status} after "
                                f"{self._max_attempts} attempts") from None
        except httpx.TransportError as exc:
            raise LangfuseError(f"cannot reach {self._where(path)}: {type(exc).__name__} "
                                f"after {self._max_attempts} attempts") from None
        try:
            # A byte that is not UTF-8 becomes U+FFFD in its record (the mapping makes the rest
            # of the text safe): refusing the page would stall the project's capture on it.
            return json.loads(response.content.decode("utf-8", "replace"))
        except (ValueError, RecursionError):
            raise LangfuseError(f"{self._where(path)} answered with something that is not JSON") from None

    def _check(self, response: httpx.Response, path: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status in (401, 403):
            raise LangfuseConfigError(
                f"Langfuse at {self.host} refused the API keys of project '{self.project_id}' "
                f"(HTTP {status}): check its public_key and secret_key (DISTILLERY_INGESTER_PROJECTS, "
                "or DISTILLERY_LANGFUSE_PUBLIC_KEY / DISTILLERY_LANGFUSE_SECRET_KEY)")
        if status == 404:
            raise LangfuseConfigError(
                f"{self.host} has no {path} (HTTP 404) for project '{self.project_id}': is the host a "
                "Langfuse server with the v2 observations API? Fix its host setting")
        if status == 429 or status >= 500:
            raise _Retryable(status, retry_after_seconds(response.headers.get("retry-after")))
        raise LangfuseError(f"{self._where(path)} rejected the request (HTTP {status}): "
                            f"{_error_message(response)}")

    def _retry_hook(self, exc: Exception) -> bool | float:
        if isinstance(exc, _Retryable):
            LANGFUSE_RETRIES.labels(self.project_id, str(exc.status)).inc()
            log.warning("langfuse busy; retrying", project=self.project_id, status=exc.status,
                        retry_after_s=exc.retry_after)
            if exc.retry_after is not None:
                return min(exc.retry_after, self._max_retry_after_s)
            return True
        if isinstance(exc, httpx.TransportError):
            LANGFUSE_RETRIES.labels(self.project_id, type(exc).__name__).inc()
            log.warning("langfuse unreachable; retrying", project=self.project_id, error=type(exc).__name__)
            return True
        return False

    def _where(self, path: str) -> str:
        return f"Langfuse project '{self.project_id}' at {self.host}{path}"


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"][:300]
    return str(body)[:200]
