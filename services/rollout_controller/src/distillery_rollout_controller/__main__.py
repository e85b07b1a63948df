"""`python -m distillery_rollout_controller`: the rollout-controller service, with only what its package depends on importable."""

from distillery_runtime.entrypoint import run_entry_point

run_entry_point("rollout-controller")
