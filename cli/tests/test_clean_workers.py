"""How many personal-data worker processes ``distillery clean`` starts for an export."""

from __future__ import annotations

import pytest

from distillery_cleaner.config import pii_workers
from distillery_cli.clean import AUTO_WORKERS_FROM_BYTES, offline_workers


def test_auto_cleans_a_small_export_in_one_process_and_a_large_one_as_the_service_would() -> None:
    assert offline_workers("auto", True, AUTO_WORKERS_FROM_BYTES - 1) == 0
    assert offline_workers("auto", True, AUTO_WORKERS_FROM_BYTES) == pii_workers("auto", True)


@pytest.mark.parametrize("count", [0, 1, 2])
def test_a_number_set_is_used_whatever_the_export_size(count: int) -> None:
    assert offline_workers(count, True, 1) == count
    assert offline_workers(count, False, AUTO_WORKERS_FROM_BYTES * 4) == count


def test_auto_with_ner_off_starts_none_even_for_a_large_export() -> None:
    assert offline_workers("auto", False, AUTO_WORKERS_FROM_BYTES * 4) == 0
