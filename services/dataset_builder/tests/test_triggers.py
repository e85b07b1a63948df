"""When builds start: command first, then a due schedule, then the new-example threshold."""

from datetime import UTC, datetime

from distillery_dataset_builder.domain.triggers import TriggerView, decide, next_fire

QUARTERLY = "0 0 1 */3 *"
ANCHOR = datetime(2026, 1, 15, tzinfo=UTC)


def view(**changes) -> TriggerView:
    fields = {"pending_command": False, "new_examples": 0, "threshold": 80_000, "schedule": QUARTERLY,
              "schedule_anchor": ANCHOR}
    return TriggerView(**{**fields, **changes})


def test_the_quarterly_schedule_fires_on_the_first_of_every_third_month():
    assert next_fire(QUARTERLY, ANCHOR) == datetime(2026, 4, 1, tzinfo=UTC)
    assert next_fire(QUARTERLY, datetime(2026, 4, 1, tzinfo=UTC)) == datetime(2026, 7, 1, tzinfo=UTC)


def test_nothing_happens_below_the_threshold_before_the_schedule():
    assert decide(view(new_examples=79_999), datetime(2026, 3, 31, tzinfo=UTC)).trigger is None


def test_enough_new_examples_start_a_build():
    assert decide(view(new_examples=80_000), datetime(2026, 2, 1, tzinfo=UTC)).trigger == "threshold"


def test_a_due_schedule_starts_a_build_and_is_marked_as_fired():
    decision = decide(view(new_examples=5), datetime(2026, 4, 1, 0, 0, 30, tzinfo=UTC))
    assert decision.trigger == "schedule" and decision.schedule_fired


def test_a_due_schedule_with_nothing_new_fires_without_building():
    decision = decide(view(new_examples=0), datetime(2026, 4, 2, tzinfo=UTC))
    assert decision.trigger is None and decision.schedule_fired


def test_a_command_goes_first_even_with_nothing_new():
    assert decide(view(pending_command=True), datetime(2026, 2, 1, tzinfo=UTC)).trigger == "command"


def test_an_empty_schedule_never_fires():
    decision = decide(view(schedule="", new_examples=5), datetime(2030, 1, 1, tzinfo=UTC))
    assert decision.trigger is None and not decision.schedule_fired
