"""GET /api/openapi.json is generated from the routes' typed models: every /api route is in it with its models,
a route without them cannot be documented by accident, what the routes answer fits the document, and a request
that does not fit its model is answered 400 naming the field."""

import re
from typing import Any

import jsonschema_rs
import pytest
from aiohttp import web

from tests.web.conftest import seed_calls
from voicebot.app import create_app
from voicebot.appkeys import CALL_STORE
from voicebot.web.openapi import OPERATION_ATTR, api_routes, openapi_document


def _validator(doc: dict[str, Any], schema: dict[str, Any]) -> jsonschema_rs.Draft202012Validator:
    """A validator for one schema of the document; its $refs point into the document's components."""
    return jsonschema_rs.Draft202012Validator({**schema, "components": doc["components"]})


def _answer_schema(doc: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    responses = doc["paths"][path][method]["responses"]
    ok = next(code for code in responses if code.startswith("2"))
    return responses[ok]["content"]["application/json"]["schema"]


def test_every_api_route_is_in_the_document_with_its_models(settings) -> None:
    app = create_app(settings, load_models=False)
    doc = openapi_document(app.router)
    routes = api_routes(app.router)
    assert len(routes) >= 22
    schemas = doc["components"]["schemas"]
    for method, path, handler in routes:
        op = getattr(handler, OPERATION_ATTR)
        documented = doc["paths"][path][method.lower()]
        answer = _answer_schema(doc, path, method.lower())
        if "$ref" in answer:
            assert answer["$ref"].removeprefix("#/components/schemas/") in schemas, (method, path)
        if op.body is not None:
            assert documented["requestBody"]["content"]["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{op.body.__name__}"}
            assert op.body.__name__ in schemas
        # every {placeholder} of the path is a documented, typed path parameter
        in_path = {p["name"] for p in documented.get("parameters", ()) if p["in"] == "path"}
        assert in_path == set(re.findall(r"{(\w+)", path)), (method, path)
    assert set(doc["paths"]) == {path for _, path, _ in routes}
    # roles and CSRF come from the routes' security markers
    assert "Needs role admin" in doc["paths"]["/api/users"]["post"]["description"]
    assert "X-CSRF-Token" in doc["paths"]["/api/users"]["post"]["description"]
    assert "API tokens are refused" in doc["paths"]["/api/tokens"]["get"]["description"]
    assert doc["paths"]["/api/openapi.json"]["get"]["security"] == []
    # the switch-facing AudioSocket routes answer Asterisk's dialplan in plain text: not part of this API
    assert not any(p.startswith("/api/audiosocket/") for p in doc["paths"])


def test_a_route_without_models_cannot_go_undocumented(settings) -> None:
    app = create_app(settings, load_models=False)

    async def untyped(request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/api/untyped", untyped)
    with pytest.raises(RuntimeError, match="GET /api/untyped has no @operation"):
        openapi_document(app.router)


async def test_what_the_routes_answer_fits_the_document(web_server, make_client) -> None:
    await seed_calls(web_server.app[CALL_STORE])
    admin, sup = await make_client("admin"), await make_client("sup")
    async with admin.http.get(admin.url("/api/openapi.json")) as r:
        doc = await r.json()
    async with admin.http.post(admin.url("/api/tokens"), json={"scope": "read", "label": "report"},
                               headers=admin.headers()) as r:
        assert r.status == 201
        checked = [("/api/tokens", "post", await r.json())]
    for client, url, path in (
        (admin, "/api/me", "/api/me"),
        (sup, "/api/calls?transferred=yes", "/api/calls"),
        (sup, "/api/calls/call-angry", "/api/calls/{call_id}"),  # with its handoff package and signals
        (admin, "/api/calls/call-angry/turns", "/api/calls/{call_id}/turns"),
        (sup, "/api/kpis", "/api/kpis"),
        (sup, "/api/handoffs/h-call-human", "/api/handoffs/{handoff_id}"),
        (admin, "/api/users", "/api/users"),
        (admin, "/api/tokens", "/api/tokens"),
        (admin, "/api/audit", "/api/audit"),
    ):
        async with client.http.get(client.url(url)) as r:
            assert r.status == 200, (url, await r.text())
            checked.append((path, "get", await r.json()))
    for path, method, answer in checked:
        validator = _validator(doc, _answer_schema(doc, path, method))
        errors = [e.message for e in validator.iter_errors(answer)]
        assert not errors, (method, path, errors)
        if path != "/api/handoffs/{handoff_id}":  # a package is whatever escalation wrote: any object
            assert not validator.is_valid({}), (method, path)  # the schema says something: fields are required
    call = next(a for p, _, a in checked if p == "/api/calls/{call_id}")
    assert call["handoff"]["reason"] == "frustration"
    assert call["turns"][1]["text"] == "to jest skandal, trzeci raz dzwonię"

    # a request that does not fit: 400, naming the field, in the documented error shape
    async with sup.http.post(sup.url("/api/calls/call-human/csat"), json={"score": "5"}, headers=sup.headers()) as r:
        assert r.status == 400
        error = await r.json()
    assert error["error"].startswith("score: ")
    csat = doc["paths"]["/api/calls/{call_id}/csat"]["post"]["responses"]["400"]["content"]["application/json"]
    assert _validator(doc, csat["schema"]).is_valid(error)
    async with sup.http.get(sup.url("/api/calls/call-human")) as r:
        assert (await r.json())["call"].get("csat", "") == ""  # nothing was stored
