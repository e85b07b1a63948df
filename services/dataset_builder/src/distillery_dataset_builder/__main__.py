from distillery_dataset_builder.app import build
from distillery_runtime.entrypoint import run_service

run_service(build)
