"""POST chat/completions: OpenAI names the model in the body, Azure in the deployment path
(and serves only models with a ready deployment)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from distillery_sandbox.openai.account import Account
from distillery_sandbox.openai.completions import (
    ChatRequest,
    Completion,
    complete,
    completion_body,
    latency_seconds,
    read_chat_request,
    stream_chunks,
)
from distillery_sandbox.openai.errors import bad_request
from distillery_sandbox.openai.http import json_body

FIRST_TOKEN_SHARE = 0.6
"""Share of a streamed answer's latency spent before its first token."""


def chat_routes() -> list[Route]:
    return [
        Route("/v1/chat/completions", openai_chat, methods=["POST"]),
        Route("/openai/deployments/{deployment}/chat/completions", azure_chat, methods=["POST"]),
    ]


async def openai_chat(request: Request) -> Response:
    body = await json_body(request)
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, str) or not model:
        raise bad_request("'model' is required.", "model")
    return await _answer(request.app.state.sandbox.accounts["openai"], model, body)


async def azure_chat(request: Request) -> Response:
    account: Account = request.app.state.sandbox.accounts["azure"]
    assert account.deployments is not None
    model = account.deployments.serving(request.path_params["deployment"], account.now())
    return await _answer(account, model, await json_body(request))


async def _answer(account: Account, model: str, body: object) -> Response:
    chat = read_chat_request(body)
    brain = account.brain(model)
    completion = complete(brain, model, chat)
    base = account.registry.base(model)
    shown = base.snapshot if base is not None else model
    delay = latency_seconds(account.config.latency, brain.kind, model, chat.messages)
    if chat.stream:
        return StreamingResponse(_stream(completion, shown, chat, delay),
                                 media_type="text/event-stream")
    if delay:
        await asyncio.sleep(delay)
    return JSONResponse(completion_body(completion, shown, chat.n))


async def _stream(completion: Completion, model: str, chat: ChatRequest,
                  delay: float) -> AsyncIterator[bytes]:
    chunks = list(stream_chunks(completion, model, chat.include_usage))
    pause = delay * (1 - FIRST_TOKEN_SHARE) / max(1, len(chunks) - 1)
    for index, chunk in enumerate(chunks):
        wait = delay * FIRST_TOKEN_SHARE if index == 0 else pause
        if wait:
            await asyncio.sleep(wait)
        yield f"data: {json.dumps(chunk)}\n\n".encode()
    yield b"data: [DONE]\n\n"
