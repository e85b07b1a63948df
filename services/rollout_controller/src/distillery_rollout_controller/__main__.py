from distillery_runtime.entrypoint import run_service

from distillery_rollout_controller.app import build

run_service(build)
