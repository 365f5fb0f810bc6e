"""The OpenAPI 3.1 document of /api (served at GET /api/openapi.json)."""

from __future__ import annotations

from typing import Any

ERROR = {"$ref": "#/components/schemas/Error"}
STR = {"type": "string"}
OBJ = {"type": "object"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "malformed id", 503: "store unavailable, try again",
            401: "not logged in", 403: "wrong role or CSRF token", 404: "not found", 409: "conflict",
            422: "invalid input", 429: "too many attempts"}
    return {str(c): _json(ERROR, text[c]) for c in codes}


def _path_param(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string", "minLength": 1}}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema or STR}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


FLOW = [_path_param("flow_id", {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"}),
        _path_param("lang", {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"})]
DATE_FILTERS = [
    _query("from", "start of the range: YYYY-MM-DD, ISO date-time or epoch seconds"),
    _query("to", "end of the range (inclusive day): YYYY-MM-DD, ISO date-time or epoch seconds"),
]
CALL_FILTERS = [
    *DATE_FILTERS,
    _query("q", "text in the transcript, caller number or call id"),
    _query("intent", "calls where this intent was recognised"),
    _query("transferred", "yes = handed to a human, no = not", {"type": "string", "enum": ["", "yes", "no"]}),
    _query("reason", "transfer reason, e.g. frustration"),
    _query("language", "pl, en, ..."),
    _query("limit", "at most this many calls (1-5000)", {"type": "integer", "minimum": 1, "maximum": 5000}),
]
ADMIN = "Needs role admin."
UNSAFE = "Session callers must send the X-CSRF-Token header."
SESSION = "Needs a login session: API tokens are refused."


def openapi_document() -> dict[str, Any]:
    flow_version_body = {"type": "object", "required": ["version"],
                         "properties": {"version": {"type": "integer", "minimum": 1}}}
    paths: dict[str, Any] = {
        "/api/me": {"get": {"summary": "Who am I", "responses": {"200": _json(OBJ), **_errors(401)}}},
        "/api/calls": {"get": {"summary": "Search calls (newest first)", "parameters": CALL_FILTERS,
                               "responses": {"200": _json({"type": "object", "properties": {
                                   "calls": {"type": "array", "items": {"$ref": "#/components/schemas/CallRow"}}}}),
                                   **_errors(401, 422)}}},
        "/api/calls/live": {"get": {"summary": "Calls in progress", "responses": {"200": _json(OBJ), **_errors(401)}}},
        "/api/calls/{call_id}": {"get": {
            "summary": "One call: record, transcript turns, handoff package", "parameters": [_path_param("call_id")],
            "responses": {"200": _json({"$ref": "#/components/schemas/CallDetail"}), **_errors(401, 404)}}},
        "/api/calls/{call_id}/turns": {"get": {
            "summary": "Transcript turns (PII redacted; originals only for admins when kept)",
            "parameters": [_path_param("call_id")], "responses": {"200": _json(OBJ), **_errors(401, 404)}}},
        "/api/calls/{call_id}/csat": {"post": {
            "summary": "Store a post-call survey score", "description": UNSAFE, "parameters": [_path_param("call_id")],
            "requestBody": _body({"type": "object", "required": ["score"],
                                  "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}}}),
            "responses": {"200": _json(OBJ), **_errors(401, 403, 404, 422)}}},
        "/api/handoffs/{handoff_id}": {"get": {
            "summary": "Handoff package for the agent screen-pop (voicebot.web.handoffs)",
            "parameters": [_path_param("handoff_id")],
            "responses": {"200": _json(OBJ), **_errors(400, 401, 404, 503)}}},
        "/api/kpis": {"get": {"summary": "KPIs for a date range (default: last 24 h)", "parameters": DATE_FILTERS,
                              "responses": {"200": _json({"$ref": "#/components/schemas/Kpis"}), **_errors(401, 422)}}},
        "/api/flows": {"get": {"summary": "Flows with their version count and live version",
                               "responses": {"200": _json(OBJ), **_errors(401)}}},
        "/api/flows/{flow_id}/{lang}/versions": {
            "get": {"summary": "Versions of a flow", "parameters": FLOW,
                    "responses": {"200": _json(OBJ), **_errors(401, 422)}},
            "post": {"summary": "Save a new version (validated; not live yet)", "description": f"{ADMIN} {UNSAFE}",
                     "parameters": FLOW,
                     "requestBody": _body({"type": "object", "required": ["yaml"],
                                           "properties": {"yaml": STR, "note": STR}}),
                     "responses": {"201": _json(OBJ), **_errors(401, 403, 422)}}},
        "/api/flows/{flow_id}/{lang}/versions/{version}": {"get": {
            "summary": "One version with its YAML", "parameters": [*FLOW, _path_param("version", {"type": "integer"})],
            "responses": {"200": _json(OBJ), **_errors(401, 404, 422)}}},
        "/api/flows/{flow_id}/{lang}/publish": {"post": {
            "summary": "Run the flow's tests and make the version live in every process",
            "description": f"{ADMIN} {UNSAFE} Refused (409) when a flow test fails.", "parameters": FLOW,
            "requestBody": _body(flow_version_body),
            "responses": {"200": _json(OBJ), **_errors(401, 403, 404, 409, 422)}}},
        "/api/flows/{flow_id}/{lang}/rollback": {"post": {
            "summary": "Make an earlier version live again (tests run again)", "description": f"{ADMIN} {UNSAFE}",
            "parameters": FLOW, "requestBody": _body(flow_version_body),
            "responses": {"200": _json(OBJ), **_errors(401, 403, 404, 409, 422)}}},
        "/api/users": {
            "get": {"summary": "Web users", "description": ADMIN,
                    "responses": {"200": _json(OBJ), **_errors(401, 403)}},
            "post": {"summary": "Add a user", "description": f"{ADMIN} {UNSAFE}",
                     "requestBody": _body({"type": "object", "required": ["name", "password", "role"], "properties": {
                         "name": STR, "password": STR,
                         "role": {"type": "string", "enum": ["supervisor", "admin", "agent"]}}}),
                     "responses": {"201": _json(OBJ), **_errors(401, 403, 409, 422)}}},
        "/api/users/{name}": {
            "delete": {"summary": "Delete a user (ends their sessions and API tokens)",
                       "description": f"{ADMIN} {UNSAFE}",
                       "parameters": [_path_param("name")],
                       "responses": {"200": _json(OBJ), **_errors(401, 403, 404, 422)}},
            "patch": {"summary": "Change another user's role and/or reset their password (they must choose a new "
                                 "one at their next login); ends their sessions and API tokens",
                      "description": f"{ADMIN} {UNSAFE}", "parameters": [_path_param("name")],
                      "requestBody": _body({"type": "object", "properties": {
                          "role": {"type": "string", "enum": ["supervisor", "admin", "agent"]}, "password": STR}}),
                      "responses": {"200": _json(OBJ), **_errors(401, 403, 404, 422)}}},
        "/api/users/{name}/tokens": {"get": {
            "summary": "A user's live API tokens (ids, scopes, expiry; never the secrets)", "description": ADMIN,
            "parameters": [_path_param("name")], "responses": {"200": _json(OBJ), **_errors(401, 403, 404)}}},
        "/api/users/{name}/tokens/{token_id}": {"delete": {
            "summary": "Revoke a user's API token", "description": f"{ADMIN} {UNSAFE}",
            "parameters": [_path_param("name"), _path_param("token_id")],
            "responses": {"200": _json(OBJ), **_errors(401, 403, 404)}}},
        "/api/me/password": {"post": {
            "summary": "Change your password; ends your other sessions and your API tokens, returns the new CSRF "
                       "token", "description": f"{SESSION} {UNSAFE}",
            "requestBody": _body({"type": "object", "required": ["current", "new"],
                                  "properties": {"current": STR, "new": STR}}),
            "responses": {"200": _json(OBJ), **_errors(401, 403, 422, 429)}}},
        "/api/tokens": {
            "get": {"summary": "Your live API tokens", "description": SESSION,
                    "responses": {"200": _json(OBJ), **_errors(401, 403)}},
            "post": {"summary": "Issue an API token for scripts (the secret is shown once)",
                     "description": f"{SESSION} {UNSAFE} Scope read = GET only; the scope is at most your role.",
                     "requestBody": {"required": False, "content": {"application/json": {"schema": {
                         "type": "object", "properties": {
                             "scope": {"type": "string", "enum": ["read", "agent", "supervisor", "admin"]},
                             "days": {"type": "integer", "minimum": 1}, "label": STR}}}}},
                     "responses": {"201": _json(OBJ), **_errors(401, 403, 422)}}},
        "/api/tokens/{token_id}": {"delete": {
            "summary": "Revoke one of your API tokens", "description": f"{SESSION} {UNSAFE}",
            "parameters": [_path_param("token_id")], "responses": {"200": _json(OBJ), **_errors(401, 403, 404)}}},
        "/api/audit": {"get": {"summary": "Audit trail: who changed what, when", "description": ADMIN,
                               "responses": {"200": _json(OBJ), **_errors(401, 403)}}},
    }
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
            "schemas": {
                "Error": {"type": "object", "required": ["error"], "properties": {
                    "error": STR, "problems": {"type": "array", "items": {"type": "object", "properties": {
                        "line": {"type": ["integer", "null"]}, "message": STR}}}}},
                "CallRow": {"type": "object", "properties": {
                    "call_id": STR, "started_at": STR, "ended_at": STR, "caller_number": STR, "language": STR,
                    "outcome": STR, "transfer_reason": STR, "handoff_id": STR, "transferred": {"type": "boolean"}}},
                "CallDetail": {"type": "object", "required": ["call", "turns"], "properties": {
                    "call": OBJ, "turns": {"type": "array", "items": OBJ}, "handoff": {"type": ["object", "null"]}}},
                "Kpis": {"type": "object", "properties": {
                    "calls": {"type": "integer"}, "containment": {"type": ["number", "null"]},
                    "transfer_rate": {"type": ["number", "null"]}, "transfers_by_reason": OBJ,
                    "avg_handling_s": {"type": ["number", "null"]}, "fcr": {"type": ["number", "null"]},
                    "csat": {"type": ["number", "null"]}, "callbacks_pending": {"type": "integer"}}},
            },
        },
    }
