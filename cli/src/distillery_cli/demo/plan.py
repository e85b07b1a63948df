"""The demo's scaled-down sizes and the environment each process gets from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from distillery_sandbox.openai.catalogue import rehearsal_calendar

LANGFUSE_KEYS = ("pk-lf-demo", "sk-lf-demo")
OPENAI_KEY = "sk-sandbox"
TRAINER_KEY = "sk-trainer-demo"
SELFHOSTED = "selfhosted"
STUDENT_BASE = "smollm2-135m"
STUDENT_MAX_LENGTH = 1536
"""Tokens the self-hosted demo's trainer keeps of an example: what two cores train in minutes."""
STUDENT_DATASET_TOKENS = 1144
"""The dataset-builder's per-example limit (its o200k count) that keeps the clinic's examples within
STUDENT_MAX_LENGTH: SmolLM2 reads 1.28-1.34 times as many tokens (``distillery train --check`` on
the hosted demo's first dataset, where 1536 skipped 708 of 1,002 examples and cut the answer of 94)."""


@dataclass(frozen=True)
class DemoPlan:
    """Sizes chosen so the whole loop, two cycles, runs in minutes on two cores."""

    seed: int = 7
    cycles: int = 2
    """Stop after this many cycles completed their rollout."""
    history_calls: int = 260
    """Production history (teacher era, with the usual defects) loaded into Langfuse."""
    dataset_threshold: int = 600
    """New accepted examples that start a cycle."""
    target_size: int = 1200
    calls_per_second: float = 3.0
    min_scored_calls: int = 30
    min_stage_duration_s: float = 6.0
    evaluate_interval_s: float = 2.0
    online_sample_rate: float = 0.5
    eval_validation_limit: int = 40
    eval_golden_limit: int = 70
    latency_scale: float = 0.05
    job_time_scale: float = 0.02
    time_limit_s: float = 900.0
    teacher_regression: float = 0.0
    """From the second cycle's traffic on, the share of the teacher's fact-bearing answers
    that state a wrong fact (0 = none): rehearses a regression the evaluator must stop."""
    student: str = "hosted"
    """hosted: the OpenAI sandbox fine-tunes and serves students; selfhosted: the trainer
    trains a LoRA adapter of SmolLM2-135M on this machine and `distillery serve` serves it."""
    voice_concurrency: int = 8
    voice_max_tokens: int = 256

    @classmethod
    def selfhosted(cls, **overrides: object) -> DemoPlan:
        """One cycle sized for a CPU: a 64-example dataset from the production history (about
        1,200 accepted examples reach the threshold once, so live calls do not start a second
        training run during the rollout) of the calls short enough to train whole (see
        STUDENT_DATASET_TOKENS), trained for one epoch (minutes on two cores), a small evaluation,
        and live calls, once the student is routed, at a rate the CPU server can answer."""
        sizes: dict[str, object] = dict(
            student=SELFHOSTED, cycles=1, history_calls=400, dataset_threshold=1000, target_size=64,
            calls_per_second=0.3, min_scored_calls=10, eval_validation_limit=8, eval_golden_limit=8,
            time_limit_s=2400.0, voice_concurrency=2, voice_max_tokens=48)
        return cls(**{**sizes, **overrides})  # type: ignore[arg-type]

    @property
    def hosted(self) -> bool:
        return self.student != SELFHOSTED

    def stack_env(self) -> dict[str, str]:
        """What every process of the demo reads and a command run against its stack from another
        terminal adopts (``stack.json``): the lifecycle calendar is the OpenAI sandbox's rehearsal
        of the deadlines (30 and 38 days ahead), so the demo runs on any day and its console shows
        the retirement coming, as the real one did in December 2026; the minimum service life
        is the finetune-controller's, which the console reads to say the guard's last day."""
        return {
            "DISTILLERY_FINETUNE_CALENDAR": json.dumps(rehearsal_calendar(datetime.now(UTC).date())),
            # The guard's and the console's minimum service life, the same for both.
            "DISTILLERY_FINETUNE_MIN_SERVICE_LIFE_DAYS": "14",
        }

    def common_env(self, home: Path, bootstrap: str, database_url: str,
                   stack_env: dict[str, str] | None = None) -> dict[str, str]:
        """What every process reads: ``stack_env`` (the one in ``stack.json``; :meth:`stack_env`'s
        when not given) and where the stack is."""
        return {
            **(self.stack_env() if stack_env is None else stack_env),
            "DISTILLERY_HOME": str(home),
            "DISTILLERY_KAFKA_BOOTSTRAP": bootstrap,
            "DISTILLERY_DATABASE_URL": database_url,
            "DISTILLERY_LOG_FORMAT": "json",
            "DISTILLERY_CONSUMER_BATCH_TIMEOUT_MS": "100",
            "DISTILLERY_OUTBOX_POLL_S": "0.2",
            "DISTILLERY_CONSUMER_SESSION_TIMEOUT_MS": "3000",
            "HF_HUB_OFFLINE": "1",
        }

    def service_env(self, langfuse_url: str, openai_url: str, routing_port: int,
                    golden_set: Path, students: StudentPorts | None = None,
                    cleaner_config: Path | None = None) -> dict[str, dict[str, str]]:
        """Each service's environment; ``golden_set`` is the simulated clinic's golden set file
        (written by the demo: the evaluator reads a file, it never imports the simulator), and
        ``cleaner_config`` its cleaning rules (its public facts on the allow list);
        ``students`` where the trainer and the student server listen (selfhosted only)."""
        public, secret = LANGFUSE_KEYS
        langfuse = {"DISTILLERY_LANGFUSE_HOST": langfuse_url, "DISTILLERY_LANGFUSE_PUBLIC_KEY": public,
                    "DISTILLERY_LANGFUSE_SECRET_KEY": secret}
        env = {
            "trace-ingester": {
                **langfuse,
                "DISTILLERY_INGESTER_POLL_INTERVAL_S": "1",
                "DISTILLERY_INGESTER_OVERLAP_S": "20",
                "DISTILLERY_INGESTER_SETTLE_DELAY_S": "0.5",
                # The sandbox's production history starts on 2026-03-02; live calls are now.
                "DISTILLERY_INGESTER_START_FROM": "2026-03-01T00:00:00+00:00",
                "DISTILLERY_INGESTER_MAX_WINDOW_S": str(60 * 86400),
                "DISTILLERY_INGESTER_SCORE_LOOKAHEAD_S": "60",
            },
            "cleaner": {"DISTILLERY_CLEANER_CONFIG_FILE": str(cleaner_config)} if cleaner_config else {},
            "dataset-builder": {
                "DISTILLERY_DATASET_BUILD_THRESHOLD": str(self.dataset_threshold),
                "DISTILLERY_DATASET_TARGET_SIZE": str(self.target_size),
                "DISTILLERY_DATASET_CHECK_INTERVAL_S": "2",
            },
            "finetune-controller": {
                "DISTILLERY_FINETUNE_OPENAI_BASE_URL": f"{openai_url}/v1",
                "DISTILLERY_FINETUNE_OPENAI_API_KEY": OPENAI_KEY,
                "DISTILLERY_FINETUNE_POLL_INTERVAL_S": "1",
                "DISTILLERY_FINETUNE_POLL_MAX_INTERVAL_S": "2",
                "DISTILLERY_FINETUNE_WORKER_INTERVAL_S": "0.5",
            },
            "evaluator": {
                **{k.replace("DISTILLERY_", "DISTILLERY_EVALUATOR_"): v for k, v in langfuse.items()},
                "DISTILLERY_EVALUATOR_OPENAI_BASE_URL": f"{openai_url}/v1",
                "DISTILLERY_EVALUATOR_OPENAI_API_KEY": OPENAI_KEY,
                "DISTILLERY_EVALUATOR_GOLDEN_SOURCE": "file",
                "DISTILLERY_EVALUATOR_GOLDEN_PATH": str(golden_set),
                "DISTILLERY_EVALUATOR_GOLDEN_LIMIT": str(self.eval_golden_limit),
                "DISTILLERY_EVALUATOR_VALIDATION_LIMIT": str(self.eval_validation_limit),
                "DISTILLERY_EVALUATOR_ONLINE_SAMPLE_RATE": str(self.online_sample_rate),
                "DISTILLERY_EVALUATOR_POLL_S": "0.3",
                # The sandbox teacher answers as the clinic, not as a judge.
                "DISTILLERY_EVALUATOR_JUDGE_ENABLED": "false",
                # Demo-sized validation sets (about 70 prompts): one answer is 1.4 points, so the
                # default 2-point margin over the teacher let one flagged answer in and failed
                # the candidate on two, a coin toss. A successor must still match production's
                # rate with no margin at all (gates.baseline_margin).
                "DISTILLERY_EVALUATOR_GATES__HALLUCINATION_MARGIN": "0.05",
            },
            "rollout-controller": {
                "DISTILLERY_HTTP_PORT": str(routing_port),
                "DISTILLERY_ROLLOUT_MIN_SCORED_CALLS": str(self.min_scored_calls),
                "DISTILLERY_ROLLOUT_MIN_STAGE_DURATION_S": str(self.min_stage_duration_s),
                "DISTILLERY_ROLLOUT_EVALUATE_INTERVAL_S": str(self.evaluate_interval_s),
                "DISTILLERY_ROLLOUT_ROUTE_CACHE_S": "0",
                "DISTILLERY_ROLLOUT_REQUIRE_JUDGE": "false",
                # Demo-sized samples: wider margins and 80% intervals let a stage conclude
                # on tens of calls (production keeps 95% intervals and 2-point margins).
                "DISTILLERY_ROLLOUT_CONFIDENCE": "0.8",
                "DISTILLERY_ROLLOUT_HALLUCINATION_MARGIN": "0.15",
                "DISTILLERY_ROLLOUT_ERROR_MARGIN": "0.1",
            },
        }
        for service, extra in (self._selfhosted_env(students) if students else {}).items():
            env[service] = {**env.get(service, {}), **extra}
        return env

    def _selfhosted_env(self, s: StudentPorts) -> dict[str, dict[str, str]]:
        """The trainer, and the finetune-controller and evaluator pointed at it and at the
        student server; the gates stay as configured above."""
        return {
            "trainer": {
                "DISTILLERY_HTTP_PORT": str(s.trainer_port), "DISTILLERY_TRAINER_API_KEY": TRAINER_KEY,
                "DISTILLERY_TRAINER_MODEL_CACHE": str(s.model_cache), "DISTILLERY_TRAINER_BLOB_ROOT": str(s.blobs),
                "DISTILLERY_TRAINER_DEFAULTS": json.dumps({"learning_rate": 1e-3, "batch_size": 8,
                                                           "micro_batch_size": 1, "max_length": STUDENT_MAX_LENGTH,
                                                           "checkpoint_every": 4}),
            },
            "dataset-builder": {"DISTILLERY_DATASET_MAX_EXAMPLE_TOKENS": str(STUDENT_DATASET_TOKENS)},
            "finetune-controller": {
                "DISTILLERY_FINETUNE_PROVIDER": SELFHOSTED, "DISTILLERY_FINETUNE_BASE_MODEL": STUDENT_BASE,
                "DISTILLERY_FINETUNE_N_EPOCHS": "1",
                "DISTILLERY_FINETUNE_SELFHOSTED_TRAINER_URL": s.trainer_url,
                "DISTILLERY_FINETUNE_SELFHOSTED_API_KEY": TRAINER_KEY,
                "DISTILLERY_FINETUNE_SELFHOSTED_SERVING_URL": s.serve_url,
                "DISTILLERY_FINETUNE_SELFHOSTED_ADAPTER_ROOT": str(s.blobs / "adapters"),
                "DISTILLERY_FINETUNE_POLL_INTERVAL_S": "1", "DISTILLERY_FINETUNE_POLL_MAX_INTERVAL_S": "3",
                "DISTILLERY_FINETUNE_WORKER_INTERVAL_S": "0.5", "DISTILLERY_FINETUNE_UNDEPLOY_DELAY_S": "5",
            },
            "evaluator": {
                "DISTILLERY_EVALUATOR_CANDIDATE_ENDPOINTS": json.dumps(
                    {SELFHOSTED: {"kind": "openai", "base_url": s.serve_url}}),
                "DISTILLERY_EVALUATOR_MAX_TOKENS": str(self.voice_max_tokens),
                "DISTILLERY_EVALUATOR_CONCURRENCY": "2", "DISTILLERY_EVALUATOR_REQUEST_TIMEOUT_S": "120",
            },
        }


@dataclass(frozen=True)
class StudentPorts:
    """Where the self-hosted demo's trainer and student server listen, and their files."""

    trainer_port: int
    serve_port: int
    model_cache: Path
    blobs: Path

    @property
    def trainer_url(self) -> str:
        return f"http://127.0.0.1:{self.trainer_port}/v1"

    @property
    def serve_url(self) -> str:
        return f"http://127.0.0.1:{self.serve_port}/v1"
