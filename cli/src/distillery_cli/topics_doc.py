"""The README's topic reference, generated from the topic registry (``make docs``)."""

from __future__ import annotations

from distillery_contracts.registry import all_topic_specs

TOPICS_MARKERS = ("<!-- topics-reference:start -->", "<!-- topics-reference:end -->")
DAY_MS = 86_400_000


def topics_markdown() -> str:
    """One row per topic: what it carries, its events, key, partitions and retention."""
    rows = ["| topic | carries | events | key | partitions | retention |", "|---|---|---|---|---|---|"]
    dead_letter = []
    for spec in all_topic_specs():
        if spec.name.endswith(".dlq"):
            dead_letter.append(spec)
            continue
        events = ", ".join(f"`{e.__name__}` v{e.schema_version}" for e in spec.events)
        rows.append(f"| `{spec.name}` | {spec.description} | {events} | {spec.key} | {spec.partitions} "
                    f"| {_retention(spec)} |")
    lines = rows
    if dead_letter:
        sample = dead_letter[0]
        lines += ["", f"Every topic has a dead-letter topic `<topic>.dlq` ({sample.partitions} partitions, "
                      f"{_retention(sample)}): a `DeadLettered` event per message that could not be "
                      "decoded or whose handler kept failing, with the original key, headers and "
                      "value, the error, the source partition and offset, the consumer group and the "
                      "attempts."]
    return "\n".join(lines) + "\n"


def _retention(spec) -> str:
    if spec.compacted:
        return "compacted"
    if spec.retention_ms is None:
        return "forever"
    days = spec.retention_ms / DAY_MS
    return f"{days:g} days"
