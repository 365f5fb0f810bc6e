"""Typed JSON routes, and the OpenAPI 3.1 document generated from them (served at GET /api/openapi.json).

A JSON route declares its models with `@operation`; the models are the contract, so a route cannot be added
or changed without the document following:

    @routes.post("/api/calls/{call_id}/csat")
    @operation("Store a post-call survey score", CsatStored, path=CallPath, body=CsatScore, errors=(404,))
    async def set_csat(request, path: CallPath, body: CsatScore) -> CsatStored: ...

The wrapper validates the path parameters, the query string and the JSON body (strictly: `"1"` is not an
integer) and hands them to the handler as `path=`, `query=`, `body=`; a request that does not fit is answered
400 naming the field. What the handler returns is validated against the response model and sent as JSON, so
the answer is what the document says. Roles and CSRF come from security.py's markers (`@public`,
`@admin_only`, `@session_only`) and are written into the document too. Every /api route has an operation
except the switch-facing ones (security.SELF_AUTHENTICATING_PREFIXES): tests/web/test_openapi.py checks it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import BaseModel, TypeAdapter, ValidationError

from voicebot.web.security import SELF_AUTHENTICATING_PREFIXES, UNSAFE_METHODS, access_of, http_error, is_session_only

OPERATION_ATTR = "_voicebot_operation"
REF = "#/components/schemas/{model}"
ERROR_TEXT = {400: "request does not fit the schema (the message names the field)", 401: "not logged in",
              403: "wrong role, CSRF token or API token scope", 404: "not found", 409: "conflict",
              422: "refused by a rule (the message says which)", 429: "too many attempts",
              503: "store unavailable, try again"}


class Problem(BaseModel):
    line: int | None = None  # a line of a flow's YAML, when the problem has one
    message: str


class ApiError(BaseModel):
    """Every error answer of /api (security.http_error writes it)."""

    error: str
    problems: list[Problem] = []


def validation_message(exc: ValidationError) -> tuple[str, list[tuple[int | None, str]]]:
    """'score: Input should be less than or equal to 5': one line per field that does not fit."""
    lines = []
    for error in exc.errors(include_url=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        cause = error.get("ctx", {}).get("error") if error["type"] == "value_error" else None
        lines.append(f"{field}: {cause or error['msg']}")
    return "; ".join(lines), [(None, line) for line in lines]


@dataclass(frozen=True)
class Reply:
    """A typed answer that also changes the HTTP response (e.g. sets a cookie) before it is sent."""

    value: Any
    finish: Callable[[web.Response], None]


@dataclass(frozen=True)
class Operation:
    summary: str
    response: Any  # a pydantic model, a dataclass or any type pydantic can describe
    status: int = 200
    path: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    errors: tuple[int, ...] = ()  # answers the handler itself may give; 400/401/403 are derived
    description: str = ""


def operation(summary: str, response: Any, *, status: int = 200, path: type[BaseModel] | None = None,
              query: type[BaseModel] | None = None, body: type[BaseModel] | None = None,
              body_required: bool = True, errors: tuple[int, ...] = (),
              description: str = "") -> Callable[[Callable[..., Awaitable[Any]]], Callable[[web.Request], Any]]:
    """Declare a JSON route's models (see the module doc); put it under the `@routes.<method>(...)` line."""
    op = Operation(summary, response, status, path, query, body, body_required, errors, description)
    answer: TypeAdapter[Any] = TypeAdapter(response)

    def wrap(handler: Callable[..., Awaitable[Any]]) -> Callable[[web.Request], Any]:
        @functools.wraps(handler)
        async def run(request: web.Request) -> web.StreamResponse:
            result = await handler(request, **await _inputs(request, op))
            reply = result if isinstance(result, Reply) else None
            value = answer.validate_python(reply.value if reply else result)
            resp = web.json_response(text=answer.dump_json(value).decode(), status=op.status)
            if reply:
                reply.finish(resp)
            return resp

        setattr(run, OPERATION_ATTR, op)
        return run

    return wrap


async def _inputs(request: web.Request, op: Operation) -> dict[str, BaseModel]:
    try:
        out: dict[str, BaseModel] = {}
        if op.path:
            out["path"] = op.path.model_validate(dict(request.match_info))
        if op.query:
            out["query"] = op.query.model_validate(dict(request.query))
        if op.body:
            raw = await request.read()
            if not raw.strip() and op.body_required:
                raise http_error(request, web.HTTPBadRequest, "body: a JSON object is required")
            out["body"] = op.body.model_validate_json(raw if raw.strip() else b"{}", strict=True)
    except ValidationError as exc:
        message, problems = validation_message(exc)
        raise http_error(request, web.HTTPBadRequest, message, problems) from exc
    return out


def api_routes(router: web.UrlDispatcher) -> list[tuple[str, str, Any]]:
    """(method, path, handler) of every /api route the document must describe; HEAD comes with GET."""
    found = []
    for route in router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if not path.startswith("/api/") or path.startswith(SELF_AUTHENTICATING_PREFIXES) or route.method == "HEAD":
            continue
        found.append((route.method, path, route.handler))
    return found


def openapi_document(router: web.UrlDispatcher) -> dict[str, Any]:
    ops: list[tuple[str, str, Any, Operation]] = []
    for method, path, handler in api_routes(router):
        op = getattr(handler, OPERATION_ATTR, None)
        if op is None:  # an undocumented route is a bug, not something to leave out quietly
            raise RuntimeError(f"{method} {path} has no @operation (voicebot/web/openapi.py)")
        ops.append((method, path, handler, op))
    # answers as they are sent (serialization), bodies as they are accepted (validation)
    inputs: list[tuple[Any, Any, TypeAdapter[Any]]] = [("error", "serialization", TypeAdapter(ApiError))]
    for i, (*_, op) in enumerate(ops):
        inputs.append((i, "serialization", TypeAdapter(op.response)))
        if op.body:
            inputs.append((i, "validation", TypeAdapter(op.body)))
    refs, defs = TypeAdapter.json_schemas(inputs, ref_template=REF)
    paths: dict[str, dict[str, Any]] = {}
    error = refs[("error", "serialization")]
    for i, (method, path, handler, op) in enumerate(ops):
        paths.setdefault(path, {})[method.lower()] = _operation(
            method, handler, op, refs[(i, "serialization")], refs.get((i, "validation")), error)
    return {
        "openapi": "3.1.0",
        "info": {"title": "voicebot call center API", "version": "1",
                 "description": "Calls, transcripts, handoffs, KPIs and flows. Log in at /login (session cookie "
                                "+ X-CSRF-Token header on state-changing calls) or use an API token "
                                "(POST /api/tokens) as `Authorization: Bearer <token>`."},
        "servers": [{"url": "/"}],
        "security": [{"session": []}, {"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "vb_session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
            "schemas": defs.get("$defs", {}),
        },
    }


def _operation(method: str, handler: Any, op: Operation, answer: dict[str, Any], body: dict[str, Any] | None,
               error: dict[str, Any]) -> dict[str, Any]:
    access, session_only = access_of(handler), is_session_only(handler)
    notes = [op.description] if op.description else []
    errors = set(op.errors)
    if access == "admin":
        notes.append("Needs role admin.")
    elif access == "user":  # every logged-in route not marked @agents_too refuses the agent role
        notes.append("Needs role supervisor or admin.")
    if session_only:
        notes.append("Needs a login session: API tokens are refused.")
    if method in UNSAFE_METHODS and access != "public":
        notes.append("Session callers must send the X-CSRF-Token header.")
    if access != "public":
        errors.add(401)
        if access in ("admin", "user") or session_only or method in UNSAFE_METHODS:
            errors.add(403)
    parameters = [*_parameters(op.path, "path"), *_parameters(op.query, "query")]
    if parameters or body:
        errors.add(400)
    out: dict[str, Any] = {"summary": op.summary}
    if notes:
        out["description"] = " ".join(notes)
    if access == "public":
        out["security"] = []
    if parameters:
        out["parameters"] = parameters
    if body:
        out["requestBody"] = {"required": op.body_required, "content": {"application/json": {"schema": body}}}
    out["responses"] = {str(op.status): _json(answer, "Created" if op.status == 201 else "OK"),
                        **{str(code): _json(error, ERROR_TEXT[code]) for code in sorted(errors)}}
    return out


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _parameters(model: type[BaseModel] | None, where: str) -> list[dict[str, Any]]:
    """Path or query parameters from a model's fields (aliases are the names on the wire, e.g. `from`)."""
    if model is None:
        return []
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    required = set(schema.get("required", ()))
    out = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title" and not (k == "default" and v is None)}
        param: dict[str, Any] = {"name": name, "in": where, "required": where == "path" or name in required}
        if "description" in prop:
            param["description"] = prop.pop("description")
        param["schema"] = prop
        out.append(param)
    return out
