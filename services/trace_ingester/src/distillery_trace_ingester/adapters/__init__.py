"""The ingester's ways out: Langfuse's API and its own PostgreSQL schema."""
