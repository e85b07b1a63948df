"""Error kinds the runtime treats differently, and one-line reporting of bad configuration."""

from __future__ import annotations


class ConfigError(Exception):
    """Configuration that cannot work. The message says what is wrong and how to fix it."""

    message_is_safe = True
    """Written from settings, never from a message's text (see ``safe_errors``)."""


class PermanentError(Exception):
    """A message that can never be processed: dead-letter it at once, do not retry.

    Its message is the dead letter's reason and goes to the logs, so it names ids, fields and
    sizes, never a message's text (``safe_errors``)."""

    message_is_safe = True


class TransientError(Exception):
    """A failure that may pass (a timeout, a busy dependency): retry with backoff."""
