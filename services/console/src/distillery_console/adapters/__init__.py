"""Ports and adapters of the console: its read-model store, SQL and fake."""
