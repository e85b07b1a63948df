"""Sticky, monotone traffic routing between models for the voice platform.

    router = Router()
    async with RoutingTableFollower(router, routes=["voice-agent"],
                                    base_url="http://rollout-controller:8080",
                                    table_keys=TableKeys.load("rollout-controller.pub.json")):
        arm = router.choose("voice-agent", call_id)   # arm.model, arm.provider, ...
"""

from distillery_router.follower import RoutingTableFollower
from distillery_router.http_source import HttpTableSource, TableUnavailable
from distillery_router.kafka_source import ROUTING_TOPIC, KafkaTableSource
from distillery_router.router import (
    BUCKETS,
    Router,
    UnknownRoute,
    bucket_of,
    choose,
    default_router,
)
from distillery_router.signature import TableKeyError, TableKeys
from distillery_router.table import Arm, RouteTable
from distillery_router.table_file import TableFile

__all__ = [
    "BUCKETS",
    "ROUTING_TOPIC",
    "Arm",
    "HttpTableSource",
    "KafkaTableSource",
    "RouteTable",
    "Router",
    "RoutingTableFollower",
    "TableFile",
    "TableKeyError",
    "TableKeys",
    "TableUnavailable",
    "UnknownRoute",
    "bucket_of",
    "choose",
    "default_router",
]
