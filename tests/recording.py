"""Records what crossed an emulator's wire (requests and the answers the client got, faults included)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Exchange:
    method: str
    path: str
    headers: dict
    body: bytes
    status: int = 0
    response_headers: dict = field(default_factory=dict)
    response_body: bytes = b""

    @property
    def url(self) -> str:
        return self.path


class Recorder:
    """ASGI wrapper that keeps every request and the answer the client actually got (faults included)."""

    def __init__(self, app):
        self.app = app
        self.exchanges: list[Exchange] = []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        ex = Exchange(scope["method"], scope["path"], {k.decode(): v.decode() for k, v in scope["headers"]}, b"")

        async def recv():
            message = await receive()
            if message["type"] == "http.request":
                ex.body += message.get("body", b"")
            return message

        async def snd(message):
            if message["type"] == "http.response.start":
                ex.status = message["status"]
                ex.response_headers = {k.decode(): v.decode() for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                ex.response_body += message.get("body", b"")
            await send(message)

        self.exchanges.append(ex)
        await self.app(scope, recv, snd)
