"""A router follows the routing topic on a broker that wants SASL/SCRAM: the credentials it
is given reach the consumer."""

from __future__ import annotations

from distillery_router.kafka_source import KafkaTableSource


async def test_the_consumer_is_made_with_the_security_options_given():
    source = KafkaTableSource("kafka:9092", consumer_options={
        "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "router", "sasl_plain_password": "secret"})

    consumer = source._create_consumer()

    client = consumer._client  # aiokafka keeps them on its client
    assert (client._security_protocol, client._sasl_mechanism) == ("SASL_PLAINTEXT", "SCRAM-SHA-512")
    assert (client._sasl_plain_username, client._sasl_plain_password) == ("router", "secret")
