from distillery_runtime.entrypoint import run_service

from distillery_cleaner.app import build

run_service(build)
