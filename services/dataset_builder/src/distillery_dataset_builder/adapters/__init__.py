"""The dataset-builder's adapters: PostgreSQL tables and repositories, blob stores."""
