"""A build's selection as a whole: eval copies stay out of train, splits are honest."""

import numpy as np

from distillery_dataset_builder.domain.canonical import training_record
from distillery_dataset_builder.domain.plan import EvaluationSet, SelectionRules, plan_selection
from distillery_dataset_builder.domain.selection import Candidate
from distillery_dataset_builder.domain.sketch import conversation_text, sketch_texts
from distillery_dataset_builder.samples import synthetic_calls

RULES = SelectionRules(target_size=1_000, max_per_session=None, stratify_mode="proportional",
                       validation_fraction=0.1, near_duplicate_threshold=0.8, min_examples=10,
                       max_file_bytes=512_000_000)


def pool(sessions: int = 60):
    events = list(synthetic_calls(sessions, turns=3))
    candidates = [Candidate(e.example_id, e.lineage.session_id, e.lineage.captured_at, f"intent={e.intent}", 500)
                  for e in events]
    texts = [conversation_text(training_record(e)["messages"]) for e in events]
    return candidates, texts, sketch_texts(texts)


def no_eval() -> EvaluationSet:
    return EvaluationSet(golden=sketch_texts([]), previous_validation=sketch_texts([]))


def test_a_golden_example_copied_into_the_pool_is_left_out_of_train_and_counted():
    candidates, texts, signatures = pool()
    plan = plan_selection(candidates, signatures, no_eval(), RULES)
    copied = plan.train[:3]
    golden = sketch_texts([texts[candidates.index(c)] for c in copied])
    plan = plan_selection(candidates, signatures, EvaluationSet(golden, sketch_texts([])), RULES)
    assert not {c.example_id for c in copied} & {c.example_id for c in plan.train}
    assert plan.excluded["golden_set"] == 3


def test_train_never_holds_a_near_duplicate_of_this_builds_validation_side():
    candidates, _, signatures = pool()
    plan = plan_selection(candidates, signatures, no_eval(), RULES)
    copied = plan.validation[0]
    twin = Candidate("ex-twin", plan.train[0].session_key, copied.captured_at, copied.stratum, 500)
    twin_signature = signatures[candidates.index(copied)][None, :]
    plan = plan_selection([*candidates, twin], np.vstack([signatures, twin_signature]), no_eval(), RULES)
    assert "ex-twin" not in {c.example_id for c in plan.train}
    assert plan.excluded == {"golden_set": 0, "previous_validation": 0, "validation_split": 1}


def test_no_session_is_in_both_splits_and_the_same_input_gives_the_same_plan():
    candidates, _, signatures = pool()
    first = plan_selection(candidates, signatures, no_eval(), RULES)
    second = plan_selection(list(reversed(candidates)), signatures[::-1], no_eval(), RULES)
    assert {c.session_key for c in first.train}.isdisjoint({c.session_key for c in first.validation})
    assert first.train == second.train and first.validation == second.validation


def test_validation_gets_its_fraction_of_the_target_and_train_the_rest():
    candidates, _, signatures = pool(200)
    rules = SelectionRules(**{**RULES.__dict__, "target_size": 300})
    plan = plan_selection(candidates, signatures, no_eval(), rules)
    assert len(plan.validation) == 30
    assert len(plan.train) == 270
