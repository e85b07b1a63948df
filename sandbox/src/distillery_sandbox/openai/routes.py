"""Files, fine-tuning jobs and models, for both flavours.

The same handlers serve OpenAI under /v1 and Azure OpenAI under /openai; the flavour
decides the account, the JSON shapes and Azure's 201-on-create.
"""

from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from distillery_sandbox.openai.account import Account
from distillery_sandbox.openai.errors import bad_request
from distillery_sandbox.openai.http import json_body, metadata_filter, page, query_int
from distillery_sandbox.openai.render import (
    checkpoint_object,
    event_object,
    file_object,
    job_object,
    list_object,
    model_object,
)


class ProviderApi:
    """The files, jobs and models routes of one flavour under `prefix`."""

    def __init__(self, flavour: str, prefix: str):
        self.flavour, self.prefix, self.azure = flavour, prefix, flavour == "azure"

    def routes(self) -> list[Route]:
        p, jobs = self.prefix, f"{self.prefix}/fine_tuning/jobs"
        routes = [
            Route(f"{p}/files", self.upload_file, methods=["POST"]),
            Route(f"{p}/files", self.list_files, methods=["GET"]),
            Route(f"{p}/files/{{file_id}}", self.get_file, methods=["GET"]),
            Route(f"{p}/files/{{file_id}}", self.delete_file, methods=["DELETE"]),
            Route(f"{p}/files/{{file_id}}/content", self.file_content, methods=["GET"]),
            Route(jobs, self.create_job, methods=["POST"]),
            Route(jobs, self.list_jobs, methods=["GET"]),
            Route(f"{jobs}/{{job_id}}", self.get_job, methods=["GET"]),
            Route(f"{jobs}/{{job_id}}/cancel", self.cancel_job, methods=["POST"]),
            Route(f"{jobs}/{{job_id}}/pause", self.pause_job, methods=["POST"]),
            Route(f"{jobs}/{{job_id}}/resume", self.resume_job, methods=["POST"]),
            Route(f"{jobs}/{{job_id}}/events", self.list_events, methods=["GET"]),
            Route(f"{jobs}/{{job_id}}/checkpoints", self.list_checkpoints, methods=["GET"]),
            Route(f"{p}/models", self.list_models, methods=["GET"]),
            Route(f"{p}/models/{{model}}", self.get_model, methods=["GET"]),
        ]
        if self.azure:
            routes.append(Route(f"{jobs}/{{job_id}}", self.delete_job, methods=["DELETE"]))
        else:
            routes.append(Route(f"{p}/models/{{model}}", self.delete_model, methods=["DELETE"]))
        return routes

    def account(self, request: Request) -> Account:
        return request.app.state.sandbox.accounts[self.flavour]

    def created(self, body: dict, request: Request, path: str) -> JSONResponse:
        """OpenAI answers 200; Azure answers 201 with the new item's Location."""
        if not self.azure:
            return JSONResponse(body)
        location = str(request.base_url).rstrip("/") + f"{self.prefix}/{path}/{body['id']}"
        return JSONResponse(body, status_code=201, headers={"Location": location})

    async def upload_file(self, request: Request) -> Response:
        form = await request.form()
        upload, purpose = form.get("file"), form.get("purpose")
        if not isinstance(upload, UploadFile):
            raise bad_request("'file' is required: the file to upload (multipart form).", "file")
        if not isinstance(purpose, str):
            raise bad_request("'purpose' is required, e.g. 'fine-tune'.", "purpose")
        account = self.account(request)
        record = account.upload_file(upload.filename or "upload.jsonl", purpose, await upload.read())
        return self.created(file_object(record, self.flavour, account.now()), request, "files")

    async def list_files(self, request: Request) -> Response:
        account = self.account(request)
        order = request.query_params.get("order", "desc")
        if order not in ("asc", "desc"):
            raise bad_request("'order' must be 'asc' or 'desc'.", "order")
        records = account.files.listed(request.query_params.get("purpose"), order)
        limit = query_int(request, "limit", 10_000, 1, 10_000)
        chosen, more = page(records, request.query_params.get("after"), limit)
        data = [file_object(r, self.flavour, account.now()) for r in chosen]
        return JSONResponse(list_object(data) if self.azure else list_object(data, more, ids=True))

    async def get_file(self, request: Request) -> Response:
        account = self.account(request)
        record = account.files.get(request.path_params["file_id"])
        return JSONResponse(file_object(record, self.flavour, account.now()))

    async def delete_file(self, request: Request) -> Response:
        record = self.account(request).files.delete(request.path_params["file_id"])
        return JSONResponse({"object": "file", "id": record.id, "deleted": True})

    async def file_content(self, request: Request) -> Response:
        content = self.account(request).files.content(request.path_params["file_id"])
        return Response(content, media_type="application/octet-stream")

    async def create_job(self, request: Request) -> Response:
        job = self.account(request).create_job(await json_body(request))
        return self.created(job_object(job, self.flavour), request, "fine_tuning/jobs")

    async def list_jobs(self, request: Request) -> Response:
        jobs = self.account(request).list_jobs(metadata_filter(request))
        limit = query_int(request, "limit", 20, 1, 100)
        chosen, more = page(jobs, request.query_params.get("after"), limit)
        return JSONResponse(list_object([job_object(j, self.flavour) for j in chosen], more))

    async def get_job(self, request: Request) -> Response:
        job = self.account(request).job(request.path_params["job_id"])
        return JSONResponse(job_object(job, self.flavour))

    async def cancel_job(self, request: Request) -> Response:
        return self._act(request, "cancel")

    async def pause_job(self, request: Request) -> Response:
        return self._act(request, "pause")

    async def resume_job(self, request: Request) -> Response:
        return self._act(request, "resume")

    def _act(self, request: Request, verb: str) -> Response:
        account = self.account(request)
        job = getattr(account.jobs, verb)(request.path_params["job_id"], account.now())
        return JSONResponse(job_object(job, self.flavour))

    async def delete_job(self, request: Request) -> Response:
        account = self.account(request)
        job = account.job(request.path_params["job_id"])
        if not job.terminal:
            account.jobs.cancel(job.id, account.now())
        del account.jobs.jobs[job.id]
        return Response(status_code=204)

    async def list_events(self, request: Request) -> Response:
        job = self.account(request).job(request.path_params["job_id"])
        limit = query_int(request, "limit", 20, 1, 1000)
        chosen, more = page(job.events[::-1], request.query_params.get("after"), limit)
        return JSONResponse(list_object([event_object(e, self.flavour) for e in chosen], more))

    async def list_checkpoints(self, request: Request) -> Response:
        account = self.account(request)
        job = account.job(request.path_params["job_id"])
        limit = query_int(request, "limit", 10, 1, 100)
        chosen, more = page(job.checkpoints[::-1], request.query_params.get("after"), limit)
        name = job.fine_tuned_model or account.model_name(job)
        data = [checkpoint_object(c, job, name) for c in chosen]
        return JSONResponse(list_object(data, more, ids=not self.azure))

    async def list_models(self, request: Request) -> Response:
        models = self.account(request).registry.listed()
        return JSONResponse(list_object([model_object(m, self.flavour) for m in models]))

    async def get_model(self, request: Request) -> Response:
        model = self.account(request).registry.get(request.path_params["model"])
        return JSONResponse(model_object(model, self.flavour))

    async def delete_model(self, request: Request) -> Response:
        model = self.account(request).registry.delete(request.path_params["model"])
        return JSONResponse({"id": model.id, "object": "model", "deleted": True})
