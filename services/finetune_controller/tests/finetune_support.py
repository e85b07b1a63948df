"""Names the finetune-controller's tests share with conftest.py's world (this folder is on
``sys.path``; a module of its own, since another service's conftest may be first there)."""

from __future__ import annotations

from datetime import UTC, datetime

BASE = "gpt-4o-mini-2024-07-18"
OPEN_BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"
SELFHOSTED = {"selfhosted_trainer_url": "http://trainer:8090/v1", "selfhosted_serving_url": "http://student:8000/v1",
              "selfhosted_adapter_root": "/srv/adapters"}
TODAY = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
