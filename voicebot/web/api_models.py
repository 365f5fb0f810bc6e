"""The typed requests and answers of /api (voicebot/web/api.py): the OpenAPI document is generated from them.

Bodies are strict (JSON types as written: "1" is not an integer) and refuse unknown fields, so a typo is a 400
naming it rather than silently ignored. Store records (User, ApiToken, AuditEntry, FlowSummary, FlowVersion,
Kpis, TurnRecord) are answered as they are: their dataclasses are the models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WrapSerializer

from voicebot.store.audit import AuditEntry
from voicebot.store.calls import TurnRecord
from voicebot.store.flows import FLOW_ID, FlowSummary
from voicebot.store.handoffs import HANDOFF_ID
from voicebot.store.tokens import ApiToken
from voicebot.store.users import Role, User

# -- requests ------------------------------------------------------------------------------------------


class Body(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


FlowIdPart = Annotated[str, Field(pattern=FLOW_ID.pattern)]


class FlowPath(BaseModel):
    flow_id: FlowIdPart
    lang: FlowIdPart


class FlowVersionPath(FlowPath):
    version: int  # any number: one that cannot exist (0, 2**64) is simply not found (404)


class CallPath(BaseModel):
    call_id: str = Field(min_length=1)


class HandoffPath(BaseModel):
    handoff_id: str = Field(pattern=HANDOFF_ID.pattern)


class UserPath(BaseModel):
    name: str = Field(min_length=1)


class TokenPath(BaseModel):
    token_id: str = Field(min_length=1)


class UserTokenPath(UserPath, TokenPath):
    pass


class CsatScore(Body):
    score: int = Field(ge=1, le=5)


class NewFlowVersion(Body):
    yaml: str
    note: str = ""


class VersionChoice(Body):
    version: int  # as in FlowVersionPath: an unknown version is a 404


class NewUser(Body):
    name: str
    password: str  # the password rules (store/users.py: check_password) answer 422 with their reason
    role: Role


class UserChange(Body):
    role: Role | None = None
    password: str | None = None


class PasswordChange(Body):
    current: str
    new: str


class TokenRequest(Body):
    scope: Literal["read", "agent", "supervisor", "admin"] | None = Field(None,
                                                                         description="at most your role; default it")
    days: int | None = Field(None, ge=1, description="lifetime; default web.api_token_days")
    label: str = ""


# -- answers -------------------------------------------------------------------------------------------


class Me(BaseModel):
    name: str
    role: Role
    csrf: str | None = Field(description="the session's CSRF token; null with an API token")


class LiveCall(BaseModel):
    call_id: str
    caller_number: str
    language: str
    started_at: str
    node: str
    frustration: float


class LiveCalls(BaseModel):
    calls: list[LiveCall]


def _hide_missing_original(turn: TurnRecord, dump: Any) -> dict[str, Any]:
    """The unredacted text goes only to admins, and only when it was kept: otherwise the key is absent."""
    out: dict[str, Any] = dump(turn)
    if out.get("text_original") is None:
        out.pop("text_original", None)
    return out


Turn = Annotated[TurnRecord, WrapSerializer(_hide_missing_original)]


class Turns(BaseModel):
    turns: list[Turn]


class CallTranscript(Turns):
    call: dict[str, str]
    handoff: dict[str, Any] | None = Field(description="the handoff package, when the call was handed over")


class CsatStored(BaseModel):
    call_id: str
    csat: int


class FlowList(BaseModel):
    flows: list[FlowSummary]


class FlowVersionInfo(BaseModel):
    """A flow version without its YAML (GET .../versions/{version} has it)."""

    flow_id: str
    lang: str
    version: int
    author: str
    created_at: float
    note: str = ""


class FlowVersions(BaseModel):
    versions: list[FlowVersionInfo]
    live: int | None


class FlowLive(BaseModel):
    flow_id: str
    lang: str
    live: int


class Users(BaseModel):
    users: list[User]


class Deleted(BaseModel):
    deleted: str


class Revoked(BaseModel):
    revoked: str


class PasswordChanged(BaseModel):
    changed: bool
    csrf: str = Field(description="this browser's new CSRF token (its session cookie is new too)")


class Tokens(BaseModel):
    tokens: list[ApiToken]


class IssuedToken(BaseModel):
    token: str = Field(description="the secret, shown this once: send it as `Authorization: Bearer <token>`")
    id: str
    user: str
    scope: str
    created_at: float
    expires_at: float
    label: str = ""


class AuditEntries(BaseModel):
    entries: list[AuditEntry]


HandoffPackage = dict[str, Any]  # written by voicebot/escalation/handoff.py; read here as it is
