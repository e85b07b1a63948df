"""OpenAI's files and fine-tuning API, as far as a fine-tuning client uses it.

- ``POST /v1/files``, ``GET /v1/files/{id}``
- ``POST /v1/fine_tuning/jobs``, ``GET /v1/fine_tuning/jobs`` (``limit``, ``after``,
  ``metadata[k]=v``), ``GET /v1/fine_tuning/jobs/{id}``, ``POST .../cancel``,
  ``GET .../events``, ``GET .../checkpoints``
- ``GET /v1/models``, ``GET /v1/models/{id}``: the base models this trainer trains

The finetune-controller's OpenAI provider drives it unchanged (the ``selfhosted``
provider). With ``DISTILLERY_TRAINER_API_KEY`` set every call needs ``Authorization:
Bearer <key>``. Errors are OpenAI's error document with one clear message.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from distillery_runtime.text import UnsafeInput, scrub_json
from distillery_trainer.domain.job import TrainingJob
from distillery_trainer.domain.openai_api import (
    CreateJob,
    checkpoint_object,
    error_body,
    event_object,
    file_object,
    job_object,
    model_object,
    page,
)
from distillery_trainer.services import Refused, Trainer
from distillery_trainer.views import TrainerViews

Endpoint = Callable[[Request], Awaitable[Response]]
T = TypeVar("T")
MAX_LIMIT = 100
METADATA_PARAM = re.compile(r"^metadata\[(.+)\]$")


def api_routes(trainer: Trainer, views: TrainerViews, api_key: str | None) -> Sequence[BaseRoute]:
    async def upload(request: Request) -> Response:
        form = await request.form(max_files=1, max_fields=8)
        upload, purpose = form.get("file"), form.get("purpose")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise Refused("a multipart 'file' field with a file name is required", param="file")
        record = await trainer.upload_file(upload.filename, await upload.read(), str(purpose or ""))
        return JSONResponse(file_object(record))

    async def get_file(request: Request) -> Response:
        file_id = request.path_params["file_id"]
        return JSONResponse(file_object(_found(await views.file(file_id), f"No such File object: {file_id}", "id")))

    async def create_job(request: Request) -> Response:
        try:
            body = CreateJob.model_validate(await _json(request))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise Refused(f"{'.'.join(map(str, first['loc']))}: {first['msg']}", param=str(first["loc"][0])) from None
        return JSONResponse(job_object(await trainer.create_job(body)))

    async def list_jobs(request: Request) -> Response:
        metadata = {m.group(1): v for k, v in request.query_params.items() if (m := METADATA_PARAM.match(k))}
        found, more = await views.jobs(_limit(request), request.query_params.get("after"), metadata)
        return JSONResponse(page([job_object(j) for j in found], more))

    async def get_job(request: Request) -> Response:
        return JSONResponse(job_object(await _job(request)))

    async def cancel(request: Request) -> Response:
        return JSONResponse(job_object(await trainer.cancel_job(request.path_params["job_id"])))

    async def events(request: Request) -> Response:
        job = await _job(request)
        found, more = await views.events(job.job_id, _limit(request), request.query_params.get("after"))
        return JSONResponse(page([event_object(e) for e in found], more))

    async def checkpoints(request: Request) -> Response:
        job = await _job(request)
        found, more = await views.checkpoints(job.job_id, _limit(request, default=10), request.query_params.get("after"))
        return JSONResponse(page([checkpoint_object(job.job_id, c) for c in found], more))

    async def list_models(request: Request) -> Response:
        return JSONResponse(page([model_object(name) for name in views.models()], False))

    async def get_model(request: Request) -> Response:
        model = request.path_params["model"]
        if model not in views.models():
            raise Refused(f"The model '{model}' does not exist on this trainer", status=404, param="model",
                          code="model_not_found")
        return JSONResponse(model_object(model))

    async def _job(request: Request) -> TrainingJob:
        job_id = request.path_params["job_id"]
        return _found(await views.job(job_id), f"No fine-tuning job found with id {job_id}", "fine_tuning_job_id")

    def guarded(endpoint: Endpoint) -> Endpoint:
        async def call(request: Request) -> Response:
            if api_key is not None and not _authorised(request, api_key):
                return JSONResponse(error_body("Incorrect API key provided", code="invalid_api_key"), status_code=401)
            try:
                return await endpoint(request)
            except Refused as exc:
                return JSONResponse(error_body(str(exc), param=exc.param, code=exc.code), status_code=exc.status)

        return call

    jobs = "/v1/fine_tuning/jobs"
    table: list[tuple[str, Endpoint, str]] = [
        ("/v1/files", upload, "POST"), ("/v1/files/{file_id}", get_file, "GET"),
        (jobs, create_job, "POST"), (jobs, list_jobs, "GET"), (jobs + "/{job_id}", get_job, "GET"),
        (jobs + "/{job_id}/cancel", cancel, "POST"), (jobs + "/{job_id}/events", events, "GET"),
        (jobs + "/{job_id}/checkpoints", checkpoints, "GET"),
        ("/v1/models", list_models, "GET"), ("/v1/models/{model:path}", get_model, "GET"),
    ]
    return [Route(path, guarded(endpoint), methods=[method]) for path, endpoint, method in table]


def _found(found: T | None, message: str, param: str) -> T:
    """What a lookup found, or the API's 404 saying ``message``."""
    if found is None:
        raise Refused(message, status=404, param=param)
    return found


def _authorised(request: Request, api_key: str) -> bool:
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return hmac.compare_digest(given.encode(), api_key.encode())


async def _json(request: Request) -> Any:
    """The body as JSON whose text is safe to store (no lone surrogate, no NUL, not too deep)."""
    try:
        body = scrub_json(await request.json())
    except UnsafeInput as exc:
        raise Refused(f"the request body is {exc.reason}") from None
    except ValueError:
        raise Refused("the request body is not JSON") from None
    if body.refused:
        raise Refused(f"the request body {body.refused}")
    return body.value


def _limit(request: Request, default: int = 20) -> int:
    raw = request.query_params.get("limit")
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        raise Refused(f"limit must be a whole number, got {raw!r}", param="limit") from None
    if not 1 <= value <= MAX_LIMIT:
        raise Refused(f"limit must be between 1 and {MAX_LIMIT}, got {value}", param="limit")
    return value
