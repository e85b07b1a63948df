"""python -m distillery_router.bench: figures for choose() and for the HTTP endpoint."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from distillery_router import RouteTable
from distillery_router.bench import TARGET_P99_NS, bench_choose, main

TableFactory = Callable[..., RouteTable]


@pytest.fixture
def routing_server(table_of: TableFactory) -> Iterator[str]:
    """A real HTTP server answering GET /v1/routes/voice-agent like the controller."""
    body = table_of(version=1, student=90, teacher=10).model_dump_json().encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            found = self.path == "/v1/routes/voice-agent"
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_prints_decisions_per_second_and_latency_percentiles_of_choose(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--calls", "5000"]) == 0

    out = capsys.readouterr().out
    assert "choose() in process: 5,000 operations" in out
    for label in ("per second", "p50", "p99", "target p99 of choose() < 20 µs"):
        assert label in out


def test_json_output_holds_consistent_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--calls", "5000", "--json"]) == 0

    (report,) = json.loads(capsys.readouterr().out)
    assert report["operations"] == 5000 and report["errors"] == 0
    assert 0 < report["p50_ns"] <= report["p99_ns"] <= report["max_ns"]
    assert report["per_second"] > 0


def test_choose_meets_the_p99_target_of_20_microseconds() -> None:
    assert bench_choose(50_000).p99_ns < TARGET_P99_NS


def test_times_the_http_endpoint_when_given_a_url(
    routing_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--calls", "1000", "--url", routing_server, "--requests", "200", "--json"]) == 0

    in_process, http = json.loads(capsys.readouterr().out)
    assert http["name"] == f"GET {routing_server}/v1/routes/voice-agent"
    assert (http["operations"], http["errors"]) == (200, 0)
    assert http["p99_ns"] >= http["p50_ns"] > 0


def test_fails_clearly_when_the_endpoint_does_not_know_the_route(
    routing_server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--calls", "1000", "--url", routing_server, "--route", "billing", "--requests", "20"]) == 2

    assert "every request failed, e.g. HTTP 404" in capsys.readouterr().err


def test_says_so_when_the_endpoint_is_unreachable(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]

    code = main(["--calls", "1000", "--url", f"http://127.0.0.1:{closed_port}", "--requests", "5"])

    assert code == 2
    assert "every request failed" in capsys.readouterr().err


def test_refuses_too_few_calls_for_a_p99(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--calls", "10"]) == 2
    assert "--calls must be at least 100" in capsys.readouterr().err
