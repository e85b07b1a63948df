"""The OpenAI / Azure OpenAI sandbox: files, fine-tuning jobs, models and chat completions,
answered by the simulated clinic workload's teacher and by students that learn from the
files they were trained on.

Public API:

- `SandboxConfig`, `JobTimings`, `LatencyProfile`, `AzureResource`, `FakeClock`,
  `SystemClock`: configuration.
- `ModelInfo`, `default_catalogue()`, `rehearsal_catalogue(today)`, `with_dates(...)`: the models
  and their lifecycle dates (the real ones, or rehearsed ahead of a day: a sandbox's default).
- `Faults`, `FaultRule`: injected 429s and 5xx, per path.
- `create_app(config)`: the Starlette app; `serve(host, port, config)`: run it with the
  simulation banner; `run_in_thread(config)`: run it in a background thread (tests).
- `StudentModel`, `TeacherModel`, `UntunedModel`: the brains, usable without HTTP.
- `read_training_file(content)`: the provider's training-file checks.
- `examples_from_calls(calls)`, `to_jsonl(examples)`: training files from simulated traffic;
  `simulated_training_file(workload_config)`: both in one step.
"""

from distillery_sandbox.openai.app import Sandbox, create_app
from distillery_sandbox.openai.catalogue import (
    OPENAI_FINE_TUNING_ENDS,
    OPENAI_SHUTDOWN,
    ModelInfo,
    default_catalogue,
    rehearsal_calendar,
    rehearsal_catalogue,
    with_dates,
)
from distillery_sandbox.openai.chat_models import TeacherDrift, TeacherModel, UntunedModel
from distillery_sandbox.openai.config import (
    AzureResource,
    FakeClock,
    JobTimings,
    LatencyProfile,
    SandboxConfig,
    SystemClock,
)
from distillery_sandbox.openai.examples import examples_from_calls, simulated_training_file, to_jsonl
from distillery_sandbox.openai.faults import FaultRule, Faults
from distillery_sandbox.openai.server import BANNER, RunningSandbox, run_in_thread, serve
from distillery_sandbox.openai.student import StudentModel, StudentSummary
from distillery_sandbox.openai.training_file import TrainingFileError, TrainingSet, read_training_file

__all__ = [
    "BANNER",
    "OPENAI_FINE_TUNING_ENDS",
    "OPENAI_SHUTDOWN",
    "AzureResource",
    "FakeClock",
    "FaultRule",
    "Faults",
    "JobTimings",
    "LatencyProfile",
    "ModelInfo",
    "RunningSandbox",
    "Sandbox",
    "SandboxConfig",
    "StudentModel",
    "StudentSummary",
    "SystemClock",
    "TeacherDrift",
    "TeacherModel",
    "TrainingFileError",
    "TrainingSet",
    "UntunedModel",
    "create_app",
    "default_catalogue",
    "rehearsal_calendar",
    "rehearsal_catalogue",
    "examples_from_calls",
    "read_training_file",
    "run_in_thread",
    "serve",
    "simulated_training_file",
    "to_jsonl",
    "with_dates",
]
