from distillery_runtime.entrypoint import run_service

from distillery_trainer.app import build

run_service(build)
