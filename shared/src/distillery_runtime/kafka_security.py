"""How every Kafka client of the project authenticates and encrypts: SASL/SCRAM over TLS in
production (docker-compose.yml), plain text on the local stack (Tansu has neither).

One settings class, mixed into :class:`~distillery_runtime.settings.RuntimeSettings` so the
variables are documented with the others, and read on its own by clients made outside a
service (the CLI, the router). FastStream's security objects are the one translation: the
service's broker takes them, and :func:`parse_security` turns them into the keyword
arguments of aiokafka's producers, consumers and admin clients.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any, Literal

from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512
from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from distillery_runtime.errors import ConfigError

_SASL = {"SCRAM-SHA-512": SASLScram512, "SCRAM-SHA-256": SASLScram256, "PLAIN": SASLPlaintext}


class KafkaSecuritySettings(BaseSettings):
    """The broker's security protocol, the SASL identity and the TLS files of this process."""

    model_config = SettingsConfigDict(env_prefix="DISTILLERY_", extra="ignore", env_ignore_empty=True)

    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        default="PLAINTEXT", description="How clients talk to Kafka: PLAINTEXT (the local stack), SSL, "
        "SASL_PLAINTEXT or SASL_SSL (production: docker-compose.yml).")
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        default="SCRAM-SHA-512", description="SASL mechanism when the protocol is SASL_*.")
    kafka_sasl_username: str | None = Field(
        default=None, description="SASL user of this service (the broker's ACLs are granted to it).")
    kafka_sasl_password: SecretStr | None = Field(default=None, description="SASL password of that user.")
    kafka_ssl_cafile: Path | None = Field(
        default=None, description="CA certificate that signed the broker's (SSL, SASL_SSL); unset: the "
        "system's trusted CAs.")
    kafka_ssl_certfile: Path | None = Field(default=None, description="Client certificate (mutual TLS), if any.")
    kafka_ssl_keyfile: Path | None = Field(default=None, description="Key of the client certificate.")

    @model_validator(mode="after")
    def _sasl_needs_an_identity(self) -> KafkaSecuritySettings:
        if self.kafka_security_protocol.startswith("SASL_") and not (
                self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(f"DISTILLERY_KAFKA_SECURITY_PROTOCOL is {self.kafka_security_protocol}: set "
                             "DISTILLERY_KAFKA_SASL_USERNAME and DISTILLERY_KAFKA_SASL_PASSWORD too")
        if (self.kafka_ssl_keyfile is None) != (self.kafka_ssl_certfile is None):
            raise ValueError("DISTILLERY_KAFKA_SSL_CERTFILE and DISTILLERY_KAFKA_SSL_KEYFILE go together")
        return self

    def kafka_security(self) -> BaseSecurity | None:
        """FastStream's security object for these settings; None for PLAINTEXT."""
        protocol = self.kafka_security_protocol
        if protocol == "PLAINTEXT":
            return None
        context = self._ssl_context() if protocol.endswith("SSL") else None
        if protocol == "SSL":
            return BaseSecurity(ssl_context=context, use_ssl=True)
        assert self.kafka_sasl_username and self.kafka_sasl_password  # checked by the validator
        return _SASL[self.kafka_sasl_mechanism](
            self.kafka_sasl_username, self.kafka_sasl_password.get_secret_value(),
            ssl_context=context, use_ssl=context is not None)

    def kafka_client_options(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's clients (empty for PLAINTEXT)."""
        security = self.kafka_security()
        return parse_security(security) if security is not None else {}

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(
            cafile=str(self.kafka_ssl_cafile) if self.kafka_ssl_cafile else None)
        if self.kafka_ssl_certfile and self.kafka_ssl_keyfile:
            context.load_cert_chain(str(self.kafka_ssl_certfile), str(self.kafka_ssl_keyfile))
        return context


def kafka_client_options() -> dict[str, Any]:
    """This process's security options for an aiokafka client, read from the environment."""
    return _settings().kafka_client_options()


def kafka_security() -> BaseSecurity | None:
    """This process's FastStream security object, read from the environment."""
    return _settings().kafka_security()


def _settings() -> KafkaSecuritySettings:
    try:
        return KafkaSecuritySettings()
    except ValidationError as exc:
        first = exc.errors(include_input=False, include_url=False)[0]
        raise ConfigError(str(first["msg"]).removeprefix("Value error, ")) from None
