"""Kafka clients authenticate with SASL/SCRAM over TLS when the settings say so, and a half-given
identity is one clear line, not a connection that fails later."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import pytest
from faststream.security import SASLScram512

from distillery_runtime.errors import ConfigError
from distillery_runtime.kafka import create_broker
from distillery_runtime.kafka_security import kafka_client_options
from distillery_runtime.settings import RuntimeSettings


@pytest.fixture
def ca(tmp_path: Path) -> Path:
    key, cert = tmp_path / "ca.key", tmp_path / "ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=distillery-test-ca", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert


def test_plaintext_by_default_for_the_local_stack(monkeypatch):
    monkeypatch.delenv("DISTILLERY_KAFKA_SECURITY_PROTOCOL", raising=False)
    assert kafka_client_options() == {}


def test_sasl_ssl_gives_every_client_scram_credentials_and_a_tls_context_trusting_the_ca(monkeypatch, ca):
    monkeypatch.setenv("DISTILLERY_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("DISTILLERY_KAFKA_SASL_USERNAME", "cleaner")
    monkeypatch.setenv("DISTILLERY_KAFKA_SASL_PASSWORD", "s3cret")
    monkeypatch.setenv("DISTILLERY_KAFKA_SSL_CAFILE", str(ca))

    options = kafka_client_options()

    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("cleaner", "s3cret")
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert any(c["subject"] == ((("commonName", "distillery-test-ca"),),) for c in context.get_ca_certs())
    assert isinstance(create_broker("kafka:9093", "test").specification.security, SASLScram512)


def test_sasl_without_a_password_is_one_line_naming_the_variables(monkeypatch):
    monkeypatch.setenv("DISTILLERY_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("DISTILLERY_KAFKA_SASL_USERNAME", "cleaner")
    monkeypatch.delenv("DISTILLERY_KAFKA_SASL_PASSWORD", raising=False)

    with pytest.raises(ConfigError, match="set DISTILLERY_KAFKA_SASL_USERNAME and DISTILLERY_KAFKA_SASL_PASSWORD"):
        kafka_client_options()
    with pytest.raises(ValueError, match="DISTILLERY_KAFKA_SASL_PASSWORD"):
        RuntimeSettings(kafka_bootstrap="kafka:9093", database_url="postgresql://x@y/z")


def test_a_service_settings_class_carries_the_security_settings():
    settings = RuntimeSettings(kafka_bootstrap="kafka:9093", database_url="postgresql://x@y/z",
                               kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u",
                               kafka_sasl_password="p", kafka_sasl_mechanism="SCRAM-SHA-256")
    assert settings.kafka_client_options()["sasl_mechanism"] == "SCRAM-SHA-256"
