"""Errors as each API spells them: OpenAI's, Azure OpenAI's data plane, and Azure's
management plane (ARM). Domain code raises `ApiError`; the routes render it per flavour."""

from __future__ import annotations

from typing import Any, Literal

from starlette.responses import JSONResponse

Flavour = Literal["openai", "azure", "arm"]

# Azure's data-plane ErrorCode values (authoring spec) for each HTTP status.
_AZURE_CODES = {400: "invalidPayload", 401: "unauthorized", 403: "forbidden", 404: "notFound",
                409: "conflict", 429: "tooManyRequests", 500: "internalFailure",
                502: "serviceUnavailable", 503: "serviceUnavailable"}
_OPENAI_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
                 404: "invalid_request_error", 409: "invalid_request_error",
                 429: "requests", 500: "server_error", 502: "server_error", 503: "server_error"}


class ApiError(Exception):
    """A request the sandbox refuses, with what each flavour needs to render it.

    `code` is OpenAI's machine code; `azure_code` overrides the Azure code derived from
    the status (used for ARM codes and `DeploymentNotFound`); `kind` is OpenAI's `type`.
    """

    def __init__(self, status: int, message: str, *, param: str | None = None,
                 code: str | None = None, azure_code: str | None = None,
                 kind: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.azure_code, self.headers = azure_code, headers or {}
        self.kind = kind or _OPENAI_TYPES.get(status, "invalid_request_error")

    def body(self, flavour: Flavour) -> dict[str, Any]:
        if flavour == "openai":
            return {"error": {"message": self.message, "type": self.kind,
                              "param": self.param, "code": self.code}}
        code = self.azure_code or _AZURE_CODES.get(self.status, "internalFailure")
        error: dict[str, Any] = {"code": code, "message": self.message}
        if flavour == "azure" and self.param:
            error["target"] = self.param
        return {"error": error}

    def response(self, flavour: Flavour) -> JSONResponse:
        return JSONResponse(self.body(flavour), status_code=self.status, headers=self.headers)


def not_found(what: str, ident: str, param: str = "id") -> ApiError:
    return ApiError(404, f"No such {what}: {ident}", param=param, code=f"{what.lower()}_not_found")


def bad_request(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, param=param, code=code)
