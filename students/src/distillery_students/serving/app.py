"""The HTTP layer of ``distillery serve``: vLLM's subset of the OpenAI API over a student engine.

Every call that touches the model runs in a worker thread under one lock: generation
never blocks the event loop (health and ``/v1/models`` stay answered), and adapters are
never swapped under a running generation.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from distillery_students.domain.chat_template import ParsedCompletion, TemplateError, parse_completion
from distillery_students.serving.engine import AbstractStudentEngine, AdapterRefused
from distillery_students.serving.protocol import (ChatCompletionRequest, LoadLoRAAdapterRequest,
                                                  UnloadLoRAAdapterRequest, completion_body, error_body,
                                                  model_entry)

DEFAULT_MAX_TOKENS = 512


def error(message: str, status: int, kind: str = "BadRequestError", param: str | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, kind, status, param), status_code=status)


def create_app(engine: AbstractStudentEngine) -> Starlette:
    lock = asyncio.Lock()

    async def in_thread(function: Any, *args: Any, **kwargs: Any) -> Any:
        async with lock:
            return await asyncio.to_thread(function, *args, **kwargs)

    async def body_of(request: Request, model: Any) -> Any:
        try:
            return model.model_validate(await request.json())
        except ValueError as exc:
            detail = exc.errors()[0] if isinstance(exc, ValidationError) else None
            where = ".".join(str(part) for part in detail["loc"]) + ": " if detail and detail["loc"] else ""
            return error(f"invalid request: {where}{detail['msg'] if detail else 'body is not JSON'}", 400)

    async def chat_completions(request: Request) -> Response:
        body = await body_of(request, ChatCompletionRequest)
        if isinstance(body, Response):
            return body
        if body.stream:
            return error("stream is not supported by distillery serve", 400, param="stream")
        if body.n != 1:
            return error("only n=1 is supported", 400, param="n")
        if body.model != engine.base_name and body.model not in engine.adapters:
            return error(f"The model `{body.model}` does not exist.", 404, "NotFoundError", "model")
        try:
            generation = await in_thread(
                engine.generate, body.model, body.messages, body.tools,
                max_tokens=body.token_budget(DEFAULT_MAX_TOKENS),
                temperature=1.0 if body.temperature is None else body.temperature,
                top_p=body.top_p, seed=body.seed)
        except TemplateError as exc:
            return error(str(exc), 400, param="messages")
        except KeyError:  # unloaded while this call waited for the lock
            return error(f"The model `{body.model}` does not exist.", 404, "NotFoundError", "model")
        # Without tools in the request, tool-call tags are plain text, as vLLM leaves them.
        parsed = parse_completion(generation.text) if body.uses_tools() else ParsedCompletion(generation.text.strip())
        return JSONResponse(completion_body(body.model, parsed, generation.finish_reason,
                                            generation.prompt_tokens, generation.completion_tokens))

    async def models(request: Request) -> Response:
        data = [model_entry(engine.base_name, engine.base_root, None, engine.created)]
        data += [model_entry(a.name, str(a.path), engine.base_name, a.loaded_at) for a in engine.adapters.values()]
        return JSONResponse({"object": "list", "data": data})

    async def load_lora_adapter(request: Request) -> Response:
        body = await body_of(request, LoadLoRAAdapterRequest)
        if isinstance(body, Response):
            return body
        if not body.lora_name or not body.lora_path:
            return error("Both 'lora_name' and 'lora_path' must be provided.", 400, "InvalidUserInput")
        try:
            await in_thread(engine.load_adapter, body.lora_name, Path(body.lora_path), replace=body.load_inplace)
        except AdapterRefused as exc:
            return error(str(exc), 400, "InvalidUserInput")
        return PlainTextResponse(f"Success: LoRA adapter '{body.lora_name}' added successfully.")

    async def unload_lora_adapter(request: Request) -> Response:
        body = await body_of(request, UnloadLoRAAdapterRequest)
        if isinstance(body, Response):
            return body
        if not body.lora_name:
            return error("'lora_name' needs to be provided to unload a LoRA adapter.", 400, "InvalidUserInput")
        try:
            await in_thread(engine.unload_adapter, body.lora_name)
        except KeyError:
            return error(f"The lora adapter '{body.lora_name}' cannot be found.", 404, "NotFoundError")
        return PlainTextResponse(f"Success: LoRA adapter '{body.lora_name}' removed successfully.")

    async def health(request: Request) -> Response:
        return Response(status_code=200)

    return Starlette(routes=[
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/load_lora_adapter", load_lora_adapter, methods=["POST"]),
        Route("/v1/unload_lora_adapter", unload_lora_adapter, methods=["POST"]),
        Route("/health", health, methods=["GET"]),
    ])

