"""What a training file becomes for one base model and its settings, before any training.

The dataset-builder counts tokens with OpenAI's tokenizers; an open-weights student reads
the conversation through the project's chat template and its own tokenizer, which on the
simulated clinic's examples gives 1.16-1.34 times as many tokens (SmolLM2-135M against
o200k). So only the student's own count says which examples ``max_length`` cuts, and a cut
that reaches an answer the example teaches trains the student on part of that answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from distillery_students.domain.dataset import ChatExample
from distillery_students.domain.labels import TokenizedExample, Tokenizer, tokenize
from distillery_students.domain.settings import TrainingSettings


@dataclass(frozen=True)
class DataCheck:
    """A file's examples as one job with ``settings`` would train on them."""

    settings: TrainingSettings
    lines: list[int]
    """The file line of each example, in file order."""
    lengths: list[int]
    """Tokens of each example before the cut, in file order."""
    cut_lines: list[int]
    """Lines of the examples longer than ``max_length``: their ends are not trained on."""
    partial_lines: list[int]
    """Of those, the lines whose cut runs through a taught answer: the job trains on its start."""
    unusable_lines: list[int]
    """Of those, the lines left with no learned token within ``max_length``: the job skips them."""
    length_keeping_answers: int
    """The ``max_length`` that keeps every taught answer whole (the longest example the cut
    takes learned tokens from); 0 when the cut takes none."""
    tokens_per_epoch: int
    """Tokens the job reads in one pass (the usable examples, cut)."""
    learned_per_epoch: int
    """Of those, the tokens that carry loss."""
    steps_per_epoch: int
    steps: int
    """Optimizer steps of the whole job, as transformers' Trainer counts them."""

    @property
    def examples(self) -> int:
        return len(self.lengths)

    @property
    def usable(self) -> int:
        return self.examples - len(self.unusable_lines)

    @property
    def trainable(self) -> bool:
        """Whether a job would start: at least one example keeps a learned token."""
        return self.usable > 0

    def summary(self) -> str:
        """One line: what the job reads."""
        return (f"{self.examples:,} examples read as {self.settings.base_model} reads them: {self.usable:,} to "
                f"train on, {self.tokens_per_epoch:,} tokens an epoch ({self.learned_per_epoch:,} carry loss), "
                f"{self.steps:,} optimizer steps")

    def warning(self) -> str | None:
        """One line when ``max_length`` takes learned tokens from any example, with the length that would not."""
        if not self.length_keeping_answers:
            return None
        harm = [f"a taught answer in {len(self.partial_lines):,} example(s)" if self.partial_lines else "",
                f"everything learned from {len(self.unusable_lines):,} (skipped)" if self.unusable_lines else ""]
        return (f"max_length {self.settings.max_length:,} cuts {' and '.join(filter(None, harm))}: "
                f"max_length {self.length_keeping_answers:,} keeps every answer whole")


@dataclass(frozen=True)
class BuilderComparison:
    """The dataset-builder's token counts (OpenAI's tokenizer) beside the student's, same examples."""

    model: str
    """The model whose tokenizer the dataset-builder counts with (its DISTILLERY_DATASET_BASE_MODEL)."""
    lowest: float
    highest: float
    """The smallest and largest ratio of the student's count to the dataset-builder's."""
    limit: int
    """A DISTILLERY_DATASET_MAX_EXAMPLE_TOKENS under which every example of the file fits
    ``max_length`` (``max_length`` over the largest ratio, rounded down): for other files of the
    same kind, an estimate."""


def compare_with_builder(student: Sequence[int], builder: Sequence[int], max_length: int,
                         model: str) -> BuilderComparison | None:
    """How the dataset-builder's per-example counts relate to the student's; None without any."""
    ratios = [mine / theirs for mine, theirs in zip(student, builder, strict=True) if theirs > 0]
    if not ratios:
        return None
    return BuilderComparison(model, min(ratios), max(ratios), math.floor(max_length / max(ratios)))


DataHook = Callable[[DataCheck], None]
"""Called once a run has read its file, before the first step."""


def check_examples(examples: Sequence[ChatExample], tokenizer: Tokenizer, settings: TrainingSettings) -> DataCheck:
    """How a job with ``settings`` would read ``examples`` (the trainer's own tokenisation and cut)."""
    tokenized = [tokenize(example.rendered, tokenizer, settings.max_length) for example in examples]
    return summarise([example.line for example in examples], tokenized, settings)


def summarise(lines: Sequence[int], tokenized: Sequence[TokenizedExample], settings: TrainingSettings) -> DataCheck:
    """The check of examples already tokenised with ``settings.max_length`` (``lines``: their file lines)."""
    pairs = list(zip(lines, tokenized, strict=True))
    usable = usable_examples(tokenized)
    per_epoch, steps = _steps(len(usable), settings)
    return DataCheck(
        settings=settings,
        lines=list(lines),
        lengths=[t.length for t in tokenized],
        cut_lines=[line for line, t in pairs if t.truncated],
        partial_lines=[line for line, t in pairs if t.learned_past_cut and t.learned_tokens],
        unusable_lines=[line for line, t in pairs if not t.learned_tokens],
        length_keeping_answers=max((t.length for t in tokenized if t.learned_past_cut), default=0),
        tokens_per_epoch=sum(len(t.input_ids) for t in usable),
        learned_per_epoch=sum(t.learned_tokens for t in usable),
        steps_per_epoch=per_epoch,
        steps=steps,
    )


def usable_examples(tokenized: Sequence[TokenizedExample]) -> list[TokenizedExample]:
    """The examples a job trains on: those with a learned token within ``max_length``."""
    return [example for example in tokenized if example.learned_tokens]


def _steps(usable: int, settings: TrainingSettings) -> tuple[int, int]:
    """(per epoch, in all): batches of ``per_device_batch``, an optimizer step per
    ``accumulation_steps`` of them (a last partial group counts), ``max_steps`` when set."""
    if usable == 0:
        return 0, 0
    batches = math.ceil(usable / settings.per_device_batch)
    per_epoch = max(math.ceil(batches / settings.accumulation_steps), 1)
    return per_epoch, settings.max_steps or math.ceil(settings.epochs * per_epoch)
