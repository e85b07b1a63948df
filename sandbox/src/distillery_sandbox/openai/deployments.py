"""Azure deployments: a model must be deployed before Azure serves chats with it.

Created through the management plane as a long-running operation: the PUT answers 201
with provisioningState "Accepted" and a GET shows "Succeeded" once `provision_seconds`
have passed. Deployments of fine-tuned models idle for `idle_days` are deleted, as Azure
does; the deployments configured at start (the teacher's) are kept.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from distillery_sandbox.openai.errors import ApiError

DEPLOYMENT_TYPE = "Microsoft.CognitiveServices/accounts/deployments"


class Deployment(BaseModel):
    """One deployment: its ARM scope, sku and model, and its timing."""

    name: str
    subscription: str
    resource_group: str
    account: str
    sku: dict[str, Any]
    model: dict[str, Any]
    created_at: float
    ready_at: float
    last_used_at: float
    permanent: bool = False

    def state(self, now: float) -> str:
        return "Succeeded" if now >= self.ready_at else "Accepted"

    def resource(self, now: float) -> dict[str, Any]:
        """The ARM resource body (shape of the PutDeployment example)."""
        return {
            "id": (f"/subscriptions/{self.subscription}/resourceGroups/{self.resource_group}"
                   f"/providers/Microsoft.CognitiveServices/accounts/{self.account}"
                   f"/deployments/{self.name}"),
            "name": self.name,
            "type": DEPLOYMENT_TYPE,
            "sku": self.sku,
            "properties": {"model": self.model, "provisioningState": self.state(now)},
        }


def read_deployment_body(body: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """(sku, model) of a PUT body, or a 400 in ARM's shape."""
    if not isinstance(body, dict):
        raise _invalid("The request body must be a JSON object with 'sku' and 'properties'.")
    sku = body.get("sku") or {"name": "Standard", "capacity": 1}
    if not isinstance(sku, dict) or not isinstance(sku.get("name"), str):
        raise _invalid("'sku' must be an object with a 'name', e.g. {\"name\": \"Standard\", "
                       "\"capacity\": 1}.")
    model = (body.get("properties") or {}).get("model") if isinstance(body.get("properties"), dict) else None
    if not isinstance(model, dict) or not isinstance(model.get("name"), str):
        raise _invalid("'properties.model' must name the model: {\"format\": \"OpenAI\", "
                       "\"name\": ..., \"version\": ...}.")
    if model.get("format", "OpenAI") != "OpenAI":
        raise _invalid(f"Model format {model.get('format')!r} is not supported; use 'OpenAI'.")
    return sku, {"format": "OpenAI", "version": "1", **model}


def _invalid(message: str) -> ApiError:
    return ApiError(400, message, azure_code="InvalidResourceProperties")


class DeploymentStore:
    """The deployments of the one simulated Azure resource."""

    def __init__(self, account: str, provision_seconds: float, idle_days: float):
        self.account, self.provision_seconds = account, provision_seconds
        self.idle_seconds = idle_days * 86_400
        self.deployments: dict[str, Deployment] = {}

    def preset(self, name: str, model: str, now: float) -> None:
        self.deployments[name] = Deployment(
            name=name, subscription="-", resource_group="-", account=self.account,
            sku={"name": "Standard", "capacity": 1},
            model={"format": "OpenAI", "name": model, "version": "1"},
            created_at=now, ready_at=now, last_used_at=now, permanent=True,
        )

    def put(self, scope: tuple[str, str, str], name: str, body: Any, now: float,
            model_exists: Any) -> tuple[Deployment, bool]:
        """Create or update; True when created. `model_exists(name)` vets the model."""
        self._check_account(scope[2])
        sku, model = read_deployment_body(body)
        if not model_exists(model["name"]):
            raise ApiError(400, f"The model '{model['name']}' is not available to deploy on "
                                f"account '{self.account}'.",
                           azure_code="DeploymentModelNotSupported")
        self.expire(now)
        existing = self.deployments.get(name)
        same = existing is not None and existing.model == model
        deployment = Deployment(
            name=name, subscription=scope[0], resource_group=scope[1], account=scope[2],
            sku=sku, model=model, created_at=existing.created_at if existing else now,
            ready_at=existing.ready_at if same else now + self.provision_seconds,
            last_used_at=now,
        )
        self.deployments[name] = deployment
        return deployment, existing is None

    def get(self, scope: tuple[str, str, str], name: str, now: float) -> Deployment:
        self._check_account(scope[2])
        self.expire(now)
        deployment = self.deployments.get(name)
        if deployment is None:
            raise ApiError(404, f"The Resource '{DEPLOYMENT_TYPE}/{self.account}/{name}' was not "
                                "found.", azure_code="ResourceNotFound")
        return deployment

    def delete(self, scope: tuple[str, str, str], name: str, now: float) -> None:
        self.get(scope, name, now)
        del self.deployments[name]

    def listed(self, scope: tuple[str, str, str], now: float) -> list[Deployment]:
        self._check_account(scope[2])
        self.expire(now)
        return list(self.deployments.values())

    def serving(self, name: str, now: float) -> str:
        """The model a ready deployment serves (marking it used), or Azure's 404."""
        self.expire(now)
        deployment = self.deployments.get(name)
        if deployment is None or deployment.state(now) != "Succeeded":
            raise ApiError(
                404, "The API deployment for this resource does not exist. If you created the "
                     "deployment within the last 5 minutes, please wait a moment and try again.",
                azure_code="DeploymentNotFound")
        deployment.last_used_at = now
        return deployment.model["name"]

    def expire(self, now: float) -> None:
        for name, deployment in list(self.deployments.items()):
            if not deployment.permanent and now - deployment.last_used_at > self.idle_seconds:
                del self.deployments[name]

    def _check_account(self, account: str) -> None:
        if account != self.account:
            raise ApiError(404, f"The Resource 'Microsoft.CognitiveServices/accounts/{account}' "
                                "was not found.", azure_code="ResourceNotFound")
