"""SIP over UDP and TCP: the only part of the user agent that touches sockets.

Incoming bytes go to one handler with the peer address and the transport name; TCP streams are
framed by Content-Length. Replies to a TCP peer go back over its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

Handler = Callable[[bytes, tuple[str, int], str], None]
Address = tuple[str, int]


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler) -> None:
        self.handler = handler

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if data.strip(b"\r\n"):  # bare CRLF = keep-alive ping (RFC 5626)
            self.handler(data, addr[:2], "udp")

    def error_received(self, exc: Exception) -> None:
        log.debug("sip udp: %s", exc)


class SipTransport:
    def __init__(self, handler: Handler, max_bytes: int, on_oversize: Handler | None = None) -> None:
        self.handler = handler
        self.max_bytes = max_bytes
        self.on_oversize = on_oversize  # gets the headers of a TCP message too large to read
        self.udp: asyncio.DatagramTransport | None = None
        self.tcp: asyncio.Server | None = None
        self.port = 0
        self._streams: dict[Address, asyncio.StreamWriter] = {}

    async def open(self, host: str, port: int, *, udp: bool, tcp: bool) -> int:
        """Bind (port 0 = ephemeral; TCP then takes the same number as UDP) and return the port."""
        loop = asyncio.get_running_loop()
        if udp:
            self.udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(self.handler), local_addr=(host, port))
            port = self.udp.get_extra_info("sockname")[1]
        if tcp:
            self.tcp = await asyncio.start_server(self._serve_stream, host, port)
            port = self.tcp.sockets[0].getsockname()[1]
        self.port = port
        return port

    def send(self, data: bytes, addr: Address, transport: str = "udp") -> None:
        if transport == "tcp":
            writer = self._streams.get(addr)
            if writer is None or writer.is_closing():
                asyncio.get_running_loop().create_task(self._connect_and_send(data, addr))
                return
            writer.write(data)
        elif self.udp is not None and not self.udp.is_closing():
            self.udp.sendto(data, addr)

    async def _connect_and_send(self, data: bytes, addr: Address) -> None:
        try:
            reader, writer = await asyncio.open_connection(*addr)
        except OSError as exc:
            log.warning("sip tcp: cannot reach %s:%s: %s", *addr, exc)
            return
        self._streams[addr] = writer
        writer.write(data)
        await self._read_stream(reader, writer, addr)

    async def _serve_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        addr = writer.get_extra_info("peername")[:2]
        self._streams[addr] = writer
        await self._read_stream(reader, writer, addr)

    async def _read_stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: Address) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() in (b"content-length", b"l"):
                        length = int(value.strip() or b"0") if value.strip().isdigit() else -1
                # Past here the stream cannot be framed any more: answer from the headers, then close.
                if len(head) > self.max_bytes or (length >= 0 and len(head) + length > self.max_bytes):
                    if self.on_oversize:
                        self.on_oversize(head, addr, "tcp")
                    break
                if length < 0:
                    self.handler(head, addr, "tcp")  # bad Content-Length: the parser names it in a 400
                    break
                body = await reader.readexactly(length) if length else b""
                self.handler(head + body, addr, "tcp")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass
        finally:
            if self._streams.get(addr) is writer:
                del self._streams[addr]
            writer.close()

    async def close(self) -> None:
        if self.udp:
            self.udp.close()
        if self.tcp:
            self.tcp.close()
        for w in list(self._streams.values()):
            w.close()
        if self.tcp:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.tcp.wait_closed(), 1)
