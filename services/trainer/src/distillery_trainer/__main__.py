"""`python -m distillery_trainer`: the trainer service, with only what its package depends on importable."""

from distillery_runtime.entrypoint import run_entry_point

run_entry_point("trainer")
