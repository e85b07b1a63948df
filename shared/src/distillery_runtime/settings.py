"""Settings every service shares, read from ``DISTILLERY_*`` environment variables.

Services subclass :class:`RuntimeSettings` to add their own fields. When neither
``DISTILLERY_KAFKA_BOOTSTRAP`` nor ``DISTILLERY_DATABASE_URL`` is set, the values
written by ``distillery stack up`` are used, so a developer only starts the stack.
A service that publishes files adds :class:`BlobStoreSettings` to its own settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from distillery_runtime.blobstore import AbstractBlobStore, open_blob_store
from distillery_runtime.kafka_security import KafkaSecuritySettings
from distillery_runtime.sizes import DEFAULT_MAX_EVENT_BYTES
from distillery_runtime.stackstate import read_stack_state


class RuntimeSettings(KafkaSecuritySettings):
    """Connection, delivery and observability settings common to all services."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_", extra="ignore", env_ignore_empty=True)

    kafka_bootstrap: str = Field(
        default="", description="Kafka bootstrap servers, host:port[,host:port]; unset: the local stack's "
        "(stack.json), else 127.0.0.1:9092.")
    database_url: SecretStr | None = Field(
        default=None, description="PostgreSQL URL, postgresql://user:pass@host:5432/db; unset: the local "
        "stack's (stack.json).")
    home: Path = Field(default=Path(".distillery"),
                       description="Where local state lives: stack files, datasets, reports.")
    http_host: str = Field(default="127.0.0.1", description="Health/metrics server bind address.")
    http_port: int = Field(default=0, ge=0, le=65535, description="Health/metrics port (0: any free port).")
    api_tokens: SecretStr | None = Field(
        default=None, description="Bearer tokens every HTTP endpoint but /healthz and /readyz requires "
        "(metrics, routing table, rollouts, reports), comma-separated to rotate; unset: the local stack's, "
        "<DISTILLERY_HOME>/keys/api-token, created at first start.")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING or ERROR.")
    log_format: str = Field(default="console", pattern="^(json|console)$",
                            description="console for people; json for one JSON object per line.")
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000, description="Records per consumed batch.")
    consumer_batch_timeout_ms: int = Field(default=200, ge=1, description="How long a batch waits to fill.")
    consumer_session_timeout_ms: int = Field(
        default=10_000, ge=1_500, le=300_000,
        description="Consumer group session timeout; Tansu also waits half of it on every join.")
    handler_attempts: int = Field(default=5, ge=1, le=50, description="Tries before dead-lettering.")
    handler_backoff_s: float = Field(default=0.2, ge=0, description="First retry delay; doubles each try.")
    outbox_poll_s: float = Field(default=0.5, gt=0,
                                 description="How often the outbox relay looks for unsent events.")
    outbox_batch_size: int = Field(default=1000, ge=1,
                                   description="Events the outbox relay publishes per round.")
    max_event_bytes: int = Field(
        default=DEFAULT_MAX_EVENT_BYTES, ge=16 * 1024,
        description="Largest event a service writes, in bytes (key, body and headers of one record). "
        "Must match the broker's message.max.bytes and every topic's max.message.bytes (Kafka's "
        "default 1,048,588), less room for a record batch's framing: an event over it is never "
        "written to the outbox (the message that caused it is dead-lettered with the reason), a dead "
        "letter is cut to fit it, and an outbox row over it is moved to the dead-letter topic.")
    shutdown_grace_s: float = Field(default=15.0, ge=0,
                                    description="Time to finish the batch in flight on SIGTERM.")
    inbox_retention_margin_days: float = Field(
        default=14.0, ge=1,
        description="Days a consumer remembers an applied event beyond its topic's retention; its inbox row is "
        "then deleted. The broker may deliver an event again as long as it keeps it (a replay, or a group "
        "whose offsets expired restarting from the earliest), and deletes it only with its whole log "
        "segment, up to 7 days late. Topics kept for ever keep their rows for ever.")
    retention_interval_s: float = Field(
        default=3600.0, gt=0,
        description="How often a service deletes rows past their retention (its inbox and its own tables "
        "that grow with traffic).")
    upkeep_interval_s: float = Field(
        default=30.0, gt=0,
        description="How often a service looks at its own tables when the database server's autovacuum is "
        "off, to vacuum and analyse those that autovacuum would (with autovacuum on it leaves them to it).")
    retention_batch_size: int = Field(
        default=5000, ge=1, le=1_000_000,
        description="Rows deleted per transaction; a full batch is followed by the next at once.")

    @field_validator("kafka_bootstrap")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _fill_from_local_stack(self) -> RuntimeSettings:
        if self.kafka_bootstrap and self.database_url:
            return self
        state = read_stack_state(self.home)
        if not self.kafka_bootstrap:
            self.kafka_bootstrap = state.kafka_bootstrap if state else "127.0.0.1:9092"
        if self.database_url is None and state is not None:
            self.database_url = SecretStr(state.database_url)
        return self

    def accepted_tokens(self) -> list[str]:
        """The bearer tokens this service's HTTP server accepts (see distillery_runtime.auth)."""
        from distillery_runtime.auth import local_token, parse_tokens

        if self.api_tokens is not None:
            return parse_tokens(self.api_tokens.get_secret_value())
        token = local_token(self.home)
        return [token] if token else []

    def client_token(self) -> str | None:
        """The token a client of this deployment sends: the first configured, or the local stack's
        if it exists (a client never creates one)."""
        from distillery_runtime.auth import local_token, parse_tokens

        if self.api_tokens is not None:
            return next(iter(parse_tokens(self.api_tokens.get_secret_value())), None)
        return local_token(self.home, create=False)

    def require_database_url(self) -> str:
        from distillery_runtime.errors import ConfigError

        if self.database_url is None:
            raise ConfigError(
                "DISTILLERY_DATABASE_URL is not set and no local stack is running: "
                "run 'distillery stack up' or set DISTILLERY_DATABASE_URL=postgresql://user@host:5432/db"
            )
        return self.database_url.get_secret_value()


class BlobStoreSettings(BaseSettings):
    """Where a service publishes its file sets (see blobstore.py): a local directory, or an
    S3-compatible bucket whose sets are staged in that directory first.

    A service's settings class subclasses this under its own ``env_prefix``, redeclares
    ``s3_prefix`` with the key prefix of its files, and keeps the local directory as a field
    of its own (its name says what the directory holds); :meth:`open_blob_store` takes it.
    """

    blob_store: Literal["local", "s3"] = Field(
        default="local", description="Where published files go: local (a directory) or s3 (a bucket).")
    s3_bucket: str | None = Field(default=None, description="Bucket, when blob_store is s3.")
    s3_prefix: str = Field(default="", description="Key prefix of the files in the bucket.")
    s3_endpoint_url: str | None = Field(default=None, description="S3-compatible endpoint (MinIO, R2, ...).")
    s3_region: str | None = Field(default=None, description="Region of the bucket.")

    @model_validator(mode="after")
    def _s3_needs_bucket(self) -> Self:
        if self.blob_store == "s3" and not self.s3_bucket:
            prefix = self.model_config.get("env_prefix", "")
            raise ValueError(f"blob_store is s3 but {prefix}S3_BUCKET is not set")
        return self

    def open_blob_store(self, root: Path) -> AbstractBlobStore:
        """The configured store: files under ``root``, or in the bucket, staged under ``root``."""
        return open_blob_store(self.blob_store, root, bucket=self.s3_bucket, prefix=self.s3_prefix,
                               endpoint_url=self.s3_endpoint_url, region=self.s3_region)
