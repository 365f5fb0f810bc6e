"""HTTP digest authentication for SIP (RFC 2617/8760, MD5 and SHA-256): answering a challenge
(REGISTER to a PBX) and checking one (callers that are not in allowed_peers). Pure functions.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass

_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def parse_auth_header(value: str) -> dict[str, str]:
    """`Digest realm="x", nonce="y", ...` -> {"realm": "x", "nonce": "y", ...}; ValueError if not Digest."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise ValueError(f"unsupported auth scheme {scheme!r}")
    return {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3) for m in _PARAM.finditer(rest)}


def _h(algorithm: str, text: str) -> str:
    fn = _HASHES.get(algorithm.upper().removesuffix("-SESS"))
    if fn is None:
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    return fn(text.encode()).hexdigest()


def digest_response(*, username: str, password: str, realm: str, nonce: str, method: str, uri: str,
                    algorithm: str = "MD5", qop: str = "", nc: str = "00000001", cnonce: str = "") -> str:
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


def authorization(challenge: str, *, username: str, password: str, method: str, uri: str) -> str:
    """The Authorization header value answering a WWW-/Proxy-Authenticate challenge."""
    ch = parse_auth_header(challenge)
    if "nonce" not in ch or "realm" not in ch:
        raise ValueError("digest challenge without realm/nonce")
    algorithm = ch.get("algorithm", "MD5")
    qop = "auth" if "auth" in [q.strip() for q in ch.get("qop", "").split(",")] else ""
    cnonce = secrets.token_hex(8) if qop else ""
    resp = digest_response(username=username, password=password, realm=ch["realm"], nonce=ch["nonce"],
                           method=method, uri=uri, algorithm=algorithm, qop=qop, cnonce=cnonce)
    parts = [f'username="{username}"', f'realm="{ch["realm"]}"', f'nonce="{ch["nonce"]}"', f'uri="{uri}"',
             f'response="{resp}"', f"algorithm={algorithm}"]
    if "opaque" in ch:
        parts.append(f'opaque="{ch["opaque"]}"')
    if qop:
        parts += [f"qop={qop}", "nc=00000001", f'cnonce="{cnonce}"']
    return "Digest " + ", ".join(parts)


@dataclass
class DigestChecker:
    """Issues and verifies challenges; nonces are HMACs of a timestamp, so nothing is stored per caller."""

    realm: str
    username: str
    password: str
    secret: bytes = b""
    nonce_ttl_s: int = 300

    def __post_init__(self) -> None:
        if not self.secret:
            self.secret = secrets.token_bytes(16)

    def _nonce_for(self, ts: int) -> str:
        return f"{ts:x}." + hmac.new(self.secret, str(ts).encode(), hashlib.sha256).hexdigest()[:24]

    def challenge(self) -> str:
        return f'Digest realm="{self.realm}", nonce="{self._nonce_for(int(time.time()))}", algorithm=MD5, qop="auth"'

    def check(self, header: str, method: str) -> bool:
        try:
            p = parse_auth_header(header)
            ts = int(p.get("nonce", "").split(".")[0], 16)
        except ValueError:
            return False
        if p.get("nonce") != self._nonce_for(ts) or time.time() - ts > self.nonce_ttl_s:
            return False
        if p.get("username") != self.username or p.get("realm") != self.realm:
            return False
        try:
            want = digest_response(username=self.username, password=self.password, realm=self.realm,
                                   nonce=p["nonce"], method=method, uri=p.get("uri", ""),
                                   algorithm=p.get("algorithm", "MD5"), qop=p.get("qop", ""),
                                   nc=p.get("nc", ""), cnonce=p.get("cnonce", ""))
        except ValueError:
            return False
        return hmac.compare_digest(want, p.get("response", ""))
