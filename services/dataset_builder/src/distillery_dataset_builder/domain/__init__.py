"""The dataset-builder's domain: pure rules with no I/O beyond reading a file to validate."""
