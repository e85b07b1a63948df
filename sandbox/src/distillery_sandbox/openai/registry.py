"""The models one account can use: the base catalogue plus its own fine-tunes.

It answers two questions: what does `GET /models` list (with lifecycle dates), and which
brain answers a chat for a model id (refusing unknown, deleted or shut-down models).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from pydantic import BaseModel

from distillery_sandbox.openai.catalogue import ModelInfo
from distillery_sandbox.openai.chat_models import ChatModel, TeacherDrift, TeacherModel, UntunedModel
from distillery_sandbox.openai.errors import ApiError
from distillery_sandbox.workload import KnowledgeBase

_CHECKPOINT = re.compile(r":ckpt-step-\d+$")


class FineTunedModel(BaseModel):
    """A model a job produced. It inherits its base model's shutdown date."""

    id: str
    job_id: str
    base: str
    created: int
    owned_by: str
    shutdown_date: date | None = None
    deleted: bool = False


class ModelRegistry:
    """Base models and fine-tunes of one account; `students` builds a fine-tune's brain."""

    def __init__(self, catalogue: tuple[ModelInfo, ...], kb: KnowledgeBase,
                 students: Callable[[FineTunedModel], ChatModel], today: Callable[[], date],
                 drift: TeacherDrift | None = None):
        self.catalogue = {model.id: model for model in catalogue}
        self.fine_tuned: dict[str, FineTunedModel] = {}
        self._brains = {"teacher": TeacherModel(kb, drift), "untuned": UntunedModel(kb)}
        self._students, self._today = students, today

    def base(self, model_id: str) -> ModelInfo | None:
        found = self.catalogue.get(model_id)
        if found is None:
            found = next((m for m in self.catalogue.values() if m.snapshot == model_id), None)
        return found

    def fine_tunable(self, model_id: str) -> ModelInfo:
        """The base model a new job may train, or a 400 saying why not (lifecycle first)."""
        if model_id.startswith("ft:") or model_id in self.fine_tuned:
            raise ApiError(400, f"Model {model_id} is a fine-tune; the sandbox fine-tunes base "
                                "models only.", param="model", code="model_not_available")
        model = self.base(model_id)
        if model is None or model.fine_tune_until is None:
            raise ApiError(400, f"Model {model_id} is not available for fine-tuning or does "
                                "not exist.", param="model", code="model_not_available")
        today = self._today()
        if not model.fine_tuning_open(today):
            raise ApiError(
                400, f"Fine-tuning {model_id} is no longer available: new fine-tuning jobs "
                     f"were accepted until {model.fine_tune_until.isoformat()} (today is "
                     f"{today.isoformat()}).", param="model", code="model_not_available")
        return model

    def add(self, model: FineTunedModel) -> None:
        self.fine_tuned[model.id] = model

    def listed(self) -> list[ModelInfo | FineTunedModel]:
        return [*self.catalogue.values(),
                *(m for m in self.fine_tuned.values() if not m.deleted)]

    def get(self, model_id: str) -> ModelInfo | FineTunedModel:
        found = self.fine_tuned.get(model_id) or self.catalogue.get(model_id)
        if found is None or getattr(found, "deleted", False):
            raise ApiError(404, f"The model `{model_id}` does not exist or you do not have "
                                "access to it.", param="model", code="model_not_found")
        return found

    def delete(self, model_id: str) -> FineTunedModel:
        found = self.get(model_id)
        if not isinstance(found, FineTunedModel):
            raise ApiError(403, f"You cannot delete the base model {model_id}.",
                           param="model", code="permission_denied")
        found.deleted = True
        return found

    def brain(self, model_id: str) -> ChatModel:
        """What answers chats for `model_id`; 404 when it is unknown or has shut down.
        A checkpoint ("<fine-tune>:ckpt-step-N") answers like its finished fine-tune."""
        found = self.get(_CHECKPOINT.sub("", model_id))
        shutdown = found.shutdown_date
        if shutdown is not None and self._today() >= shutdown:
            raise ApiError(404, f"The model `{model_id}` was shut down on "
                                f"{shutdown.isoformat()}.", param="model",
                           code="model_not_found")
        if isinstance(found, FineTunedModel):
            return self._students(found)
        return self._brains[found.behaviour]
