"""Console settings, from ``DISTILLERY_CONSOLE_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from distillery_runtime.model_calendar import ShutdownNoticeSettings
from distillery_runtime.signing import KeyFileError, SigningKey


class ConsoleSettings(ShutdownNoticeSettings, BaseSettings):
    """How the console pages read and refresh, and which routed models it warns of."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_CONSOLE_", extra="ignore",
                                      env_ignore_empty=True)

    refresh_s: float = Field(default=5.0, gt=0, description="How often an open page refreshes its live parts.")
    calls_per_day: float = Field(default=10_000.0, gt=0,
                                 description="Calls per day the monthly saving on the overview is projected for.")
    page_size: int = Field(default=25, ge=1, le=500,
                           description="Answers per page on the answer-by-answer page.")
    read_model: str = Field(default="main", min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$",
                            description="Name of the read model: the consumer groups are "
                            "distillery.console.<name>.<stream>, so a new name on an empty schema rebuilds "
                            "every page by replaying the topics from their earliest offset.")
    operator_keys: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Key files of the operators who steer from the page (distillery keys generate), "
        "comma-separated: each command is signed with the chosen operator's key, as the controller "
        "requires. Empty: commands are sent unsigned, and a controller that verifies refuses them.")
    langfuse_host: str | None = Field(default=None,
                                      description="Langfuse URL; when set, answers and the Data page's examples "
                                      "link to their trace there (<host>/project/<project>/traces/<trace id>).")
    item_retention_days: float = Field(default=90.0, gt=0,
                                       description="Days the read model keeps an evaluation item (a prompt and "
                                       "its answers: a caller's words when the prompt came from a call).")
    example_retention_days: float = Field(default=30.0, gt=0,
                                          description="Days the Data page keeps an accepted or rejected example "
                                          "(as long as the broker keeps examples.accepted/rejected).")
    dead_letter_retention_days: float = Field(default=30.0, gt=0,
                                              description="Days the Data page keeps a dead letter, whose message "
                                              "may hold a caller's words (as long as the broker keeps <topic>.dlq).")
    dead_letter_topics: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Topics whose dead letters (<topic>.dlq) the Data page shows, comma-separated; "
        "empty: every topic's.")
    health_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Services the overview shows as up or down, as name=url pairs, comma-separated "
        "(e.g. cleaner=http://cleaner:8080): the console asks each url's /readyz, which needs no token.")
    health_interval_s: float = Field(default=15.0, gt=0,
                                     description="Seconds between two probes of the services' health and the "
                                     "consumer groups' lag (never less than refresh_s).")

    session_hours: float = Field(default=12.0, gt=0, le=24 * 30,
                                 description="Hours a browser stays signed in to the console after pasting an "
                                 "API token on its sign-in page (the session cookie's lifetime).")

    @field_validator("dead_letter_topics", mode="before")
    @classmethod
    def _split_names(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("health_urls", mode="before")
    @classmethod
    def _split_pairs(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        bad = [pair for pair in value if not all(side.strip() for side in str(pair).partition("=")[::2])]
        if bad:
            raise ValueError(f"expected name=url pairs, got {', '.join(map(str, bad))!r}")
        return value

    def health_targets(self) -> dict[str, str]:
        """The services to probe: name -> base URL."""
        pairs = (pair.partition("=") for pair in self.health_urls)
        return {name.strip(): url.strip().rstrip("/") for name, _, url in pairs}

    @field_validator("operator_keys", mode="before")
    @classmethod
    def _split_paths(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    def signers(self) -> dict[str, SigningKey]:
        """The operators' keys by identity; ConfigError naming the file that is unusable."""
        from distillery_runtime.errors import ConfigError

        keys: dict[str, SigningKey] = {}
        for path in self.operator_keys:
            try:
                key = SigningKey.load(path)
            except KeyFileError as exc:
                raise ConfigError(f"DISTILLERY_CONSOLE_OPERATOR_KEYS: {exc}") from None
            keys[key.identity] = key
        return keys
