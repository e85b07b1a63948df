"""Azure's management plane for deployments (Microsoft.CognitiveServices, 2024-10-01).

PUT creates or updates a deployment: 201 with provisioningState "Accepted" when new, 200
when it existed; poll GET until "Succeeded". DELETE answers 200 (204 when already gone,
as ARM does).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from distillery_sandbox.openai.account import Account
from distillery_sandbox.openai.errors import ApiError
from distillery_sandbox.openai.http import json_body
from distillery_sandbox.openai.registry import FineTunedModel

ACCOUNT_PATH = ("/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/"
                "Microsoft.CognitiveServices/accounts/{account}")


def arm_routes() -> list[Route]:
    deployments = f"{ACCOUNT_PATH}/deployments"
    return [
        Route(deployments, list_deployments, methods=["GET"]),
        Route(f"{deployments}/{{name}}", put_deployment, methods=["PUT"]),
        Route(f"{deployments}/{{name}}", get_deployment, methods=["GET"]),
        Route(f"{deployments}/{{name}}", delete_deployment, methods=["DELETE"]),
    ]


def _azure(request: Request) -> tuple[Account, tuple[str, str, str]]:
    account: Account = request.app.state.sandbox.accounts["azure"]
    params = request.path_params
    return account, (params["subscription"], params["resource_group"], params["account"])


async def put_deployment(request: Request) -> Response:
    account, scope = _azure(request)
    assert account.deployments is not None
    deployment, new = account.deployments.put(
        scope, request.path_params["name"], await json_body(request), account.now(),
        lambda name: _deployable(account, name),
    )
    return JSONResponse(deployment.resource(account.now()), status_code=201 if new else 200)


async def get_deployment(request: Request) -> Response:
    account, scope = _azure(request)
    assert account.deployments is not None
    deployment = account.deployments.get(scope, request.path_params["name"], account.now())
    return JSONResponse(deployment.resource(account.now()))


async def list_deployments(request: Request) -> Response:
    account, scope = _azure(request)
    assert account.deployments is not None
    now = account.now()
    return JSONResponse({"value": [d.resource(now) for d in account.deployments.listed(scope, now)]})


async def delete_deployment(request: Request) -> Response:
    account, scope = _azure(request)
    assert account.deployments is not None
    try:
        account.deployments.delete(scope, request.path_params["name"], account.now())
    except ApiError as error:
        if error.azure_code == "ResourceNotFound" and scope[2] == account.deployments.account:
            return Response(status_code=204)
        raise
    return Response(status_code=200)


def _deployable(account: Account, name: str) -> bool:
    """A succeeded fine-tune of this resource, or a base model it still serves."""
    account.jobs.advance(account.now())
    try:
        model = account.registry.get(name)
    except ApiError:
        return False
    if isinstance(model, FineTunedModel):
        return True
    return not model.shut_down(account.config.current_date())
