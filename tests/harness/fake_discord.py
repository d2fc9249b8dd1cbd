"""A local, stateful fake of Discord's REST API v10 for offline bot tests.

discord.py builds every REST, webhook and interaction-callback URL from
``discord.http.Route.BASE``; pointing that at :attr:`FakeDiscord.base_url` sends the
bot's real HTTP traffic here. The fake keeps just enough state (channels, messages,
interactions, synced commands) to answer the way Discord does, records every request
so tests can assert on exact bodies, and can inject failures (429/5xx, vanished
channels and messages) to exercise the bot's error paths.

It also refuses what Discord refuses, with Discord's status and JSON body: over-long
content and embeds, bad components, modals and autocomplete choices, invalid command
syncs, empty messages, oversized uploads (:mod:`.discord_limits`), a second answer to an
interaction (40060), an answer after :attr:`FakeDiscord.ack_window` (10062) and webhook
traffic after :attr:`FakeDiscord.token_lifetime` (50027). Every 4xx a handler answers is
kept in :attr:`FakeDiscord.refusals`; ``DiscordHarness`` fails the test on one it was not
told to expect.

Tests never sleep: :meth:`FakeDiscord.wait_for` and the ``wait_*`` helpers block on an
``asyncio.Condition`` that is notified after each request has been answered *and*
applied to the state.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from . import discord_limits as limits
from .payloads import ATTACHMENT_SIZE_LIMIT, dm_channel, ids, iso_timestamp, user as user_payload

__all__ = ["FakeDiscord", "Fault", "RecordedFile", "RecordedRequest"]

API_PREFIX = "/api/v10"
DEFAULT_WAIT_TIMEOUT = 5.0
# Discord checks an enforced nonce for uniqueness "in the past few minutes".
NONCE_WINDOW_SECONDS = 300.0

# Interaction callback types (Discord's InteractionResponseType).
CALLBACK_PONG = 1
CALLBACK_CHANNEL_MESSAGE = 4
CALLBACK_DEFERRED_CHANNEL_MESSAGE = 5
CALLBACK_DEFERRED_UPDATE_MESSAGE = 6
CALLBACK_UPDATE_MESSAGE = 7
CALLBACK_AUTOCOMPLETE_RESULT = 8
CALLBACK_MODAL = 9

FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7

# Discord JSON error codes the bot may branch on.
UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_WEBHOOK = 10015
ALREADY_ACKNOWLEDGED = limits.ALREADY_ACKNOWLEDGED
CANNOT_DM_USER = 50007
UNKNOWN_INTERACTION = limits.UNKNOWN_INTERACTION
INVALID_WEBHOOK_TOKEN = limits.INVALID_WEBHOOK_TOKEN

_TRUE_STRINGS = {"1", "true", "True"}
# Routes Discord authenticates by the token in the URL, not the bot's Authorization header.
_URL_TOKEN_ROUTES = frozenset({"callback", "followup", "webhook_message"})


@dataclass(frozen=True)
class RecordedFile:
    """One uploaded file part (``files[n]``) of a multipart request."""

    field_name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class RecordedRequest:
    """One request as the fake saw and answered it.

    ``json`` is the decoded JSON body, or the decoded ``payload_json`` part of a
    multipart body, so assertions read the same either way. ``message_id`` is the
    message the request created, edited, fetched or deleted (resolved by the fake,
    e.g. the original response of an interaction), which is how a test learns the
    id of a message the bot sent without parsing the response.
    """

    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    at: float
    route: str = "unknown"
    params: dict[str, str] = field(default_factory=dict)
    status: int = 0
    response: Any = None
    message_id: int | None = None
    channel_id: int | None = None
    fault: bool = False
    # The request's headers as received (Authorization included), for tests that audit them.
    headers: dict[str, str] = field(default_factory=dict)
    # True when an enforced nonce matched an earlier message, which was returned instead.
    deduplicated: bool = False

    @property
    def ok(self) -> bool:
        """Whether the fake answered with a 2xx status."""
        return 200 <= self.status < 300

    @property
    def error_code(self) -> int | None:
        """Discord's JSON error code of a refused request (``{"code": ...}``), else None."""
        if self.ok or not isinstance(self.response, Mapping):
            return None
        code = self.response.get("code")
        return int(code) if isinstance(code, int) else None


@dataclass
class Fault:
    """A failure to answer instead of the real handler, for the next ``times`` matches."""

    method: str
    path_pattern: re.Pattern[str]
    status: int
    times: int
    retry_after: float = 0.05
    is_global: bool = False
    body: Any = None
    # The request is carried out first and only its answer is the failure (a lost response).
    applied: bool = False

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method in (method, "*") and self.path_pattern.fullmatch(path) is not None


@dataclass
class _Answer:
    """What a route handler decided; turned into a ``web.Response`` in one place."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    message_id: int | None = None
    channel_id: int | None = None
    deduplicated: bool = False


@dataclass
class _Incoming:
    method: str
    path: str
    query: dict[str, str]
    json: Any
    files: list[RecordedFile]
    params: dict[str, str]


@dataclass
class _InteractionInfo:
    """What the fake must know about an interaction to route its webhook traffic."""

    interaction_id: int
    token: str
    type: int
    channel_id: int | None
    guild_id: int | None
    user: dict[str, Any] | None
    message_id: int | None  # the message a component interaction was on
    command_type: int | None
    acknowledged: bool = False
    original_message_id: int | None = None
    # When the interaction was created (monotonic): starts the 3 s and 15 min clocks.
    created_at: float = field(default_factory=time.monotonic)


_Handler = Callable[[_Incoming], Awaitable[_Answer]]


def _error(status: int, code: int, message: str) -> _Answer:
    return _Answer(status=status, body={"message": message, "code": code})


def _refused(refusal: limits.Refusal) -> _Answer:
    return _Answer(status=refusal.status, body=refusal.body)


def _sizes(files: Iterable[RecordedFile]) -> list[int]:
    return [len(f.data) for f in files]


def _numbered(components: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Copy components, giving each one without an ``id`` the next number, as Discord does."""
    counter = 0

    def walk(component: Mapping[str, Any], taken: set[int]) -> dict[str, Any]:
        nonlocal counter
        copy = dict(component)
        if "components" in copy:
            copy["components"] = [walk(c, taken) for c in copy["components"]]
        for key in ("component", "accessory"):
            if isinstance(copy.get(key), Mapping):
                copy[key] = walk(copy[key], taken)
        if "id" not in copy:
            counter += 1
            while counter in taken:
                counter += 1
            copy["id"] = counter
        return copy

    original = list(components)
    taken: set[int] = set()

    def collect(items: Iterable[Mapping[str, Any]]) -> None:
        for item in items:
            if isinstance(item.get("id"), int):
                taken.add(item["id"])
            collect(item.get("components", []))
            for key in ("component", "accessory"):
                if isinstance(item.get(key), Mapping):
                    collect([item[key]])

    collect(original)
    return [walk(c, taken) for c in original]


def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> web.Response:
    """Answer with the exact Content-Type discord.py compares against.

    ``web.json_response`` appends ``; charset=utf-8`` and discord.py's ``json_or_text``
    then returns the body as a string (pitfall 1), so the header is set by hand.
    """
    all_headers = dict(headers or {})
    if body is None:
        return web.Response(status=204 if status == 200 else status, headers=all_headers)
    all_headers["Content-Type"] = "application/json"
    return web.Response(status=status, body=json.dumps(body).encode(), headers=all_headers)


class FakeDiscord:
    """An aiohttp server on 127.0.0.1 that answers like Discord's REST API v10.

    Use as ``async with FakeDiscord(...) as fake`` or ``await fake.start()`` /
    ``await fake.stop()``. Point discord.py at it with
    ``discord.http.Route.BASE = fake.base_url`` (``DiscordHarness`` does this).
    """

    def __init__(
        self,
        *,
        bot_user: dict[str, Any] | None = None,
        application_id: int | None = None,
        owner: dict[str, Any] | None = None,
    ) -> None:
        self.bot_user: dict[str, Any] = bot_user or user_payload(username="dreambot-test", bot=True)
        self.application_id: int = application_id or int(self.bot_user["id"])
        self.owner: dict[str, Any] = owner or user_payload(username="owner")
        self.requests: list[RecordedRequest] = []
        self.unhandled: list[RecordedRequest] = []
        self.channels: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, dict[int, dict[str, Any]]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.closed_dms: set[int] = set()
        # When set, REST calls without ``Authorization: Bot <token>`` get Discord's 401
        # (how a reset token looks to the bot); None accepts any token.
        self.token: str | None = None
        # Discord's clocks and upload limit, as attributes so a test can shrink them
        # (e.g. ``fake.ack_window = 0`` shows what the bot does when it answers too late).
        self.ack_window: float = limits.ACK_WINDOW_SECONDS
        self.token_lifetime: float = limits.TOKEN_LIFETIME_SECONDS
        self.attachment_size_limit: int = ATTACHMENT_SIZE_LIMIT
        # 4xx answers the fake's own handlers gave (not injected faults, not unknown routes).
        self.refusals: list[RecordedRequest] = []
        # Users the fake has heard of (harness members, interaction users), so a DM
        # channel's recipient is the real user object rather than a stand-in.
        self.users: dict[int, dict[str, Any]] = {int(self.bot_user["id"]): self.bot_user}
        self._faults: list[Fault] = []
        self._interactions: dict[str, _InteractionInfo] = {}
        self._message_channel: dict[int, int] = {}
        self._dm_by_user: dict[int, int] = {}
        self._blobs: dict[int, tuple[bytes, str]] = {}
        self._command_ids: dict[tuple[int | None, str, int], int] = {}
        # (author id, nonce) -> (message id, monotonic time): Discord's enforce_nonce de-duplication.
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}
        self._condition = asyncio.Condition()
        # Set by DiscordHarness: returns a report once the bot has failed, so a test
        # waiting for a request that will now never come fails at once, not after 5 s.
        self.fail_fast: Callable[[], str | None] | None = None
        self._runner: web.AppRunner | None = None
        self.port: int = 0
        self._routes: list[tuple[frozenset[str], re.Pattern[str], str, _Handler]] = [
            (frozenset({"GET"}), re.compile(r"/users/@me"), "me", self._get_me),
            (frozenset({"GET"}), re.compile(r"/oauth2/applications/@me"), "application", self._get_application),
            (frozenset({"GET"}), re.compile(r"/gateway(?:/bot)?"), "gateway", self._get_gateway),
            (frozenset({"POST"}), re.compile(r"/users/@me/channels"), "create_dm", self._create_dm),
            (
                frozenset({"POST"}),
                re.compile(r"/interactions/(?P<interaction_id>\d+)/(?P<token>[^/]+)/callback"),
                "callback",
                self._interaction_callback,
            ),
            (
                frozenset({"POST"}),
                re.compile(r"/webhooks/(?P<application_id>\d+)/(?P<token>[^/]+)"),
                "followup",
                self._webhook_execute,
            ),
            (
                frozenset({"GET", "PATCH", "DELETE"}),
                re.compile(r"/webhooks/(?P<application_id>\d+)/(?P<token>[^/]+)/messages/(?P<message_id>@original|\d+)"),
                "webhook_message",
                self._webhook_message,
            ),
            (frozenset({"GET"}), re.compile(r"/channels/(?P<channel_id>\d+)"), "get_channel", self._get_channel),
            (frozenset({"POST"}), re.compile(r"/channels/(?P<channel_id>\d+)/typing"), "typing", self._typing),
            (
                frozenset({"POST"}),
                re.compile(r"/channels/(?P<channel_id>\d+)/messages"),
                "create_message",
                self._create_message,
            ),
            (
                frozenset({"GET"}),
                re.compile(r"/channels/(?P<channel_id>\d+)/messages"),
                "history",
                self._history,
            ),
            (
                frozenset({"GET", "PATCH", "DELETE"}),
                re.compile(r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)"),
                "channel_message",
                self._channel_message,
            ),
            (
                frozenset({"PUT", "DELETE"}),
                re.compile(r"/channels/(?P<channel_id>\d+)/messages/(?P<message_id>\d+)/reactions/(?P<emoji>[^/]+)/@me"),
                "reaction",
                self._reaction,
            ),
            (
                frozenset({"GET", "PUT"}),
                re.compile(r"/applications/(?P<application_id>\d+)(?:/guilds/(?P<guild_id>\d+))?/commands"),
                "commands",
                self._commands,
            ),
        ]

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Bind to a free port on 127.0.0.1 (port 0, so parallel runs never collide)."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None and server.sockets, "aiohttp did not bind a socket"
        self.port = server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """The value for ``discord.http.Route.BASE``."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ state set-up

    def add_channel(self, channel: Mapping[str, Any]) -> dict[str, Any]:
        """Make a channel exist (a text channel from ``payloads.text_channel``, or a DM)."""
        stored = dict(channel)
        channel_id = int(stored["id"])
        self.channels[channel_id] = stored
        self.messages.setdefault(channel_id, {})
        return stored

    def delete_channel(self, channel_id: int) -> None:
        """Simulate a channel that is gone: later requests to it get 404 code 10003."""
        self.channels.pop(int(channel_id), None)
        for message_id in self.messages.pop(int(channel_id), {}):
            self._message_channel.pop(message_id, None)

    def delete_message(self, channel_id: int, message_id: int) -> None:
        """Simulate a message deleted by someone else: later requests get 404 code 10008."""
        self.messages.get(int(channel_id), {}).pop(int(message_id), None)
        self._message_channel.pop(int(message_id), None)

    def close_dms(self, user_id: int) -> None:
        """Make DMs to this user fail like Discord does (403, code 50007)."""
        self.closed_dms.add(int(user_id))

    def add_blob(self, data: bytes, filename: str, content_type: str = "application/octet-stream") -> str:
        """Serve ``data`` from the fake and return its URL (an attachment's ``url``).

        Bots download attachments with aiohttp or ``Attachment.read()``; there is no
        CDN offline, so the fake plays it.
        """
        blob_id = ids.next()
        self._blobs[blob_id] = (data, content_type)
        return f"{self.origin}/attachments/{blob_id}/{filename}"

    def register_interaction(self, payload: Mapping[str, Any]) -> None:
        """Remember an INTERACTION_CREATE payload so its token routes to its channel.

        The harness calls this before handing the payload to the bot; without it the
        fake would not know which channel a followup or original response belongs to.
        """
        channel = payload.get("channel") or {}
        channel_id = channel.get("id") or payload.get("channel_id")
        message = payload.get("message")
        data = payload.get("data") or {}
        user = payload.get("user") or (payload.get("member") or {}).get("user")
        if user:
            self.users[int(user["id"])] = dict(user)
        if channel and channel_id is not None and int(channel_id) not in self.channels and channel.get("type") == 1:
            self.add_channel(channel)
            if user:
                self._dm_by_user.setdefault(int(user["id"]), int(channel_id))
        info = _InteractionInfo(
            interaction_id=int(payload["id"]),
            token=str(payload["token"]),
            type=int(payload["type"]),
            channel_id=int(channel_id) if channel_id is not None else None,
            guild_id=int(payload["guild_id"]) if payload.get("guild_id") else None,
            user=user,
            message_id=int(message["id"]) if message else None,
            command_type=data.get("type") if int(payload["type"]) in (2, 4) else None,
        )
        self._interactions[info.token] = info

    def store_incoming_message(self, message: Mapping[str, Any]) -> None:
        """Store a message a *user* sent (from a MESSAGE_CREATE payload) in its channel."""
        stored = dict(message)
        channel_id = int(stored["channel_id"])
        self.messages.setdefault(channel_id, {})[int(stored["id"])] = stored
        self._message_channel[int(stored["id"])] = channel_id

    def inject_fault(
        self,
        method: str,
        path_regex: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: float = 0.05,
        is_global: bool = False,
        body: Any = None,
        applied: bool = False,
    ) -> Fault:
        """Answer the next ``times`` requests matching ``method`` and ``path_regex`` with ``status``.

        ``path_regex`` is matched in full against the path after ``/api/v10``, e.g.
        ``r"/channels/\\d+/messages"``; ``method`` may be ``"*"``. A 429 carries the
        body and headers discord.py reads (including ``Via``, without which discord.py
        treats a 429 as a Cloudflare ban and raises instead of retrying). With
        ``applied=True`` the request is carried out first and only the answer fails, as
        when Discord makes a message but the response is lost (a 5xx after the fact). Note that
        discord.py sleeps ``1 + 2*try`` seconds before retrying 500/502/504 on REST
        routes, and does not retry 503 there at all.
        """
        fault = Fault(
            method=method.upper(),
            path_pattern=re.compile(path_regex),
            status=status,
            times=times,
            retry_after=retry_after,
            is_global=is_global,
            body=body,
            applied=applied,
        )
        self._faults.append(fault)
        return fault

    # ------------------------------------------------------------------ queries

    def take_refusals(self) -> list[RecordedRequest]:
        """Return and forget the 4xx answers so far (for a test that provoked them on purpose)."""
        taken, self.refusals = self.refusals, []
        return taken

    def mark(self) -> int:
        """The current number of recorded requests, for ``wait_for(..., since=mark)``."""
        return len(self.requests)

    async def wait_for(
        self,
        predicate: Callable[[RecordedRequest], bool],
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        since: int = 0,
    ) -> RecordedRequest:
        """Return the first recorded request (from index ``since``) matching ``predicate``.

        Looks at requests already recorded, then waits for new ones. Raises
        ``AssertionError`` listing what *was* recorded if nothing matches in time,
        which is usually enough to see what the bot did instead.
        """

        def find() -> RecordedRequest | None:
            for request in self.requests[since:]:
                if predicate(request):
                    return request
            return None

        return await self._wait(find, timeout, "request")

    async def wait_state(self, probe: Callable[[], Any], *, timeout: float = DEFAULT_WAIT_TIMEOUT) -> Any:
        """Wait until ``probe()`` returns something truthy (re-checked after each request)."""
        return await self._wait(probe, timeout, "state")

    async def poke(self) -> None:
        """Re-run the predicates of everyone waiting (used when the harness collects an error)."""
        async with self._condition:
            self._condition.notify_all()

    async def _wait(self, probe: Callable[[], Any], timeout: float, what: str) -> Any:
        def check() -> Any:
            found = probe()
            if found:
                return found
            report = self.fail_fast() if self.fail_fast is not None else None
            if report:
                raise AssertionError(f"gave up waiting for a {what}: {report}")
            return None

        async with self._condition:
            try:
                return await asyncio.wait_for(self._condition.wait_for(check), timeout)
            except asyncio.TimeoutError:
                raise AssertionError(
                    f"no matching {what} within {timeout}s; recorded requests:\n{self.describe()}"
                ) from None

    def describe(self) -> str:
        """A one-line-per-request summary, for assertion messages."""
        lines = [f"  {r.method} {r.path} -> {r.status} {json.dumps(r.json)[:200] if r.json is not None else ''}" for r in self.requests]
        return "\n".join(lines) or "  (none)"

    def callbacks(self, interaction_id: int | None = None) -> list[RecordedRequest]:
        """Successful interaction callbacks, optionally for one interaction."""
        return [
            r
            for r in self.requests
            if r.route == "callback" and r.ok and (interaction_id is None or int(r.params["interaction_id"]) == int(interaction_id))
        ]

    async def wait_callback(self, interaction_id: int, *, timeout: float = DEFAULT_WAIT_TIMEOUT) -> RecordedRequest:
        """Wait for the bot's successful callback to this interaction; ``.json`` is its body."""
        return await self.wait_for(
            lambda r: r.route == "callback" and r.ok and int(r.params["interaction_id"]) == int(interaction_id),
            timeout=timeout,
        )

    def followups(self, interaction_id: int | None = None) -> list[RecordedRequest]:
        """Successful followup messages (``POST /webhooks/{app}/{token}``)."""
        tokens = self._tokens_of(interaction_id)
        return [r for r in self.requests if r.route == "followup" and r.ok and (tokens is None or r.params["token"] in tokens)]

    async def wait_followup(self, interaction_id: int, *, timeout: float = DEFAULT_WAIT_TIMEOUT) -> RecordedRequest:
        tokens = self._tokens_of(interaction_id) or set()
        return await self.wait_for(lambda r: r.route == "followup" and r.ok and r.params["token"] in tokens, timeout=timeout)

    def _tokens_of(self, interaction_id: int | None) -> set[str] | None:
        if interaction_id is None:
            return None
        return {t for t, info in self._interactions.items() if info.interaction_id == int(interaction_id)}

    def original_message_id(self, interaction_id: int) -> int | None:
        """The id of the interaction's original response message, once the bot made one."""
        for info in self._interactions.values():
            if info.interaction_id == int(interaction_id):
                return info.original_message_id
        return None

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        """The channel's current messages, oldest first (ephemeral ones included, flag 64)."""
        return list(self.messages.get(int(channel_id), {}).values())

    def message(self, message_id: int) -> dict[str, Any] | None:
        """A stored message by id, in its current (possibly edited) state."""
        channel_id = self._message_channel.get(int(message_id))
        if channel_id is None:
            return None
        return self.messages.get(channel_id, {}).get(int(message_id))

    async def wait_message(
        self,
        channel_id: int,
        predicate: Callable[[dict[str, Any]], bool] | None = None,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
    ) -> dict[str, Any]:
        """Wait until a message in the channel (existing or future, as currently stored) matches.

        Because the stored state is checked, a predicate on content also resolves
        when a message is *edited* into shape.
        """
        check = predicate or (lambda _m: True)

        def find() -> dict[str, Any] | None:
            for message in self.channel_messages(channel_id):
                if check(message):
                    return message
            return None

        return await self._wait(find, timeout, f"message in channel {channel_id}")

    def edits_of(self, message_id: int) -> list[RecordedRequest]:
        """Successful requests that edited this message (channel PATCH, webhook PATCH, callback type 7)."""
        return [
            r
            for r in self.requests
            if r.ok
            and r.message_id == int(message_id)
            and (
                (r.method == "PATCH" and r.route in ("channel_message", "webhook_message"))
                or (r.route == "callback" and isinstance(r.json, dict) and r.json.get("type") == CALLBACK_UPDATE_MESSAGE)
            )
        ]

    async def wait_edit(
        self,
        message_id: int,
        predicate: Callable[[RecordedRequest], bool] | None = None,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        since: int = 0,
    ) -> RecordedRequest:
        """Wait for an edit of the message (see :meth:`edits_of`) matching ``predicate``."""
        check = predicate or (lambda _r: True)
        return await self.wait_for(
            lambda r: r in self.edits_of(message_id) and check(r), timeout=timeout, since=since
        )

    def requests_to(self, method: str, path_regex: str) -> list[RecordedRequest]:
        """All recorded requests (any status) whose method and full path match."""
        pattern = re.compile(path_regex)
        return [r for r in self.requests if r.method == method.upper() and pattern.fullmatch(r.path)]

    # ------------------------------------------------------------------ plumbing

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        if request.path.startswith("/attachments/"):
            return self._serve_blob(request)
        path = request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
        body, files = await self._read_body(request)
        incoming = _Incoming(
            method=request.method,
            path=path,
            query=dict(request.query),
            json=body,
            files=files,
            params={},
        )
        record = RecordedRequest(
            method=request.method, path=path, query=incoming.query, json=body, files=files, at=arrived,
            headers=dict(request.headers),
        )
        name, handler, incoming.params = self._match(incoming)
        record.route = name
        if self._unauthorized(name, record.headers):
            handler = self._refuse_token
        fault = self._next_fault(request.method, path)
        if fault is not None and fault.applied and handler is not None:
            await handler(incoming)  # done, but the bot hears only the failure
        answer = self._fault_answer(fault) if fault is not None else None
        if answer is not None:
            record.fault = True
        elif handler is None:
            answer = _error(404, 0, "Unknown")
        else:
            answer = await handler(incoming)
        record.params = incoming.params
        record.status = answer.status
        record.response = answer.body
        record.message_id = answer.message_id
        record.channel_id = answer.channel_id
        record.deduplicated = answer.deduplicated
        async with self._condition:
            self.requests.append(record)
            if record.route == "unknown" and not record.fault:
                self.unhandled.append(record)
            elif 400 <= record.status < 500 and not record.fault:
                self.refusals.append(record)
            self._condition.notify_all()
        return _json_response(answer.status, answer.body, answer.headers)

    def _unauthorized(self, route: str, headers: Mapping[str, str]) -> bool:
        """With :attr:`token` set, a bot-authenticated route needs ``Authorization: Bot <token>``.

        Interaction callbacks and webhooks are authenticated by the token in their URL.
        """
        if self.token is None or route in _URL_TOKEN_ROUTES:
            return False
        return headers.get("Authorization") != f"Bot {self.token}"

    @staticmethod
    async def _refuse_token(incoming: _Incoming) -> _Answer:
        return _error(401, 0, "401: Unauthorized")

    def _match(self, incoming: _Incoming) -> tuple[str, _Handler | None, dict[str, str]]:
        """Find the route (name, handler, path params); ``("unknown", None, {})`` if none."""
        for methods, pattern, name, handler in self._routes:
            match = pattern.fullmatch(incoming.path)
            if match is not None and incoming.method in methods:
                return name, handler, {k: v for k, v in match.groupdict().items() if v is not None}
        return "unknown", None, {}

    @staticmethod
    async def _read_body(request: web.Request) -> tuple[Any, list[RecordedFile]]:
        content_type = request.content_type
        if content_type == "multipart/form-data":
            payload: Any = None
            files: list[RecordedFile] = []
            reader = await request.multipart()
            async for part in reader:
                if part is None:  # pragma: no cover - aiohttp typing
                    break
                data = await part.read(decode=False)  # type: ignore[union-attr]
                if part.name == "payload_json":
                    payload = json.loads(data.decode())
                else:
                    files.append(
                        RecordedFile(
                            field_name=part.name or "",
                            filename=part.filename,
                            content_type=part.headers.get("Content-Type"),
                            data=bytes(data),
                        )
                    )
            return payload, files
        raw = await request.read()
        if not raw:
            return None, []
        try:
            return json.loads(raw), []
        except ValueError:
            return raw.decode(errors="replace"), []

    def _take_fault(self, method: str, path: str) -> _Answer | None:
        fault = self._next_fault(method, path)
        return self._fault_answer(fault) if fault is not None else None

    def _next_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.times -= 1
                return fault
        return None

    @staticmethod
    def _fault_answer(fault: Fault) -> _Answer:
        if fault.status == 429:
            body = fault.body or {
                "message": "You are being rate limited.",
                "retry_after": fault.retry_after,
                "global": fault.is_global,
            }
            headers = {
                "Retry-After": str(max(1, int(fault.retry_after + 0.999))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{time.time() + fault.retry_after:.3f}",
                "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}",
                "X-RateLimit-Bucket": "fake-bucket",
                "X-RateLimit-Scope": "global" if fault.is_global else "user",
                # discord.py raises instead of retrying a 429 without Via (Cloudflare ban).
                "Via": "1.1 google",
            }
            if fault.is_global:
                headers["X-RateLimit-Global"] = "true"
            return _Answer(status=429, body=body, headers=headers)
        return _Answer(status=fault.status, body=fault.body or {"message": "Server error", "code": 0})

    def _serve_blob(self, request: web.Request) -> web.Response:
        parts = request.path.split("/")
        try:
            data, content_type = self._blobs[int(parts[2])]
        except (IndexError, ValueError, KeyError):
            return web.Response(status=404)
        return web.Response(status=200, body=data, headers={"Content-Type": content_type})

    # ------------------------------------------------------------------ messages

    def _new_message(
        self,
        channel_id: int,
        body: Mapping[str, Any],
        files: list[RecordedFile],
        *,
        author: dict[str, Any] | None = None,
        message_type: int = 0,
        flags: int = 0,
        interaction: _InteractionInfo | None = None,
    ) -> dict[str, Any]:
        message_id = ids.next()
        message: dict[str, Any] = {
            "id": str(message_id),
            "channel_id": str(channel_id),
            "type": message_type,
            "content": body.get("content") or "",
            "author": author or self.bot_user,
            "attachments": self._attachments(channel_id, body.get("attachments"), files, existing=[]),
            "embeds": list(body.get("embeds") or []),
            "components": _numbered(body.get("components") or []),
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": False,
            "pinned": False,
            "tts": bool(body.get("tts", False)),
            "timestamp": iso_timestamp(message_id),
            "edited_timestamp": None,
            "flags": flags | int(body.get("flags") or 0),
        }
        guild_id = self.channels.get(channel_id, {}).get("guild_id")
        if guild_id is not None:
            message["guild_id"] = str(guild_id)
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if "allowed_mentions" in body:
            # Not part of Discord's message object; kept so tests can assert on it.
            message["allowed_mentions"] = body["allowed_mentions"]
        if body.get("message_reference"):
            reference = dict(body["message_reference"])
            referenced_id = int(reference["message_id"])
            message["type"] = 19
            message["message_reference"] = {
                "type": reference.get("type", 0),
                "message_id": str(referenced_id),
                "channel_id": str(reference.get("channel_id") or channel_id),
                **({"guild_id": str(reference.get("guild_id") or guild_id)} if (reference.get("guild_id") or guild_id) else {}),
            }
            referenced = self.message(referenced_id)
            if referenced is not None:
                message["referenced_message"] = {k: v for k, v in referenced.items() if k != "referenced_message"}
        if interaction is not None:
            message["webhook_id"] = str(self.application_id)
            message["application_id"] = str(self.application_id)
            metadata: dict[str, Any] = {
                "id": str(interaction.interaction_id),
                "type": interaction.type,
                "user": interaction.user or self.owner,
                "authorizing_integration_owners": {"0": str(interaction.guild_id)} if interaction.guild_id else {"1": str((interaction.user or self.owner)["id"])},
            }
            if interaction.original_message_id is not None:
                metadata["original_response_message_id"] = str(interaction.original_message_id)
            if interaction.message_id is not None:
                metadata["interacted_message_id"] = str(interaction.message_id)
            message["interaction_metadata"] = metadata
        self.messages.setdefault(channel_id, {})[message_id] = message
        self._message_channel[message_id] = channel_id
        return message

    def _attachments(
        self,
        channel_id: int,
        requested: Iterable[Mapping[str, Any]] | None,
        files: list[RecordedFile],
        *,
        existing: list[dict[str, Any]],
    ) -> list[dict[str, Any]]:
        """Resolve a body's ``attachments`` list the way Discord does.

        Entries whose ``id`` is a small index refer to the uploaded ``files[index]``
        part; other ids keep an attachment the message already has. Without an
        ``attachments`` list, every uploaded file becomes an attachment.
        """
        uploads = {}
        for position, upload in enumerate(files):
            match = re.fullmatch(r"files\[(\d+)\]", upload.field_name)
            uploads[int(match.group(1)) if match else position] = upload
        keep = {int(a["id"]): a for a in existing}
        entries = list(requested) if requested is not None else [{"id": i, "filename": f.filename} for i, f in uploads.items()]
        result: list[dict[str, Any]] = []
        for entry in entries:
            entry_id = int(entry["id"])
            if entry_id in keep:
                result.append(keep[entry_id])
                continue
            upload = uploads.get(entry_id)
            if upload is None:
                continue
            attachment_id = ids.next()
            filename = entry.get("filename") or upload.filename or f"file{entry_id}"
            content_type = upload.content_type or "application/octet-stream"
            url = self.add_blob(upload.data, filename, content_type)
            attachment = {
                "id": str(attachment_id),
                "filename": filename,
                "size": len(upload.data),
                "url": url,
                "proxy_url": url,
                "content_type": content_type,
            }
            if entry.get("description"):
                attachment["description"] = entry["description"]
            result.append(attachment)
        return result

    def _edit_message(self, message: dict[str, Any], body: Mapping[str, Any], files: list[RecordedFile]) -> None:
        if "content" in body:
            message["content"] = body["content"] or ""
        if "embeds" in body:
            message["embeds"] = list(body["embeds"] or [])
        if "components" in body:
            message["components"] = _numbered(body["components"] or [])
        if "allowed_mentions" in body:
            message["allowed_mentions"] = body["allowed_mentions"]
        if "flags" in body and body["flags"] is not None:
            message["flags"] = int(body["flags"]) | (int(message.get("flags", 0)) & FLAG_EPHEMERAL)
        if "attachments" in body or files:
            message["attachments"] = self._attachments(
                int(message["channel_id"]), body.get("attachments"), files, existing=list(message.get("attachments", []))
            )
        message["flags"] = int(message.get("flags", 0)) & ~FLAG_LOADING
        message["edited_timestamp"] = iso_timestamp(ids.next())

    def _lookup(self, channel_id: int, message_id: int) -> tuple[dict[str, Any] | None, _Answer | None]:
        if channel_id not in self.channels:
            return None, _error(404, UNKNOWN_CHANNEL, "Unknown Channel")
        message = self.messages.get(channel_id, {}).get(message_id)
        if message is None:
            return None, _error(404, UNKNOWN_MESSAGE, "Unknown Message")
        return message, None

    # ------------------------------------------------------------------ route handlers

    async def _get_me(self, incoming: _Incoming) -> _Answer:
        return _Answer(body=self.bot_user)

    async def _get_application(self, incoming: _Incoming) -> _Answer:
        return _Answer(
            body={
                "id": str(self.application_id),
                "name": self.bot_user["username"],
                "description": "",
                "icon": None,
                "bot_public": False,
                "bot_require_code_grant": False,
                "owner": self.owner,
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "bot": self.bot_user,
            }
        )

    async def _get_gateway(self, incoming: _Incoming) -> _Answer:
        body: dict[str, Any] = {"url": f"ws://127.0.0.1:{self.port}/gateway"}
        if incoming.path.endswith("/bot"):
            body.update(
                shards=1,
                session_start_limit={"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1},
            )
        return _Answer(body=body)

    def dm_channel_for(self, recipient: Mapping[str, Any]) -> dict[str, Any]:
        """The one DM channel between the bot and this user, created on first use.

        Shared by ``POST /users/@me/channels`` and DM interactions, as on Discord,
        so a DM command and a later ``user.send`` land in the same channel.
        """
        recipient_id = int(recipient["id"])
        channel_id = self._dm_by_user.get(recipient_id)
        if channel_id is None:
            channel_id = ids.next()
            self._dm_by_user[recipient_id] = channel_id
            self.add_channel(dm_channel(dict(recipient), channel_id=channel_id))
        return self.channels[channel_id]

    async def _create_dm(self, incoming: _Incoming) -> _Answer:
        recipient_id = int(incoming.json["recipient_id"])
        channel = self.dm_channel_for(self.users.get(recipient_id) or user_payload(recipient_id, f"user{recipient_id}"))
        return _Answer(body=channel, channel_id=int(channel["id"]))

    def dm_channel_id(self, user_id: int) -> int | None:
        """The DM channel the bot opened with this user, if any."""
        return self._dm_by_user.get(int(user_id))

    async def _get_channel(self, incoming: _Incoming) -> _Answer:
        channel_id = int(incoming.params["channel_id"])
        channel = self.channels.get(channel_id)
        if channel is None:
            return _error(404, UNKNOWN_CHANNEL, "Unknown Channel")
        return _Answer(body=channel, channel_id=channel_id)

    async def _typing(self, incoming: _Incoming) -> _Answer:
        channel_id = int(incoming.params["channel_id"])
        if channel_id not in self.channels:
            return _error(404, UNKNOWN_CHANNEL, "Unknown Channel")
        return _Answer(status=204, channel_id=channel_id)

    async def _create_message(self, incoming: _Incoming) -> _Answer:
        channel_id = int(incoming.params["channel_id"])
        channel = self.channels.get(channel_id)
        if channel is None:
            return _error(404, UNKNOWN_CHANNEL, "Unknown Channel")
        if channel.get("type") == 1:
            recipient = next((u for u, c in self._dm_by_user.items() if c == channel_id), None)
            if recipient in self.closed_dms:
                return _error(403, CANNOT_DM_USER, "Cannot send messages to this user")
        body = incoming.json or {}
        refusal = limits.check_message_create(body, _sizes(incoming.files), size_limit=self.attachment_size_limit)
        if refusal is not None:
            return _refused(refusal)
        reference = body.get("message_reference")
        if reference and reference.get("fail_if_not_exists", True):
            if self.message(int(reference["message_id"])) is None:
                return _Answer(
                    status=400,
                    body={
                        "message": "Invalid Form Body",
                        "code": 50035,
                        "errors": {"message_reference": {"_errors": [{"code": "REPLIES_UNKNOWN_MESSAGE", "message": "Unknown message"}]}},
                    },
                )
        nonce_key = self._enforced_nonce(body)
        if nonce_key is not None:
            earlier = self._nonces.get(nonce_key)
            if earlier is not None and time.monotonic() - earlier[1] < NONCE_WINDOW_SECONDS:
                existing = self.message(earlier[0])
                if existing is not None:
                    # Like Discord: the message created earlier with this nonce is returned, none is made.
                    return _Answer(body=existing, message_id=earlier[0], channel_id=int(existing["channel_id"]),
                                   deduplicated=True)
        message = self._new_message(channel_id, body, incoming.files)
        if nonce_key is not None:
            self._nonces[nonce_key] = (int(message["id"]), time.monotonic())
        return _Answer(body=message, message_id=int(message["id"]), channel_id=channel_id)

    def _enforced_nonce(self, body: Mapping[str, Any]) -> tuple[int, str] | None:
        """The de-duplication key of a message create with ``enforce_nonce: true`` (author = the bot)."""
        nonce = body.get("nonce")
        if nonce is None or body.get("enforce_nonce") is not True:
            return None
        return int(self.bot_user["id"]), str(nonce)

    async def _history(self, incoming: _Incoming) -> _Answer:
        channel_id = int(incoming.params["channel_id"])
        if channel_id not in self.channels:
            return _error(404, UNKNOWN_CHANNEL, "Unknown Channel")
        limit = int(incoming.query.get("limit", 50))
        newest_first = list(reversed(self.channel_messages(channel_id)))
        if "before" in incoming.query:
            newest_first = [m for m in newest_first if int(m["id"]) < int(incoming.query["before"])]
        if "after" in incoming.query:
            newest_first = [m for m in newest_first if int(m["id"]) > int(incoming.query["after"])]
        return _Answer(body=newest_first[:limit], channel_id=channel_id)

    async def _channel_message(self, incoming: _Incoming) -> _Answer:
        channel_id = int(incoming.params["channel_id"])
        message_id = int(incoming.params["message_id"])
        message, error = self._lookup(channel_id, message_id)
        if error is not None:
            return error
        assert message is not None
        if incoming.method == "GET":
            return _Answer(body=message, message_id=message_id, channel_id=channel_id)
        if incoming.method == "DELETE":
            self.delete_message(channel_id, message_id)
            return _Answer(status=204, message_id=message_id, channel_id=channel_id)
        refusal = self._edit_refusal(message, incoming)
        if refusal is not None:
            return refusal
        self._edit_message(message, incoming.json or {}, incoming.files)
        return _Answer(body=message, message_id=message_id, channel_id=channel_id)

    def _edit_refusal(self, message: Mapping[str, Any], incoming: _Incoming) -> _Answer | None:
        refusal = limits.check_message_edit(
            incoming.json, _sizes(incoming.files), message, size_limit=self.attachment_size_limit
        )
        return _refused(refusal) if refusal is not None else None

    async def _reaction(self, incoming: _Incoming) -> _Answer:
        channel_id = int(incoming.params["channel_id"])
        message_id = int(incoming.params["message_id"])
        _message, error = self._lookup(channel_id, message_id)
        return error or _Answer(status=204, message_id=message_id, channel_id=channel_id)

    async def _commands(self, incoming: _Incoming) -> _Answer:
        guild_id = int(incoming.params["guild_id"]) if "guild_id" in incoming.params else None
        if incoming.method == "GET":
            return _Answer(body=self.commands.get(guild_id, []))
        refusal = limits.check_commands(incoming.json)
        if refusal is not None:
            return _refused(refusal)
        synced = []
        for command in incoming.json or []:
            kind = int(command.get("type", 1))
            key = (guild_id, command["name"], kind)
            command_id = self._command_ids.setdefault(key, ids.next())
            echoed = {
                "description": "",
                "default_member_permissions": None,
                "nsfw": False,
                **command,
                "id": str(command_id),
                "application_id": str(self.application_id),
                "type": kind,
                "version": str(ids.next()),
            }
            if guild_id is not None:
                echoed["guild_id"] = str(guild_id)
            synced.append(echoed)
        self.commands[guild_id] = synced
        return _Answer(body=synced)

    def command_id(self, name: str, *, guild_id: int | None = None, command_type: int = 1) -> int | None:
        """The id of a command in the latest sync for that scope (None if not synced there)."""
        for command in self.commands.get(guild_id, []):
            if command["name"] == name and command["type"] == command_type:
                return int(command["id"])
        return None

    # ------------------------------------------------------------------ interactions

    def _interaction(self, token: str) -> _InteractionInfo | None:
        return self._interactions.get(token)

    async def _interaction_callback(self, incoming: _Incoming) -> _Answer:
        interaction_id = int(incoming.params["interaction_id"])
        token = incoming.params["token"]
        info = self._interaction(token)
        if info is None:
            # An interaction the harness did not dispatch: accept it, with no channel.
            info = _InteractionInfo(interaction_id, token, 2, None, None, None, None, None)
            self._interactions[token] = info
        if info.acknowledged:
            return _error(400, ALREADY_ACKNOWLEDGED, "Interaction has already been acknowledged.")
        if time.monotonic() - info.created_at > self.ack_window:
            # Discord forgets an interaction not answered within 3 s.
            return _error(404, UNKNOWN_INTERACTION, "Unknown interaction")
        body = incoming.json or {}
        callback_type = int(body.get("type", 0))
        data = body.get("data") or {}
        target = self.message(info.message_id) if info.message_id is not None else None
        refusal = limits.check_callback(body, _sizes(incoming.files), target, size_limit=self.attachment_size_limit)
        if refusal is not None:
            return _refused(refusal)  # a refused answer leaves the interaction unanswered
        info.acknowledged = True
        summary: dict[str, Any] = {"id": str(interaction_id), "type": info.type}
        answer = _Answer(body={"interaction": summary}, channel_id=info.channel_id)

        if callback_type in (CALLBACK_CHANNEL_MESSAGE, CALLBACK_DEFERRED_CHANNEL_MESSAGE):
            ephemeral = bool(int(data.get("flags") or 0) & FLAG_EPHEMERAL)
            loading = callback_type == CALLBACK_DEFERRED_CHANNEL_MESSAGE
            channel_id = info.channel_id if info.channel_id is not None else 0
            message_type = {1: 20, 2: 23, 3: 23}.get(info.command_type or 0, 0) if info.type == 2 else 0
            message = self._new_message(
                channel_id,
                {} if loading else data,
                [] if loading else incoming.files,
                message_type=message_type,
                flags=FLAG_LOADING if loading else 0,
                interaction=info,
            )
            if loading:
                message["flags"] |= int(data.get("flags") or 0) & FLAG_EPHEMERAL
            info.original_message_id = int(message["id"])
            summary.update(
                response_message_id=message["id"],
                response_message_loading=loading,
                response_message_ephemeral=ephemeral,
            )
            answer.body["resource"] = {"type": callback_type, "message": message}
            answer.message_id = int(message["id"])
        elif callback_type in (CALLBACK_UPDATE_MESSAGE, CALLBACK_DEFERRED_UPDATE_MESSAGE):
            resource: dict[str, Any] = {"type": callback_type}
            if target is not None:
                if callback_type == CALLBACK_UPDATE_MESSAGE:
                    self._edit_message(target, data, incoming.files)
                resource["message"] = target
                summary["response_message_id"] = target["id"]
                answer.message_id = int(target["id"])
            answer.body["resource"] = resource
        elif callback_type in (CALLBACK_MODAL, CALLBACK_AUTOCOMPLETE_RESULT):
            answer.body["resource"] = {"type": callback_type}
        return answer

    def _original_or_id(self, info: _InteractionInfo, raw_id: str) -> int | None:
        if raw_id == "@original":
            return info.original_message_id
        return int(raw_id)

    async def _webhook_execute(self, incoming: _Incoming) -> _Answer:
        info = self._interaction(incoming.params["token"])
        if info is None or int(incoming.params["application_id"]) != self.application_id:
            return _error(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        if not info.acknowledged:
            # Discord refuses followups before the interaction was answered.
            return _error(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        expired = self._token_expired(info)
        if expired is not None:
            return expired
        refusal = limits.check_message_create(
            incoming.json, _sizes(incoming.files), size_limit=self.attachment_size_limit
        )
        if refusal is not None:
            return _refused(refusal)
        channel_id = info.channel_id if info.channel_id is not None else 0
        message = self._new_message(channel_id, incoming.json or {}, incoming.files, interaction=info)
        if incoming.query.get("wait") in _TRUE_STRINGS:
            return _Answer(body=message, message_id=int(message["id"]), channel_id=channel_id)
        return _Answer(status=204, message_id=int(message["id"]), channel_id=channel_id)

    async def _webhook_message(self, incoming: _Incoming) -> _Answer:
        info = self._interaction(incoming.params["token"])
        if info is None:
            return _error(404, UNKNOWN_WEBHOOK, "Unknown Webhook")
        expired = self._token_expired(info)
        if expired is not None:
            return expired
        message_id = self._original_or_id(info, incoming.params["message_id"])
        message = self.message(message_id) if message_id is not None else None
        if message is None:
            return _error(404, UNKNOWN_MESSAGE, "Unknown Message")
        assert message_id is not None
        channel_id = int(message["channel_id"])
        if incoming.method == "GET":
            return _Answer(body=message, message_id=message_id, channel_id=channel_id)
        if incoming.method == "DELETE":
            self.delete_message(channel_id, message_id)
            return _Answer(status=204, message_id=message_id, channel_id=channel_id)
        refusal = self._edit_refusal(message, incoming)
        if refusal is not None:
            return refusal
        self._edit_message(message, incoming.json or {}, incoming.files)
        return _Answer(body=message, message_id=message_id, channel_id=channel_id)

    def _token_expired(self, info: _InteractionInfo) -> _Answer | None:
        """401 code 50027 once the interaction token has outlived its 15 minutes."""
        if time.monotonic() - info.created_at > self.token_lifetime:
            return _error(401, INVALID_WEBHOOK_TOKEN, "Invalid Webhook Token")
        return None
