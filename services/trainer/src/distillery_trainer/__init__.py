"""The trainer: LoRA students trained with TRL and PEFT, driven through OpenAI's fine-tuning API."""

__version__ = "0.1.0"

NAME = "trainer"
"""The service's name: ``distillery run trainer``, its logs."""
SCHEMA = "trainer"
"""The PostgreSQL schema holding its tables."""
