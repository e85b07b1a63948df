"""Error kinds the runtime treats differently, and one-line reporting of bad configuration."""

from __future__ import annotations


class ConfigError(Exception):
    """Configuration that cannot work. The message says what is wrong and how to fix it."""


class PermanentError(Exception):
    """A message that can never be processed: dead-letter it at once, do not retry."""


class TransientError(Exception):
    """A failure that may pass (a timeout, a busy dependency): retry with backoff."""
