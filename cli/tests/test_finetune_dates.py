"""``distillery finetune show`` says what the provider published of the base model's life, and
where it said so."""

from __future__ import annotations

from datetime import date

from distillery_cli.finetune import _dates
from distillery_contracts.finetune import PublishedDates

AZURE = "Azure model deprecation"


def test_each_date_the_provider_published_is_said_with_its_source():
    assert _dates(PublishedDates(source=AZURE, fine_tune_until=date(2027, 3, 1), shutdown=date(2027, 6, 1))) == (
        "fine-tuning until 2027-03-01, shuts down on 2027-06-01 (Azure model deprecation)")
    assert _dates(PublishedDates(source=AZURE, fine_tune_until=date(2027, 3, 1))) == (
        "fine-tuning until 2027-03-01 (Azure model deprecation)")
    assert _dates(PublishedDates(source=AZURE, shutdown=date(2027, 6, 1))) == (
        "shuts down on 2027-06-01 (Azure model deprecation)")
