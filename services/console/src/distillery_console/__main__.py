from distillery_runtime.entrypoint import run_service

from distillery_console.app import build

run_service(build)
