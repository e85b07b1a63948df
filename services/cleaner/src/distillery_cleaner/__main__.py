import gc

from distillery_runtime.entrypoint import run_service

from distillery_cleaner.app import build

# The cleaner keeps large caches (every distinct message it has cleaned) and allocates many
# short-lived objects per batch. With the default thresholds every full collection walks
# the caches again, which costs more than the cleaning; collect the young generation less
# often and the old one rarely (there are few reference cycles to reclaim).
gc.set_threshold(100_000, 50, 100)
run_service(build)
