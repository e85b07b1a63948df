#!/bin/bash
# Who may do what on the broker (allow.everyone.if.no.acl.found=false: nothing else).
# Every service reads and writes the distillery.* topics and commits offsets in the
# distillery.* consumer groups; writing routing.table is DENIED to all but the
# rollout-controller (a DENY wins over any ALLOW), so no other service, and no one holding
# another service's password, can steer the routers.
set -euo pipefail
ACLS="/opt/kafka/bin/kafka-acls.sh --bootstrap-server 127.0.0.1:19092"
ROUTING_TABLE=distillery.routing.table.v1
for service in $SERVICES; do
  $ACLS --add --allow-principal "User:$service" --operation Read --operation Write --operation Describe \
    --topic distillery. --resource-pattern-type prefixed
  $ACLS --add --allow-principal "User:$service" --operation Read --operation Describe \
    --group distillery. --resource-pattern-type prefixed
  if [ "$service" != rollout-controller ]; then
    $ACLS --add --deny-principal "User:$service" --operation Write --topic "$ROUTING_TABLE"
  fi
done
# The voice platform's routers (distillery_router.KafkaTableSource, no consumer group) only read
# the routing table.
$ACLS --add --allow-principal User:router --operation Read --operation Describe --topic "$ROUTING_TABLE"
