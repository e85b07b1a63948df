"""Backward-compatibility rules for committed JSON Schemas and the topic registry.

A change is breaking when a consumer built against the old schema, or a message
already on the topic, could no longer be read: a property removed, retyped (nested
``$defs`` included) or newly required, an enum value removed, a constraint tightened.
Adding an optional property is fine, since consumers ignore fields they do not know.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

_UNION_KEYS = ("anyOf", "oneOf")
_TIGHTER_IF_HIGHER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_TIGHTER_IF_LOWER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Every breaking difference from ``old`` to ``new``, as readable sentences."""
    walker = _Walker(old, new)
    walker.compare(old, new, old.get("title", "(root)"))
    return walker.problems


class _Walker:
    def __init__(self, old_doc: Schema, new_doc: Schema) -> None:
        self.docs = (old_doc, new_doc)
        self.problems: list[str] = []
        self._active: set[tuple[str, str]] = set()

    def compare(self, old: Schema, new: Schema, path: str) -> None:
        refs = (old.get("$ref", ""), new.get("$ref", ""))
        if all(refs) and refs in self._active:  # a recursive definition: already being compared
            return
        self._active.add(refs)
        try:
            self._compare_kinds(old, new, path)
        finally:
            self._active.discard(refs)

    def _compare_kinds(self, old: Schema, new: Schema, path: str) -> None:
        old_kinds, new_kinds = self._kinds(old, 0), self._kinds(new, 1)
        old_types = {k[0] for k in old_kinds}
        new_types = {k[0] for k in new_kinds}
        if old_types != new_types:
            self.problems.append(
                f"{path}: changed type from {_show(old_types)} to {_show(new_types)}"
            )
        for kind, old_node in old_kinds.items():
            new_node = new_kinds.get(kind) or _single_of(kind[0], new_kinds)
            if new_node is not None:
                self._compare_node(old_node, new_node, path)

    def _compare_node(self, old: Schema, new: Schema, path: str) -> None:
        self._compare_enums(old, new, path)
        self._compare_constraints(old, new, path)
        self._compare_properties(old, new, path)
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            self.compare(old["items"], new["items"], f"{path}[]")
        old_extra, new_extra = old.get("additionalProperties"), new.get("additionalProperties")
        if isinstance(old_extra, dict) and isinstance(new_extra, dict):
            self.compare(old_extra, new_extra, f"{path}{{}}")
        elif old_extra is not False and new_extra is False:
            self.problems.append(f"{path}: no longer accepts additional properties")

    def _compare_properties(self, old: Schema, new: Schema, path: str) -> None:
        old_props, new_props = old.get("properties", {}), new.get("properties", {})
        for name, old_prop in old_props.items():
            if name not in new_props:
                self.problems.append(f"{path}.{name}: property removed")
            else:
                self.compare(old_prop, new_props[name], f"{path}.{name}")
        newly_required = set(new.get("required", [])) - set(old.get("required", []))
        for name in sorted(newly_required):
            state = "optional property" if name in old_props else "new property"
            self.problems.append(f"{path}.{name}: {state} became required")

    def _compare_enums(self, old: Schema, new: Schema, path: str) -> None:
        old_values, new_values = _enum_values(old), _enum_values(new)
        if new_values is None:
            return
        if old_values is None:
            self.problems.append(f"{path}: now restricted to {sorted(map(str, new_values))}")
            return
        for value in sorted(old_values - new_values, key=str):
            self.problems.append(f"{path}: enum value {value!r} removed")

    def _compare_constraints(self, old: Schema, new: Schema, path: str) -> None:
        for name in (*_TIGHTER_IF_HIGHER, *_TIGHTER_IF_LOWER):
            if name not in new:
                continue
            before = old.get(name)
            tighter = before is None or (
                new[name] > before if name in _TIGHTER_IF_HIGHER else new[name] < before
            )
            if tighter and before is None:
                self.problems.append(f"{path}: new constraint {name} {new[name]}")
            elif tighter:
                self.problems.append(f"{path}: {name} tightened from {before} to {new[name]}")
        if "pattern" in new and new.get("pattern") != old.get("pattern"):
            self.problems.append(f"{path}: pattern changed to {new['pattern']!r}")

    def _kinds(self, node: Schema, side: int) -> dict[tuple[str, str], Schema]:
        """The alternatives a node accepts, keyed by (JSON type, model title)."""
        node = self._resolve(node, side)
        for union in _UNION_KEYS:
            if union in node:
                kinds: dict[tuple[str, str], Schema] = {}
                for option in node[union]:
                    kinds.update(self._kinds(option, side))
                return kinds
        if "allOf" in node and len(node["allOf"]) == 1:
            return self._kinds(node["allOf"][0], side)
        title = node.get("title", "") if _json_types(node) == ["object"] else ""
        return {(t, title): node for t in _json_types(node)}

    def _resolve(self, node: Schema, side: int) -> Schema:
        while "$ref" in node:
            ref = node["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"only local $refs are supported, got {ref!r}")
            target: Any = self.docs[side]
            for part in ref[2:].split("/"):
                target = target[part]
            node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return node


def _json_types(node: Schema) -> list[str]:
    if "type" in node:
        types = node["type"]
        return list(types) if isinstance(types, list) else [types]
    values = node.get("enum", [node["const"]] if "const" in node else None)
    if values is not None:
        return sorted({_type_of(v) for v in values})
    if "properties" in node:
        return ["object"]
    return ["any"]


_JSON_TYPE_NAMES: tuple[tuple[type, str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),  # before int: a bool is an int in Python, not in JSON
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def _type_of(value: Any) -> str:
    """The JSON Schema type of a value parsed from JSON (an enum member or a const)."""
    return next(name for kind, name in _JSON_TYPE_NAMES if isinstance(value, kind))


def _enum_values(node: Schema) -> set[Any] | None:
    if "enum" in node:
        return set(node["enum"])
    if "const" in node:
        return {node["const"]}
    return None


def _single_of(json_type: str, kinds: dict[tuple[str, str], Schema]) -> Schema | None:
    """The only alternative of a JSON type, so a renamed model is still compared."""
    matches = [node for (t, _), node in kinds.items() if t == json_type]
    return matches[0] if len(matches) == 1 else None


def _show(types: set[str]) -> str:
    return " | ".join(sorted(types)) or "nothing"


def registry_breaking_changes(old: Schema, new: Schema) -> list[str]:
    """Breaking differences between two ``registry.json`` documents."""
    problems = []
    old_topics, new_topics = old.get("topics", {}), new.get("topics", {})
    for name, before in old_topics.items():
        after = new_topics.get(name)
        if after is None:
            problems.append(f"topic {name}: removed")
            continue
        if after["key"] != before["key"]:
            problems.append(f"topic {name}: key changed from {before['key']!r} to {after['key']!r}")
        if after["partitions"] < before["partitions"]:
            problems.append(
                f"topic {name}: partitions reduced from {before['partitions']} to {after['partitions']}"
            )
        if after["compacted"] != before["compacted"]:
            problems.append(f"topic {name}: compaction changed to {after['compacted']}")
        for event in sorted(set(before["events"]) - set(after["events"])):
            problems.append(f"topic {name}: event {event} removed")
    return problems
