"""`python -m distillery_dataset_builder`: the dataset-builder service, with only what its package depends on importable."""

from distillery_runtime.entrypoint import run_entry_point

run_entry_point("dataset-builder")
