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


async def test_a_refused_request_is_a_json_401_that_says_which_header_to_send():
    async with client(["token-a"]) as http:
        answer = await http.get("/v1/routes/voice-agent")
    assert answer.status_code == 401
    assert answer.json() == {"error": "unauthorized: send Authorization: Bearer <token> (one of DISTILLERY_API_TOKENS)"}
    assert answer.headers["content-type"] == "application/json" and answer.headers["www-authenticate"] == "Bearer"
    assert int(answer.headers["content-length"]) == len(answer.content)


async def test_the_scheme_is_read_in_any_case_and_the_token_after_any_spaces():
    async with client(["token-a"]) as http:
        for header in ("BEARER token-a", "bearer  token-a", "Bearer token-a "):
            assert (await http.get("/v1/routes/voice-agent", headers={"Authorization": header})).status_code == 200


def test_a_client_sends_the_header_only_with_a_token():
    from distillery_runtime.auth import bearer_headers

    assert bearer_headers("t0k") == {"Authorization": "Bearer t0k"}
    assert bearer_headers(None) == {} and bearer_headers("") == {}


def test_the_local_token_is_made_once_in_a_new_home_and_read_back_without_its_newline(tmp_path):
    home = tmp_path / "a" / "new" / "home"
    assert local_token(home, create=False) is None and not (home / "keys").exists()
    made = local_token(home)
    assert made is not None and len(made) == 43  # 32 random bytes, URL-safe base64
    assert (home / "keys" / "api-token").read_text(encoding="utf-8") == made + "\n"
    assert local_token(home) == made and local_token(home, create=False) == made
