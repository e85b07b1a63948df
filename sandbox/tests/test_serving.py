import io

import distillery_sandbox.langfuse as langfuse_sandbox
from distillery_cli.sandbox import sandbox_app
from distillery_sandbox.langfuse import SandboxSettings, build_sandbox, serve
from distillery_sandbox.langfuse import server as server_module
from distillery_sandbox.langfuse.store import PageRequest
from distillery_sandbox.workload import DefectRates
from typer.testing import CliRunner


def test_serve_prints_the_simulation_banner_before_it_listens(monkeypatch):
    out, started = io.StringIO(), []
    monkeypatch.setattr(server_module.uvicorn, "run",
                        lambda app, **options: started.append((out.getvalue(), options)))
    serve("127.0.0.1", 3999, SandboxSettings(calls=3), out=out)
    printed, options = started[0]
    assert printed.startswith("SIMULATION: this is the Distillery Langfuse sandbox, not Langfuse")
    assert "pk-lf-sandbox" in printed and "http://127.0.0.1:3999" in printed
    assert (options["host"], options["port"]) == ("127.0.0.1", 3999)


def test_each_key_pair_gets_its_own_project_with_its_own_traffic():
    _, projects = build_sandbox(SandboxSettings(keys=[("pk-a", "sk-a"), ("pk-b", "sk-b")], calls=4))
    first, second = (p.store for p in projects)
    assert first.project_id != second.project_id

    def trace_ids(store):
        page = store.observations_page(PageRequest(limit=1000))
        return {record["traceId"] for record in page.records}

    assert len(trace_ids(first)) == len(trace_ids(second)) == 4
    assert not trace_ids(first) & trace_ids(second)


def test_the_cli_passes_its_options_to_the_sandbox(monkeypatch):
    calls = []
    monkeypatch.setattr(langfuse_sandbox, "serve", lambda *args, **kw: calls.append((args, kw)))
    result = CliRunner().invoke(sandbox_app, [
        "langfuse", "--port", "4100", "--seed", "3", "--calls", "25", "--lag-seconds", "90",
        "--keys", "pk-1:sk-1", "--keys", "pk-2:sk-2", "--hallucination", "0.2", "--pii", "0",
    ])
    assert result.exit_code == 0, result.output
    (host, port, settings), _ = calls[0]
    assert (host, port) == ("127.0.0.1", 4100)
    assert list(settings.keys) == [("pk-1", "sk-1"), ("pk-2", "sk-2")]
    assert (settings.seed, settings.calls, settings.lag_seconds) == (3, 25, 90.0)
    assert settings.defects == DefectRates(cut=0.02, truncated=0.03, error=0.02, hallucination=0.2,
                                           near_duplicate=0.05, pii=0.0, other_model=0.03)


def test_the_cli_refuses_impossible_rates_and_malformed_keys():
    runner = CliRunner()
    too_many = runner.invoke(sandbox_app, ["langfuse", "--cut", "0.7", "--error", "0.5"])
    assert too_many.exit_code == 2 and "must not exceed 1" in too_many.output
    bad_key = runner.invoke(sandbox_app, ["langfuse", "--keys", "just-one-key"])
    assert bad_key.exit_code == 2 and "PUBLIC_KEY:SECRET_KEY" in bad_key.output
