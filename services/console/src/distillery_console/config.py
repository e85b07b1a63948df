"""Console settings, from ``DISTILLERY_CONSOLE_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    """How the console pages read and refresh."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_CONSOLE_", extra="ignore",
                                      env_ignore_empty=True)

    refresh_s: float = Field(default=5.0, gt=0, description="How often an open page refreshes its live parts.")
    calls_per_day: float = Field(default=10_000.0, gt=0,
                                 description="Calls per day the monthly saving on the overview is projected for.")
    page_size: int = Field(default=50, ge=1, le=500, description="Answers per page on the answer-by-answer page.")
    read_model: str = Field(default="main", min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                            description="Name of the read model: the consumer groups are "
                            "distillery.console.<name>.<stream>, so a new name on an empty schema rebuilds "
                            "every page by replaying the topics from their earliest offset.")
    langfuse_host: str | None = Field(default=None,
                                      description="Langfuse URL; when set, answers link to their trace there.")
