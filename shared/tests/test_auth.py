"""Every path of a service's HTTP server but the health checks needs a configured bearer token."""

from __future__ import annotations

import stat

import httpx
import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from distillery_runtime.auth import local_token
from distillery_runtime.health import build_app
from distillery_runtime.settings import RuntimeSettings


async def secret(_request) -> PlainTextResponse:
    return PlainTextResponse("the routing table")


def client(tokens: list[str]) -> httpx.AsyncClient:
    app = build_app("probe", lambda: {"database": True}, [Route("/v1/routes/{route}", secret)], tokens=tokens)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://service")


@pytest.mark.parametrize("headers", [
    {}, {"Authorization": "Bearer wrong"}, {"Authorization": "Bearer "}, {"Authorization": "Basic dG9rZW4tYQ=="},
    {"Authorization": "token-a"}, {"Authorization": "Bearer token-a-and-more"}, {"Authorization": "Bearer token-"},
])
async def test_metrics_and_service_routes_refuse_a_request_without_a_known_token(headers):
    async with client(["token-a", "token-b"]) as http:
        for path in ("/metrics", "/v1/routes/voice-agent", "/nowhere"):
            answer = await http.get(path, headers=headers)
            assert answer.status_code == 401, path
            assert answer.headers["www-authenticate"] == "Bearer" and "the routing table" not in answer.text


async def test_any_configured_token_opens_them_and_health_checks_stay_open():
    async with client(["token-a", "token-b"]) as http:
        for token in ("token-a", "token-b"):
            answer = await http.get("/v1/routes/voice-agent", headers={"Authorization": f"bearer {token}"})
            assert answer.status_code == 200 and answer.text == "the routing table"
        assert (await http.get("/metrics", headers={"Authorization": "Bearer token-b"})).status_code == 200
        assert (await http.get("/healthz")).status_code == 200 and (await http.get("/readyz")).status_code == 200


async def test_without_any_token_configured_nothing_but_health_answers():
    async with client([]) as http:
        assert (await http.get("/metrics", headers={"Authorization": "Bearer "})).status_code == 401
        assert (await http.get("/healthz")).status_code == 200


def test_tokens_come_from_the_setting_else_the_local_stacks_file_made_owner_only(tmp_path):
    assert RuntimeSettings(home=tmp_path, api_tokens=" a , b,").accepted_tokens() == ["a", "b"]
    assert RuntimeSettings(home=tmp_path, kafka_bootstrap="x:1").client_token() is None  # clients create none
    [made] = RuntimeSettings(home=tmp_path, kafka_bootstrap="x:1").accepted_tokens()
    assert len(made) >= 40 and local_token(tmp_path) == made
    assert stat.S_IMODE((tmp_path / "keys" / "api-token").stat().st_mode) == 0o600
    assert RuntimeSettings(home=tmp_path, kafka_bootstrap="x:1").client_token() == made


async def test_a_service_with_public_routes_still_guards_its_metrics():
    app = build_app("console", dict, [Route("/", secret)], tokens=["t"], public_routes=True)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://service") as http:
        assert (await http.get("/")).status_code == 200
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": "Bearer t"})).status_code == 200
