"""`python -m distillery_finetune_controller`: the finetune-controller service, with only what its package depends on importable."""

from distillery_runtime.entrypoint import run_entry_point

run_entry_point("finetune-controller")
