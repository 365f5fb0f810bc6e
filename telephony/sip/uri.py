"""SIP URIs and name-addr values (`"Alice" <sip:alice@host:5060;transport=udp>;tag=x`) as dataclasses."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# A quoted display name may hold quoted-pairs (\" and \\), RFC 3261 section 25.1.
_NAME_ADDR = re.compile(r'^\s*(?:"(?P<q>(?:[^"\\]|\\.)*)"|(?P<t>[^<"]*?))\s*<(?P<uri>[^>]*)>(?P<params>.*)$', re.S)


@dataclass
class SipUri:
    host: str
    user: str = ""
    port: int | None = None
    scheme: str = "sip"
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"{self.scheme}:{user}{host}{port}{params}"

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port or 5060


def parse_uri(text: str) -> SipUri:
    text = text.strip()
    scheme, colon, rest = text.partition(":")
    if not colon or scheme.lower() not in ("sip", "sips", "tel"):
        raise ValueError(f"not a SIP URI: {text[:80]!r}")
    rest = rest.split("?", 1)[0]  # URI headers are not used here
    main, *param_parts = rest.split(";")
    user, at, hostport = main.rpartition("@")
    if not at:
        user, hostport = "", main
    if hostport.startswith("["):
        host, _, port_text = hostport[1:].partition("]")
        port_text = port_text.lstrip(":")
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise ValueError(f"SIP URI without host: {text[:80]!r}")
    if port_text and not (port_text.isdigit() and 0 < int(port_text) < 65536):
        raise ValueError(f"bad port in SIP URI: {text[:80]!r}")
    params = {}
    for p in param_parts:
        k, _, v = p.partition("=")
        if k:
            params[k.lower()] = v
    return SipUri(host=host, user=user, port=int(port_text) if port_text else None,
                  scheme=scheme.lower(), params=params)


@dataclass
class NameAddr:
    uri: SipUri
    display: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
        disp = f'"{escaped}" ' if self.display else ""
        params = "".join(f";{k}={v}" if v else f";{k}" for k, v in self.params.items())
        return f"{disp}<{self.uri}>{params}"


def parse_name_addr(text: str) -> NameAddr:
    m = _NAME_ADDR.match(text)
    if m:
        quoted = m.group("q")
        display = re.sub(r"\\(.)", r"\1", quoted, flags=re.S) if quoted is not None else (m.group("t") or "").strip()
        uri_text, param_text = m.group("uri"), m.group("params")
    else:  # addr-spec without <>: parameters belong to the header, not the URI
        uri_text, _, param_text = text.strip().partition(";")
        param_text = ";" + param_text if param_text else ""
        display = ""
    params = {}
    for p in param_text.split(";")[1:]:
        k, _, v = p.partition("=")
        if k.strip():
            params[k.strip().lower()] = v.strip()
    return NameAddr(uri=parse_uri(uri_text), display=display, params=params)
