"""A local stand-in for Discord's gateway websocket, for tests that run the real `python -m bot`.

It speaks the part of the protocol a bot's start needs (HELLO, IDENTIFY, READY and
GUILD_CREATE dispatches, heartbeats) and refuses what Discord refuses at IDENTIFY, with
Discord's close codes: a wrong token (4004), an invalid intents value (4013) and a
privileged intent the application has not been allowed in the developer portal (4014).
Frames go out as plain JSON text, which discord.py reads even when it asked for compression.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

__all__ = ["FakeGateway", "PRIVILEGED_INTENTS", "INTENT_GUILD_MEMBERS", "INTENT_GUILD_PRESENCES",
           "INTENT_MESSAGE_CONTENT"]

# Gateway opcodes and close codes (discord.com/developers/docs/topics/opcodes-and-status-codes).
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY, OP_RESUME = 0, 1, 2, 6
OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 9, 10, 11
CLOSE_AUTHENTICATION_FAILED = 4004
CLOSE_INVALID_INTENTS = 4013
CLOSE_DISALLOWED_INTENTS = 4014

INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
ALL_INTENTS = (1 << 26) - 1  # every intent bit Discord defines today (0..25)

HEARTBEAT_INTERVAL_MS = 41_250


@dataclass
class Session:
    """One websocket connection as the fake saw it."""

    identify: dict[str, Any] | None = None
    close_code: int | None = None
    heartbeats: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list)


class FakeGateway:
    """``async with FakeGateway(token=..., ready=..., guilds=[...]) as gateway``; connect to ``gateway.url``.

    ``allowed_intents`` is what the developer portal allows: privileged bits not in it are
    refused with 4014. ``ready`` and ``guilds`` are the READY and GUILD_CREATE payloads
    (``tests.harness.payloads.ready`` / ``guild_create``), or callables making them.
    """

    def __init__(
        self,
        *,
        token: str,
        ready: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
        guilds: Sequence[Mapping[str, Any]] = (),
        allowed_intents: int = 0,
    ) -> None:
        self.token = token
        self.allowed_intents = allowed_intents
        self._ready = ready
        self._guilds = list(guilds)
        self.sessions: list[Session] = []
        self._identified = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    async def __aenter__(self) -> FakeGateway:
        app = web.Application()
        app.router.add_get("/", self._connection)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        assert site._server is not None and site._server.sockets
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def refusal_for(self, identify: Mapping[str, Any]) -> tuple[int, str] | None:
        """The close code and reason Discord answers this IDENTIFY with, or None if accepted."""
        if identify.get("token") != self.token:
            return CLOSE_AUTHENTICATION_FAILED, "Authentication failed."
        intents = identify.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents & ~ALL_INTENTS:
            return CLOSE_INVALID_INTENTS, "Invalid intent(s)."
        if intents & PRIVILEGED_INTENTS & ~self.allowed_intents:
            return CLOSE_DISALLOWED_INTENTS, "Disallowed intent(s)."
        return None

    async def _connection(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse(autoping=True)
        await socket.prepare(request)
        session = Session()
        self.sessions.append(session)
        sequence = 0

        async def send(op: int, data: Any, event: str | None = None) -> None:
            nonlocal sequence
            frame: dict[str, Any] = {"op": op, "d": data, "s": None, "t": event}
            if op == OP_DISPATCH:
                sequence += 1
                frame["s"] = sequence
            session.sent.append(frame)
            await socket.send_str(json.dumps(frame))

        await send(OP_HELLO, {"heartbeat_interval": HEARTBEAT_INTERVAL_MS})
        async for message in socket:
            if message.type is not WSMsgType.TEXT:
                continue
            frame = json.loads(message.data)
            op = frame.get("op")
            if op == OP_HEARTBEAT:
                session.heartbeats += 1
                await send(OP_HEARTBEAT_ACK, None)
            elif op == OP_IDENTIFY:
                session.identify = {k: v for k, v in (frame.get("d") or {}).items() if k != "token"}
                self._identified.set()
                refusal = self.refusal_for(frame.get("d") or {})
                if refusal is not None:
                    session.close_code = refusal[0]
                    await socket.close(code=refusal[0], message=refusal[1].encode())
                    break
                ready = self._ready() if callable(self._ready) else self._ready
                await send(OP_DISPATCH, dict(ready), "READY")
                for guild in self._guilds:
                    await send(OP_DISPATCH, dict(guild), "GUILD_CREATE")
            elif op == OP_RESUME:
                await send(OP_INVALID_SESSION, False)
        return socket

    async def wait_identified(self, timeout: float = 10.0) -> Session:
        """The first session that sent IDENTIFY (whether it was accepted or refused)."""
        await asyncio.wait_for(self._identified.wait(), timeout)
        return next(session for session in self.sessions if session.identify is not None)
