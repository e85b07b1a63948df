#!/bin/bash
# The Kafka container's command: format the log directory once with a SCRAM user per
# service (passwords from the environment), start the broker, then apply acls.sh over the
# in-container listener.
set -euo pipefail
CONFIG=/etc/kafka/distillery/server.properties
SERVICES="trace-ingester cleaner dataset-builder finetune-controller evaluator rollout-controller trainer console"

password_of() {  # trace-ingester -> $KAFKA_TRACE_INGESTER_PASSWORD
  local var="KAFKA_$(echo "$1" | tr 'a-z-' 'A-Z_')_PASSWORD"
  printf '%s' "${!var:?$var is not set}"
}

if [ ! -f /var/lib/kafka/data/meta.properties ]; then
  args=(--add-scram "SCRAM-SHA-512=[name=admin,password=$(password_of admin)]")
  for service in $SERVICES router; do
    args+=(--add-scram "SCRAM-SHA-512=[name=$service,password=$(password_of "$service")]")
  done
  /opt/kafka/bin/kafka-storage.sh format --config "$CONFIG" --cluster-id "$CLUSTER_ID" "${args[@]}"
fi

/opt/kafka/bin/kafka-server-start.sh "$CONFIG" &
broker=$!
trap 'kill -TERM "$broker"; wait "$broker"' TERM INT
until /opt/kafka/bin/kafka-broker-api-versions.sh --bootstrap-server 127.0.0.1:19092 >/dev/null 2>&1; do
  sleep 2
done
SERVICES="$SERVICES" /bin/bash /etc/kafka/distillery/acls.sh
touch /tmp/acls-applied
wait "$broker"
