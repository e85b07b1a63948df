"""Generate the committed JSON Schemas from the event models, refusing breaking changes.

    python -m distillery_contracts.schemagen            # write contracts/schemas/
    python -m distillery_contracts.schemagen --check    # exit 1 if stale or breaking
    python -m distillery_contracts.schemagen --allow-breaking   # accept a breaking change

Layout: ``<topic>/<EventType>.v<N>.json`` per event (older versions of an event still on
its topic are kept as history), ``registry.json`` for the topic registry, ``README.md``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillery_contracts.base import Event, TopicSpec
from distillery_contracts.compat import breaking_changes, registry_breaking_changes
from distillery_contracts.registry import all_topic_specs

SCHEMAS_DIR = Path(__file__).resolve().parents[2] / "schemas"
REGISTRY_FILE = "registry.json"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_VERSIONED_NAME = re.compile(r"^(?P<event>[A-Za-z0-9_]+)\.v(?P<version>[0-9]+)\.json$")

README = """\
# Generated JSON Schemas: do not edit

Everything in this folder is generated from the pydantic models in
`contracts/src/distillery_contracts/` by

    uv run python -m distillery_contracts.schemagen

`<topic>/<EventType>.v<N>.json` is the schema of one event on one topic, `registry.json`
the topic registry (keys, partitions, retention, events). Tests fail when these files
are stale or when a model change would break them: a breaking change (a field removed,
retyped or newly required, an enum value removed) belongs on a new topic version,
published beside the old one while consumers migrate.
"""


def schema_path(spec: TopicSpec, event: type[Event]) -> str:
    """Path of an event's schema, relative to the schemas folder."""
    return f"{spec.name}/{event.event_type}.v{event.schema_version}.json"


def event_schema(spec: TopicSpec, event: type[Event]) -> dict[str, Any]:
    """The JSON Schema of one event on one topic, with its topic and version."""
    schema = event.model_json_schema()
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$id"] = schema_path(spec, event)
    schema["x-event-type"] = event.event_type
    schema["x-schema-version"] = event.schema_version
    schema["x-topic"] = spec.name
    return schema


def registry_document(specs: list[TopicSpec]) -> dict[str, Any]:
    """The topic registry as committed in ``registry.json``."""
    topics = {}
    for spec in specs:
        topics[spec.name] = {
            "description": spec.description,
            "key": spec.key,
            "partitions": spec.partitions,
            "retention_ms": spec.retention_ms,
            "compacted": spec.compacted,
            "config": spec.topic_config(),
            "events": {
                e.event_type: {"schema_version": e.schema_version, "schema": schema_path(spec, e)}
                for e in spec.events
            },
        }
    return {"topics": topics}


def dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def render() -> dict[str, str]:
    """Every generated file: relative path -> content."""
    specs = all_topic_specs()
    files = {"README.md": README, REGISTRY_FILE: dump(registry_document(specs))}
    for spec in specs:
        for event in spec.events:
            files[schema_path(spec, event)] = dump(event_schema(spec, event))
    return files


@dataclass
class Plan:
    """What a run would change in the schemas folder, and what of that is breaking."""

    writes: dict[str, str] = field(default_factory=dict)
    deletions: list[str] = field(default_factory=list)
    breaking: list[str] = field(default_factory=list)

    @property
    def stale(self) -> bool:
        return bool(self.writes or self.deletions)


def plan(out_dir: Path) -> Plan:
    """Compare the rendered files with those in ``out_dir``."""
    rendered, result = render(), Plan()
    committed = _committed_files(out_dir)
    for path, content in rendered.items():
        if committed.get(path) != content:
            result.writes[path] = content
        baseline = _baseline(path, committed)
        if baseline is not None and path.endswith(".json"):
            result.breaking += _breaking(path, committed[baseline], content)
    for path in sorted(set(committed) - set(rendered)):
        if not _kept_as_history(path, rendered):
            result.deletions.append(path)
            if path != REGISTRY_FILE:
                result.breaking.append(f"{path}: event schema removed (its event left the topic)")
    return result


def _committed_files(out_dir: Path) -> dict[str, str]:
    if not out_dir.is_dir():
        return {}
    paths = [p for p in out_dir.rglob("*") if p.is_file() and p.suffix in (".json", ".md")]
    return {p.relative_to(out_dir).as_posix(): p.read_text(encoding="utf-8") for p in paths}


def _baseline(path: str, committed: dict[str, str]) -> str | None:
    """The committed file a new schema must stay compatible with: same file, else the
    newest older version of the same event on the same topic."""
    if path in committed:
        return path
    folder, _, name = path.rpartition("/")
    match = _VERSIONED_NAME.match(name)
    if not match:
        return None
    older = [
        (int(m["version"]), candidate)
        for candidate in committed
        if candidate.rpartition("/")[0] == folder
        and (m := _VERSIONED_NAME.match(candidate.rpartition("/")[2]))
        and m["event"] == match["event"]
        and int(m["version"]) < int(match["version"])
    ]
    return max(older)[1] if older else None


def _kept_as_history(path: str, rendered: dict[str, str]) -> bool:
    """An older version of an event that is still on its topic stays as history."""
    folder, _, name = path.rpartition("/")
    match = _VERSIONED_NAME.match(name)
    if not match:
        return False
    return any(
        p.rpartition("/")[0] == folder
        and (m := _VERSIONED_NAME.match(p.rpartition("/")[2]))
        and m["event"] == match["event"]
        and int(m["version"]) > int(match["version"])
        for p in rendered
    )


def _breaking(path: str, old_text: str, new_text: str) -> list[str]:
    old, new = json.loads(old_text), json.loads(new_text)
    if path == REGISTRY_FILE:
        return registry_breaking_changes(old, new)
    return [f"{path}: {problem}" for problem in breaking_changes(old, new)]


def apply(result: Plan, out_dir: Path) -> None:
    for path, content in result.writes.items():
        target = out_dir / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    for path in result.deletions:
        (out_dir / path).unlink()
        if not any((out_dir / path).parent.iterdir()):
            (out_dir / path).parent.rmdir()


def _report_breaking(result: Plan) -> None:
    print("Breaking change(s) against the committed schemas:", file=sys.stderr)
    for problem in result.breaking:
        print(f"  - {problem}", file=sys.stderr)
    print(
        "Consumers and messages already on these topics could not read the new payloads. "
        "Publish a new topic version (e.g. distillery.<stream>.v2) beside the old one instead, "
        "or pass --allow-breaking if no one reads the old version any more.",
        file=sys.stderr,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m distillery_contracts.schemagen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 if stale or breaking"
    )
    parser.add_argument(
        "--allow-breaking", action="store_true", help="write even a breaking change"
    )
    parser.add_argument(
        "--out", type=Path, default=SCHEMAS_DIR, help=f"schemas folder (default {SCHEMAS_DIR})"
    )
    args = parser.parse_args(argv)
    result = plan(args.out)
    if args.check:
        return _check(result)
    if result.breaking and not args.allow_breaking:
        _report_breaking(result)
        return 1
    apply(result, args.out)
    print(f"{len(result.writes)} file(s) written, {len(result.deletions)} removed in {args.out}")
    return 0


def _check(result: Plan) -> int:
    for path in result.writes:
        print(f"stale: {path} (regenerate with python -m distillery_contracts.schemagen)")
    for path in result.deletions:
        print(f"stale: {path} is no longer generated")
    if result.breaking:
        _report_breaking(result)
    return 1 if result.stale or result.breaking else 0


if __name__ == "__main__":
    sys.exit(main())
