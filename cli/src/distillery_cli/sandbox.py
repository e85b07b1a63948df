"""`distillery sandbox ...`: local simulations of the external services, never the real thing."""

from __future__ import annotations

from typing import Annotated

import typer

sandbox_app = typer.Typer(
    help="Run local simulations of external services (for tests and demos only).",
    no_args_is_help=True,
)



@sandbox_app.callback()
def sandbox() -> None:
    """Simulated services; each one prints that it is a simulation when it starts."""


def _rate(what: str) -> typer.models.OptionInfo:
    return typer.Option(min=0.0, max=1.0, help=f"Rate of {what} (0 to 1).")


def _key_pairs(keys: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for key in keys:
        public, sep, secret = key.partition(":")
        if not sep or not public or not secret:
            raise typer.BadParameter(f"{key!r} is not PUBLIC_KEY:SECRET_KEY", param_hint="--keys")
        pairs.append((public, secret))
    return pairs


@sandbox_app.command("langfuse")
def langfuse(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 3000,
    seed: Annotated[
        int, typer.Option(help="Seed of the simulated traffic (project i uses seed+i).")
    ] = 7,
    calls: Annotated[
        int, typer.Option(min=0, help="Simulated calls to load into each project at start.")
    ] = 1000,
    keys: Annotated[
        list[str],
        typer.Option("--keys", help="PUBLIC:SECRET key pair of a project; repeat for more projects."),
    ] = ["pk-lf-sandbox:sk-lf-sandbox"],  # noqa: B006 (Typer reads the default, never mutates it)
    lag_seconds: Annotated[
        float, typer.Option(min=0.0, help="Seconds before an ingested item shows in the API.")
    ] = 0.0,
    cut: Annotated[float, _rate("calls cut mid-turn (per generation)")] = 0.02,
    truncated: Annotated[float, _rate("answers truncated at max_tokens (per text answer)")] = 0.03,
    error: Annotated[float, _rate("ERROR-level generations (per generation)")] = 0.02,
    hallucination: Annotated[
        float, _rate("hallucinated answers flagged by a score (per text answer)")
    ] = 0.04,
    near_duplicate: Annotated[float, _rate("near-duplicate calls (per call)")] = 0.05,
    pii: Annotated[float, _rate("calls where the caller speaks personal data (per call)")] = 0.06,
    other_model: Annotated[float, _rate("generations from other models (per generation)")] = 0.03,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the Langfuse sandbox: the public API on simulated clinic voice traffic."""
    # Imported here so the CLI starts without the sandbox package where it is not installed.
    from distillery_sandbox.langfuse import SandboxSettings, serve
    from distillery_sandbox.workload import DefectRates

    try:
        defects = DefectRates(cut=cut, truncated=truncated, error=error,
                              hallucination=hallucination, near_duplicate=near_duplicate,
                              pii=pii, other_model=other_model)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = SandboxSettings(keys=_key_pairs(keys), seed=seed, calls=calls, defects=defects,
                               lag_seconds=lag_seconds)
    serve(host, port, settings, log_level=log_level)
