"""Train one LoRA adapter: TRL's SFTTrainer and PEFT, labels built per message, published once.

Layout of a job writing to ``out``::

    out.parent/.<out.name>.work/   job.json (the job's fingerprint), checkpoints/checkpoint-N/
    out/                           adapter_model.safetensors, adapter_config.json,
                                   model_card.json, SHA256SUMS  (appears at once, by rename)

Run again into the same ``out`` with the same base, data and settings, a job resumes from
its last checkpoint, or returns the card it already published; anything else in ``out``
is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from distillery_runtime.tokens import tokenizer_for
from distillery_students.base_models import BaseModel, file_sha256, resolve_base_model
from distillery_students.domain.check import (BuilderComparison, DataCheck, DataHook, check_examples,
                                              compare_with_builder, summarise, usable_examples)
from distillery_students.domain.dataset import read_examples
from distillery_students.domain.labels import TokenizedExample, tokenize
from distillery_students.domain.model_card import (ADAPTER_FILE, CARD_FILE, SUMS_FILE, AdapterRef, DatasetRef,
                                                   LossPoint, ModelCard, job_fingerprint)
from distillery_students.domain.settings import TrainingSettings
from distillery_students.errors import StudentError, TrainingCancelled
from distillery_students.loading import Device, load_model, load_tokenizer, pick_device
from distillery_students.progress import CancelCheck, CheckpointHook, ProgressHook, TrainingProgress

__all__ = ["DataCheck", "TrainingProgress", "check_data", "published_card", "train_adapter"]


def train_adapter(data: Path, settings: TrainingSettings, out: Path, *, dataset_id: str | None = None,
                  on_progress: ProgressHook | None = None, should_cancel: CancelCheck | None = None,
                  on_checkpoint: CheckpointHook | None = None, on_data: DataHook | None = None,
                  cache_dir: Path | None = None) -> ModelCard:
    """Train and publish the adapter of one job; raises :class:`StudentError` with one line."""
    raw = _read(data)
    dataset_sha = hashlib.sha256(raw).hexdigest()
    examples = read_examples(raw.decode("utf-8").splitlines(), source=str(data))
    base = resolve_base_model(settings.base_model, cache_dir)
    job = job_fingerprint(base.sha256, dataset_sha, settings)
    done = published_card(out, job)
    if done is not None:
        return done
    work = _work_dir(out, job)
    tokenizer = load_tokenizer(base)
    tokenized = [tokenize(example.rendered, tokenizer, settings.max_length) for example in examples]
    check = summarise([example.line for example in examples], tokenized, settings)
    if not check.trainable:
        raise StudentError(f"{data}: no example keeps a learned token within max_length {settings.max_length} "
                           f"({len(check.cut_lines)} of {check.examples} examples are longer): raise max_length")
    if on_data is not None:
        on_data(check)
    usable = usable_examples(tokenized)
    dataset = _dataset_ref(dataset_id, dataset_sha, tokenized, check)
    device = pick_device()
    run = _Run(base, settings, device, work, on_progress, should_cancel, on_checkpoint)
    trainer = run.trainer(load_model(base, device), tokenizer, usable)
    started = time.monotonic()
    trainer.train(resume_from_checkpoint=_last_checkpoint(work / "checkpoints"))
    if run.callback.cancelled:
        raise TrainingCancelled(f"training cancelled at step {trainer.state.global_step}; nothing published")
    card = _publish(trainer, out, work, job, base, dataset, settings, device, time.monotonic() - started,
                    run.callback.tokens_per_second())
    shutil.rmtree(work, ignore_errors=True)
    return card


def check_data(data: Path, settings: TrainingSettings, *, cache_dir: Path | None = None,
               builder_model: str | None = None) -> tuple[DataCheck, BuilderComparison | None]:
    """What a job with ``settings`` would train on in ``data``, its base model's own tokenizer
    counting, and (with ``builder_model``) how the dataset-builder's counts for that model compare;
    trains nothing. Raises :class:`DatasetError` for unusable lines and :class:`StudentError` for a
    base model that cannot be loaded, as :func:`train_adapter` does."""
    examples = read_examples(_read(data).decode("utf-8").splitlines(), source=str(data))
    check = check_examples(examples, load_tokenizer(resolve_base_model(settings.base_model, cache_dir)), settings)
    if builder_model is None:
        return check, None
    theirs = tokenizer_for(builder_model).count_examples({"messages": e.messages, "tools": e.tools} for e in examples)
    return check, compare_with_builder(check.lengths, theirs, settings.max_length, builder_model)


def published_card(out: Path, job: str) -> ModelCard | None:
    """The card of ``out`` when this job published it; an error when ``out`` holds anything else."""
    if not out.exists():
        return None
    if out.is_dir() and not any(out.iterdir()):
        return None
    card_file = out / CARD_FILE
    if not card_file.is_file():
        raise StudentError(f"{out} exists and is not an adapter directory: choose another --out")
    card = ModelCard.model_validate_json(card_file.read_text())
    if card.job != job:
        raise StudentError(f"{out} already holds an adapter of another job (other base, data or settings)")
    return card


def _read(data: Path) -> bytes:
    try:
        return data.read_bytes()
    except OSError as exc:
        raise StudentError(f"cannot read {data}: {exc.strerror or exc}") from None


def _work_dir(out: Path, job: str) -> Path:
    work = out.parent / f".{out.name}.work"
    marker = work / "job.json"
    if work.exists() and (not marker.is_file() or json.loads(marker.read_text()).get("job") != job):
        shutil.rmtree(work)  # checkpoints of another job: they must not be resumed
    (work / "checkpoints").mkdir(parents=True, exist_ok=True)
    marker.write_text(json.dumps({"job": job}))
    return work


def _last_checkpoint(folder: Path) -> str | None:
    """The newest complete checkpoint; one cut short by a kill is removed.

    transformers writes ``trainer_state.json`` last, so a checkpoint without a readable one
    was being written when the process died.
    """
    complete: list[tuple[int, Path]] = []
    for path in folder.glob("checkpoint-*") if folder.is_dir() else []:
        try:
            json.loads((path / "trainer_state.json").read_text())
            complete.append((int(path.name.rsplit("-", 1)[1]), path))
        except (OSError, ValueError):
            shutil.rmtree(path, ignore_errors=True)
    return str(max(complete)[1]) if complete else None


def _dataset_ref(dataset_id: str | None, sha: str, tokenized: list[TokenizedExample], check: DataCheck) -> DatasetRef:
    return DatasetRef(id=dataset_id, sha256=sha, examples=len(tokenized),
                      tokens=sum(len(example.input_ids) for example in tokenized),
                      learned_tokens=sum(example.learned_tokens for example in tokenized),
                      truncated=len(check.cut_lines), answers_cut=len(check.partial_lines),
                      skipped=len(check.unusable_lines))


class _Run:
    """The TRL trainer of one job, with its progress-and-cancel callback."""

    def __init__(self, base: BaseModel, settings: TrainingSettings, device: Device, work: Path,
                 on_progress: ProgressHook | None, should_cancel: CancelCheck | None,
                 on_checkpoint: CheckpointHook | None = None) -> None:
        from distillery_students.callback import ProgressCallback

        self.base, self.settings, self.device, self.work = base, settings, device, work
        self.callback = ProgressCallback(on_progress, should_cancel, on_checkpoint)

    def trainer(self, model: Any, tokenizer: Any, examples: list[TokenizedExample]) -> Any:
        from datasets import Dataset
        from peft import LoraConfig
        from transformers import PrinterCallback
        from trl import SFTConfig, SFTTrainer

        s = self.settings
        lora = LoraConfig(r=s.lora_rank, lora_alpha=s.lora_alpha, lora_dropout=s.lora_dropout,
                          target_modules=s.target_modules, task_type="CAUSAL_LM")
        checkpointing = self.device.is_gpu if s.gradient_checkpointing is None else s.gradient_checkpointing
        config = SFTConfig(
            output_dir=str(self.work / "checkpoints"), num_train_epochs=s.epochs, max_steps=s.max_steps or -1,
            per_device_train_batch_size=s.per_device_batch, gradient_accumulation_steps=s.accumulation_steps,
            learning_rate=s.learning_rate, lr_scheduler_type=s.lr_scheduler, warmup_steps=s.warmup_ratio,
            seed=s.seed, data_seed=s.seed, max_length=s.max_length,
            # Labels are ours (per message, weight-aware): TRL must use them as they are.
            dataset_kwargs={"skip_prepare_dataset": True},
            logging_steps=1, save_strategy="steps", save_steps=s.checkpoint_every, save_total_limit=2,
            bf16=self.device.bf16, fp16=False, use_cpu=not self.device.is_gpu,
            activation_checkpointing=checkpointing, include_num_input_tokens_seen="non_padding",
            report_to="none", disable_tqdm=True, dataloader_num_workers=0,
        )
        rows = [{"input_ids": example.input_ids, "labels": example.labels} for example in examples]
        trainer = SFTTrainer(model=model, args=config, train_dataset=Dataset.from_list(rows),
                             processing_class=tokenizer, peft_config=lora, callbacks=[self.callback])
        trainer.remove_callback(PrinterCallback)  # progress goes to on_progress, not print()
        return trainer


def _publish(trainer: Any, out: Path, work: Path, job: str, base: BaseModel, dataset: DatasetRef,
             settings: TrainingSettings, device: Device, seconds: float, tokens_per_second: float | None) -> ModelCard:
    staging = work / "publish"
    shutil.rmtree(staging, ignore_errors=True)
    trainer.model.save_pretrained(str(staging), safe_serialization=True)
    (staging / "README.md").unlink(missing_ok=True)  # PEFT's hub template; the model card is ours
    adapter = staging / ADAPTER_FILE
    state = trainer.state
    card = ModelCard(
        job=job, base_model=base.ref, dataset=dataset, hyperparameters=settings,
        adapter=AdapterRef(sha256=file_sha256(adapter), bytes=adapter.stat().st_size),
        loss_curve=[LossPoint(step=entry["step"], epoch=round(entry.get("epoch", 0.0), 4), loss=entry["loss"])
                    for entry in state.log_history if "loss" in entry],
        steps=state.global_step, epochs=round(state.epoch or 0.0, 4), train_seconds=round(seconds, 2),
        tokens_per_second=tokens_per_second, device=device.name, versions=_versions(),
        created_at=datetime.now(timezone.utc))
    (staging / CARD_FILE).write_text(card.model_dump_json(indent=2))
    sums = [f"{file_sha256(path)}  {path.name}" for path in sorted(staging.iterdir()) if path.is_file()]
    (staging / SUMS_FILE).write_text("\n".join(sums) + "\n")
    _fsync_dir(staging)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.is_dir():
        out.rmdir()  # empty (published_card checked): rename needs the name free
    os.rename(staging, out)
    _fsync_dir(out.parent)
    return card


def _fsync_dir(path: Path) -> None:
    for file in [path, *(p for p in path.iterdir() if p.is_file())] if path.is_dir() else []:
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("torch", "transformers", "peft", "trl")}
