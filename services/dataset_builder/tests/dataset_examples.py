"""Builders of training examples for the validation-rule tests: messages as a user writes them."""

from __future__ import annotations

def example(*messages: dict, **extra: object) -> dict:
    return {"messages": list(messages), **extra}


def user(text: str = "hello world", **extra: object) -> dict:
    return {"role": "user", "content": text, **extra}


def assistant(text: str | None = "hello world", **extra: object) -> dict:
    return {"role": "assistant", "content": text, **extra}


VALID_EXAMPLE = example(user(), assistant())
"""The example every test file is filled with around the one it breaks."""
