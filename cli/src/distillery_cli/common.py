"""Helpers every CLI command uses: settings, one-line errors, async bridging."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable, Sequence
from functools import wraps
from typing import Any, Callable, NoReturn, TypeVar

import typer
from rich.console import Console, RenderableType
from rich.table import Column, Table

from distillery_cli.extras import install_hint, missing_extra
from distillery_contracts.base import Command
from distillery_contracts.registry import topic_for
from distillery_runtime.entrypoint import load_settings
from distillery_runtime.errors import ConfigError
from distillery_runtime.settings import RuntimeSettings

console = Console()
err_console = Console(stderr=True)

T = TypeVar("T")


def settings() -> RuntimeSettings:
    return load_settings(RuntimeSettings)


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def broker_bootstrap() -> str:
    """The configured broker's address, once it answers (else one line saying how to start it)."""
    from distillery_runtime.kafka import check_broker

    bootstrap = settings().kafka_bootstrap
    run_async(check_broker(bootstrap))
    return bootstrap


def send_command(command: Command) -> None:
    """Publish one command on its topic (from the registry), after checking the broker answers."""
    from distillery_runtime.kafka import publish_events

    bootstrap = broker_bootstrap()
    run_async(publish_events(bootstrap, topic_for(type(command)).name, [command], producer="cli/0.1.0"))


def print_table(columns: Sequence[str | Column], rows: Iterable[Sequence[RenderableType]], **options: Any) -> None:
    """``rows`` under ``columns`` as one table; ``options`` (title, ...) go to rich's Table."""
    table = Table(*columns, **options)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def die(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def friendly(func: Callable[..., T]) -> Callable[..., T]:
    """Turn configuration errors and a missing optional part into one line, not a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            die(str(exc))
        except ModuleNotFoundError as exc:
            extra = missing_extra(exc)
            if extra is None:
                raise
            die(install_hint(extra))

    return wrapper
