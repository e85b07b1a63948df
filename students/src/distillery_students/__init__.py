"""Open-weights students the user owns: LoRA training and OpenAI-compatible serving."""

__version__ = "0.1.0"
