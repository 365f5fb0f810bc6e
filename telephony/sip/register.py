"""REGISTER with a registrar (a PBX), answering its digest challenge, refreshed before it expires.

Optional: only when settings.sip.register_uri is set. A registrar that is down is retried; the line
keeps answering direct calls meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from telephony.sip.dialog import new_branch, new_tag
from telephony.sip.digest import authorization
from telephony.sip.message import SipMessage, header_params
from telephony.sip.uri import parse_uri

if TYPE_CHECKING:
    from telephony.sip.ua import SipUserAgent

log = logging.getLogger(__name__)
RETRY_S = 30.0


class Registration:
    def __init__(self, ua: SipUserAgent) -> None:
        self.ua = ua
        self.registered = asyncio.Event()
        self.last_status = 0
        self._task: asyncio.Task | None = None
        self._call_id = f"{new_tag()}{new_tag()}@{ua.address}"
        self._cseq = 0
        self._tag = new_tag()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="sip-register")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.registered.is_set():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.register_once(expires=0), 3)

    async def _loop(self) -> None:
        while True:
            try:
                expires = await self.register_once(self.ua.settings.register_expires_secs)
            except Exception:
                log.exception("sip: REGISTER failed")
                expires = 0
            await asyncio.sleep(max(expires / 2, 30) if expires else RETRY_S)

    async def register_once(self, expires: int) -> int:
        """One REGISTER (answering one challenge); returns the granted expiry, 0 on failure."""
        s = self.ua.settings
        registrar = parse_uri(s.register_uri)
        auth: tuple[str, str] | None = None
        for _ in range(2):
            host = registrar.host + (f":{registrar.port}" if registrar.port else "")
            msg = self._request(registrar_uri=f"sip:{host}",
                                aor=f"sip:{s.username or 'voicebot'}@{registrar.host}", expires=expires, auth=auth)
            resp = await self.ua.request(msg, registrar.address, "udp", timeout=10)
            self.last_status = resp.status
            if resp.status in (401, 407) and auth is None and s.username:
                challenge = resp.get("WWW-Authenticate" if resp.status == 401 else "Proxy-Authenticate")
                name = "Authorization" if resp.status == 401 else "Proxy-Authorization"
                auth = (name, authorization(challenge, username=s.username, password=s.password,
                                            method="REGISTER", uri=msg.uri))
                continue
            if 200 <= resp.status < 300:
                granted = _granted_expiry(resp, expires)
                if expires:
                    self.registered.set()
                else:
                    self.registered.clear()
                log.info("sip: registered with %s for %ss", s.register_uri, granted)
                return granted
            log.warning("sip: REGISTER to %s answered %s %s", s.register_uri, resp.status, resp.reason)
            return 0
        return 0

    def _request(self, registrar_uri: str, aor: str, expires: int, auth: tuple[str, str] | None) -> SipMessage:
        self._cseq += 1
        return SipMessage(method="REGISTER", uri=registrar_uri, headers=(
            ("Via", f"SIP/2.0/UDP {self.ua.address}:{self.ua.port};branch={new_branch()};rport"),
            ("Max-Forwards", "70"),
            ("From", f"<{aor}>;tag={self._tag}"),
            ("To", f"<{aor}>"),
            ("Call-ID", self._call_id),
            ("CSeq", f"{self._cseq} REGISTER"),
            ("Contact", self.ua.contact()),
            ("Expires", str(expires)),
            *([auth] if auth else []),
        ))


def _granted_expiry(resp: SipMessage, asked: int) -> int:
    for contact in resp.get_all("Contact"):
        value = header_params(contact).get("expires", "")
        if value.isdigit():
            return int(value)
    value = resp.get("Expires")
    return int(value) if value.isdigit() else asked
