"""Pure logic of the ingester: Langfuse records to contract events, windows, export rows."""
