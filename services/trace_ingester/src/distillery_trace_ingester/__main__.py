from distillery_runtime.entrypoint import run_service

from distillery_trace_ingester.app import build

run_service(build)
