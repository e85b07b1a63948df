"""The Langfuse reader contract (services/trace_ingester/tests) run on ``HttpLangfuseReader``
against the sandbox's Langfuse API, in process."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest
from contract_suites import contract_suite

from distillery_sandbox.langfuse import LangfuseStore, Project, create_app
from distillery_trace_ingester.adapters.langfuse_client import HttpLangfuseReader
from distillery_trace_ingester.config import LangfuseProject

pytestmark = pytest.mark.integration

contract = contract_suite("trace_ingester", "test_langfuse_reader_contract")

KEYS = ("pk-lf-contract", "sk-lf-contract")
_TIMES = ("startTime", "endTime", "completionStartTime", "timestamp", "createdAt", "updatedAt")


def stored(record: dict) -> dict:
    """The sandbox keeps times as datetimes; the samples carry the API's ISO strings."""
    return {k: datetime.fromisoformat(v.replace("Z", "+00:00")) if k in _TIMES and isinstance(v, str) else v
            for k, v in record.items()}


class TestHttpLangfuseReader(contract.LangfuseReaderContract):
    @pytest.fixture
    async def langfuse(self):
        readers: list[HttpLangfuseReader] = []

        def make(observations, scores, page_size):
            store = LangfuseStore("clinic")
            for record in observations:
                store.put_observation(stored(record))
            for score in map(stored, scores):  # as an evaluator would send it
                store.add_score(score["name"], score["value"], trace_id=score["subject"]["traceId"],
                                observation_id=score["subject"]["id"], data_type=score["dataType"],
                                source=score["source"], timestamp=score["timestamp"], score_id=score["id"])
            app = create_app([Project(public_key=KEYS[0], secret_key=KEYS[1], store=store)])
            project = LangfuseProject(project_id="clinic", host="http://langfuse.test", public_key=KEYS[0],
                                      secret_key=KEYS[1])
            readers.append(HttpLangfuseReader(project, page_size=page_size, score_page_size=page_size,
                                              transport=httpx.ASGITransport(app=app)))
            return readers[-1]

        yield make
        for reader in readers:
            await reader.close()

    @pytest.fixture
    async def refusing(self):
        app = create_app([Project(public_key=KEYS[0], secret_key=KEYS[1], store=LangfuseStore("clinic"))])
        project = LangfuseProject(project_id="clinic", host="http://langfuse.test", public_key=KEYS[0],
                                  secret_key="sk-lf-wrong")
        reader = HttpLangfuseReader(project, transport=httpx.ASGITransport(app=app), max_attempts=1)
        yield reader
        await reader.close()
