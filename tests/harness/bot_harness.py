"""Run a real ``commands.Bot`` offline: log it in against FakeDiscord and feed it events.

``DiscordHarness`` owns the whole offline world of one test: it starts a
:class:`~.fake_discord.FakeDiscord`, points ``discord.http.Route.BASE`` at it, logs
the bot in for real (so ``setup_hook`` runs), hands READY and GUILD_CREATE to the
bot's connection state, and then lets the test inject interactions and messages.

Errors are the reason this module is more than twenty lines: discord.py catches and
logs exceptions from commands, views, modals and event handlers (pitfall 4), so a
broken command would otherwise pass its test. The harness hooks every path an error
can take and, on exit, fails the test if anything was collected.

Strict mode: every 4xx the fake answers from its own handlers (a message over Discord's
limits, an unknown channel, a late interaction answer...) also fails the test, because
the bot may well have swallowed the ``HTTPException``. A test that provokes one on
purpose says so with :meth:`DiscordHarness.expect_refusal` (or clears them with
:meth:`DiscordHarness.take_refusals`). Injected faults are never reported: the test
asked for them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from . import payloads
from .fake_discord import FakeDiscord, RecordedRequest

__all__ = ["CollectedError", "DiscordHarness", "HarnessError", "RefusalExpectation", "describe_refusal"]

GUILD_READY_TIMEOUT = 0.05
DEFAULT_TIMEOUT = 5.0
_DISCORD_DIR = os.path.dirname(discord.__file__)
# Tasks discord.py starts for work triggered by an event; drained before closing.
_WORK_TASK_PREFIXES = (
    "discord.py: ",
    "CommandTree-invoker",
    "discord-ui-view-dispatch-",
    "discord-ui-dynamic-item-",
    "discord-ui-modal-dispatch-",
)


@dataclass(frozen=True)
class CollectedError:
    """One error the bot swallowed: where it surfaced, the exception, a readable line."""

    source: str
    error: BaseException | None
    message: str

    def format(self) -> str:
        if self.error is None:
            return f"[{self.source}] {self.message}"
        trace = "".join(traceback.format_exception(self.error))
        return f"[{self.source}] {self.message}\n{trace}"


class HarnessError(AssertionError):
    """The bot hit errors (or unknown REST routes, or refusals) that the test did not expect."""


@dataclass
class RefusalExpectation:
    """A 4xx answer the test provokes on purpose; ``None`` fields match anything.

    ``path`` is a regular expression matched in full against the path after
    ``/api/v10`` (as in ``inject_fault``). ``seen`` lists the refusals it matched so far,
    so a test can also assert that the refusal really happened.
    """

    fake: FakeDiscord
    status: int | None = None
    code: int | None = None
    method: str | None = None
    path: str | None = None
    route: str | None = None
    _pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._pattern = re.compile(self.path) if self.path is not None else None
        self.method = self.method.upper() if self.method is not None else None

    def matches(self, request: RecordedRequest) -> bool:
        return (
            (self.status is None or request.status == self.status)
            and (self.code is None or request.error_code == self.code)
            and (self.method is None or request.method == self.method)
            and (self.route is None or request.route == self.route)
            and (self._pattern is None or self._pattern.fullmatch(request.path) is not None)
        )

    @property
    def seen(self) -> list[RecordedRequest]:
        return [r for r in self.fake.refusals if self.matches(r)]


def describe_refusal(request: RecordedRequest) -> str:
    """One line naming what was refused and how: method, path, status, code, message, errors."""
    body = request.response if isinstance(request.response, Mapping) else {}
    line = f"[fake] refused {request.method} {request.path} -> {request.status} code {request.error_code}"
    line += f" ({body.get('message', '')})"
    if body.get("errors") is not None:
        line += f" errors {json.dumps(body['errors'])}"
    return line


class _ErrorLogHandler(logging.Handler):
    """Collects ERROR records: how view, modal and dynamic-item failures surface."""

    def __init__(self, harness: DiscordHarness) -> None:
        super().__init__(level=logging.ERROR)
        self._harness = harness

    def emit(self, record: logging.LogRecord) -> None:
        error = record.exc_info[1] if record.exc_info else None
        self._harness._collect(f"log:{record.name}", error, record.getMessage())


def _channel_ids_by_guild(
    guild_ids: Sequence[int], channels: Mapping[int, Sequence[Any]] | Sequence[Any] | None
) -> dict[int, list[Any]]:
    if channels is None:
        return {g: [payloads.ids.next()] for g in guild_ids}
    if isinstance(channels, Mapping):
        return {g: list(channels.get(g, [])) for g in guild_ids}
    result: dict[int, list[Any]] = {g: [] for g in guild_ids}
    result[guild_ids[0]] = list(channels)
    return result


class DiscordHarness:
    """``async with DiscordHarness(bot) as h:`` — the bot, logged in and ready, offline.

    Build the bot with ``guild_ready_timeout=0.05`` (the harness also lowers it, or
    READY waits 2 s per login). ``channels`` is a list of channel ids (or
    ``payloads.text_channel`` dicts) for the first guild, or ``{guild_id: [...]}``;
    by default each guild gets one text channel. ``h.guild_id``/``h.channel_id`` are
    the first of each and ``h.user`` the default member who invokes things.

    Only one harness may be active at a time: ``Route.BASE`` is process-global.
    """

    def __init__(
        self,
        bot: commands.Bot,
        *,
        guild_ids: Sequence[int] | None = None,
        channels: Mapping[int, Sequence[Any]] | Sequence[Any] | None = None,
        members: Sequence[Mapping[str, Any]] = (),
        token: str = "fake-token",
        bot_user: Mapping[str, Any] | None = None,
        user: Mapping[str, Any] | None = None,
        owner_id: int | None = None,
        expect_errors: bool = False,
        error_loggers: Iterable[str] = ("discord",),
        drain_timeout: float = 2.0,
        ready_timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.bot: commands.Bot = bot
        self.token = token
        self.bot_user: dict[str, Any] = dict(bot_user or payloads.user(username="dreambot-test", bot=True))
        self.application_id: int = int(self.bot_user["id"])
        self.user: dict[str, Any] = dict(user or payloads.user(username="tester"))
        self.owner_id: int = owner_id or payloads.ids.next()
        self.guild_ids: list[int] = list(guild_ids or [payloads.ids.next()])
        self.expect_errors = expect_errors
        self.drain_timeout = drain_timeout
        self.ready_timeout = ready_timeout
        self.errors: list[CollectedError] = []
        self.refusal_expectations: list[RefusalExpectation] = []
        self.interactions: dict[int, dict[str, Any]] = {}
        self.fake = FakeDiscord(bot_user=self.bot_user, application_id=self.application_id)
        self.bot_role_ids: dict[int, int] = {g: payloads.ids.next() for g in self.guild_ids}
        self._members = [dict(m) for m in members]
        self._channels_by_guild = _channel_ids_by_guild(self.guild_ids, channels)
        self._channel_payloads: dict[int, list[dict[str, Any]]] = {}
        self._error_loggers = tuple(error_loggers)
        self._log_handler = _ErrorLogHandler(self)
        self._error_condition = asyncio.Condition()
        self._old_base: str | None = None
        self._old_exception_handler: Any = None
        self._tasks_before: set[asyncio.Task[Any]] = set()
        self._active = False

    # ------------------------------------------------------------------ properties

    @property
    def guild_id(self) -> int:
        return self.guild_ids[0]

    @property
    def channel_id(self) -> int:
        """The first text channel of the first guild."""
        return int(self._channel_payloads[self.guild_id][0]["id"])

    def channel_ids(self, guild_id: int | None = None) -> list[int]:
        return [int(c["id"]) for c in self._channel_payloads[guild_id or self.guild_id]]

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> DiscordHarness:
        loop = asyncio.get_running_loop()
        self._tasks_before = set(asyncio.all_tasks())
        await self.fake.start()
        self._old_base = discord.http.Route.BASE
        discord.http.Route.BASE = self.fake.base_url
        self._old_exception_handler = loop.get_exception_handler()
        loop.set_exception_handler(self._loop_exception)
        for name in self._error_loggers:
            logging.getLogger(name).addHandler(self._log_handler)
        self._active = True
        self._build_world()
        self.fake.fail_fast = self._problems
        try:
            await self._bring_up(self.bot)
        except BaseException:
            try:
                await self._shut_down(self.bot)  # login may have opened the HTTP session
            finally:
                await self._tear_down()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._shut_down(self.bot)
        finally:
            await self._tear_down()
        report = self._problems()
        if report is None:
            return
        if exc is not None:
            # The test already failed; add what the bot swallowed instead of masking it
            # (unless the failure is the fail-fast report itself).
            if report not in str(exc):
                exc.add_note(report)
            return
        raise HarnessError(report)

    async def restart(self, new_bot: commands.Bot) -> commands.Bot:
        """Close the current bot and log ``new_bot`` in against the same fake.

        The fake keeps its messages, channels and synced commands, so this is a
        process restart as Discord sees it: persistent views and dynamic items must
        be re-registered by the new bot's ``setup_hook`` to keep working.
        """
        await self._shut_down(self.bot)
        self.bot = new_bot
        await self._bring_up(new_bot)
        return new_bot

    def _build_world(self) -> None:
        """Register guild channels and members with the fake before the bot asks for them."""
        for guild_id in self.guild_ids:
            built = []
            for position, channel in enumerate(self._channels_by_guild[guild_id]):
                if isinstance(channel, Mapping):
                    payload = {**channel, "guild_id": str(guild_id)}
                else:
                    payload = payloads.text_channel(int(channel), f"channel-{position}", guild_id=guild_id, position=position)
                built.append(self.fake.add_channel(payload))
            self._channel_payloads[guild_id] = built
        for known in (self.user, *(m["user"] for m in self._members)):
            self.fake.users[int(known["id"])] = dict(known)

    def _guild_payload(self, guild_id: int) -> dict[str, Any]:
        bot_role = payloads.role(
            self.bot_role_ids[guild_id],
            self.bot_user["username"],
            permissions=payloads.DEFAULT_BOT_PERMISSIONS,
            position=1,
            managed=True,
        )
        member_list = [
            payloads.member(self.bot_user, [self.bot_role_ids[guild_id]]),
            payloads.member(self.user),
            *[m for m in self._members if int(m["user"]["id"]) != int(self.user["id"])],
        ]
        return payloads.guild_create(
            guild_id,
            channels=self._channel_payloads[guild_id],
            members=member_list,
            roles=[bot_role],
            owner_id=self.owner_id,
        )

    async def _bring_up(self, bot: commands.Bot) -> None:
        # Keeps READY from idling 2 s per login waiting for more GUILD_CREATEs.
        if bot._connection.guild_ready_timeout > GUILD_READY_TIMEOUT:
            bot._connection.guild_ready_timeout = GUILD_READY_TIMEOUT
        self._hook_bot(bot)
        await bot.login(self.token)  # GET /users/@me, GET /oauth2/applications/@me, setup_hook
        self._hook_tree(bot)
        self.dispatch("READY", payloads.ready(self.bot_user, self.application_id, self.guild_ids))
        for guild_id in self.guild_ids:
            self.dispatch("GUILD_CREATE", self._guild_payload(guild_id))
        await asyncio.wait_for(bot.wait_until_ready(), self.ready_timeout)

    async def _shut_down(self, bot: commands.Bot) -> None:
        """Let in-flight command/view/event tasks finish, close the bot, cancel stragglers."""
        current = asyncio.current_task()

        def new_tasks() -> list[asyncio.Task[Any]]:
            return [t for t in asyncio.all_tasks() if t is not current and t not in self._tasks_before and not t.done()]

        work = [t for t in new_tasks() if t.get_name().startswith(_WORK_TASK_PREFIXES)]
        if work:
            await asyncio.wait(work, timeout=self.drain_timeout)
        if not bot.is_closed():
            await bot.close()
        leftovers = [t for t in new_tasks() if self._is_discord_task(t)]
        for task in leftovers:
            task.cancel()
        if leftovers:
            await asyncio.gather(*leftovers, return_exceptions=True)

    @staticmethod
    def _is_discord_task(task: asyncio.Task[Any]) -> bool:
        if task.get_name().startswith(_WORK_TASK_PREFIXES + ("discord",)):
            return True
        code = getattr(task.get_coro(), "cr_code", None)
        return code is not None and code.co_filename.startswith(_DISCORD_DIR)

    async def _tear_down(self) -> None:
        if not self._active:
            return
        self._active = False
        for name in self._error_loggers:
            logging.getLogger(name).removeHandler(self._log_handler)
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(self._old_exception_handler)
        if self._old_base is not None:
            discord.http.Route.BASE = self._old_base
        await self.fake.stop()

    # ------------------------------------------------------------------ error collection

    def _collect(self, source: str, error: BaseException | None, message: str) -> None:
        if error is not None and any(e.error is error for e in self.errors):
            return  # the same exception, seen again through the default handler's log
        self.errors.append(CollectedError(source, error, message))
        try:
            asyncio.get_running_loop().create_task(self._notify_errors())
        except RuntimeError:
            pass  # logged from outside the loop (e.g. at interpreter shutdown): nobody is waiting

    async def _notify_errors(self) -> None:
        async with self._error_condition:
            self._error_condition.notify_all()
        await self.fake.poke()

    def _loop_exception(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, Exception):
            self._collect("asyncio", error, str(context.get("message", "")))
        if self._old_exception_handler is not None:
            self._old_exception_handler(loop, context)
        else:
            loop.default_exception_handler(context)

    def _hook_bot(self, bot: commands.Bot) -> None:
        original_on_error = bot.on_error

        async def on_error(event_method: str, /, *args: Any, **kwargs: Any) -> None:
            self._collect(f"event:{event_method}", sys.exc_info()[1], f"exception in {event_method}")
            await original_on_error(event_method, *args, **kwargs)

        bot.on_error = on_error  # type: ignore[method-assign]
        # No on_command_error listener here: adding one silences discord.py's default handler
        # (it steps aside when any listener exists), which would hide a bot that logs message
        # chatter such as CommandNotFound as an error. Both log at ERROR, which is collected.

    def _hook_tree(self, bot: commands.Bot) -> None:
        """Wrap (not replace) the tree's handler, so the bot's own error replies still run."""
        tree = bot.tree
        original = tree.on_error

        async def on_error(interaction: discord.Interaction[Any], error: app_commands.AppCommandError, /) -> None:
            name = interaction.command.qualified_name if interaction.command else "?"
            self._collect(f"app_command:{name}", error, f"app command {name} failed: {error!r}")
            await original(interaction, error)

        tree.on_error = on_error  # type: ignore[method-assign]

    def _problems(self) -> str | None:
        if self.expect_errors:
            return None
        parts = [e.format() for e in self.errors]
        parts += [f"[fake] unknown route {r.method} {r.path} (answered 404)" for r in self.fake.unhandled]
        parts += [describe_refusal(r) for r in self.unexpected_refusals()]
        if not parts:
            return None
        return (
            "the bot hit unexpected errors (set h.expect_errors = True or h.take_errors(); "
            "for a 4xx provoked on purpose, h.expect_refusal(status=..., code=...)):\n" + "\n".join(parts)
        )

    def expect_refusal(
        self,
        *,
        status: int | None = None,
        code: int | None = None,
        method: str | None = None,
        path: str | None = None,
        route: str | None = None,
    ) -> RefusalExpectation:
        """Allow 4xx answers matching all the given fields for the rest of the test.

        E.g. ``h.expect_refusal(status=404, code=10003)`` before deleting a channel the bot
        will post to. Returns the expectation; its ``seen`` lists what it matched.
        """
        expectation = RefusalExpectation(self.fake, status=status, code=code, method=method, path=path, route=route)
        self.refusal_expectations.append(expectation)
        return expectation

    def unexpected_refusals(self) -> list[RecordedRequest]:
        """The fake's 4xx answers that no :meth:`expect_refusal` covers."""
        return [r for r in self.fake.refusals if not any(e.matches(r) for e in self.refusal_expectations)]

    def take_refusals(self) -> list[RecordedRequest]:
        """Return and forget every 4xx answer so far (the strict check then ignores them)."""
        return self.fake.take_refusals()

    def take_errors(self) -> list[CollectedError]:
        """Return and forget the collected errors (for tests that provoke them on purpose)."""
        taken, self.errors = self.errors, []
        return taken

    async def wait_error(
        self, predicate: Callable[[CollectedError], bool] | None = None, *, timeout: float = DEFAULT_TIMEOUT
    ) -> CollectedError:
        """Wait until an error matching ``predicate`` has been collected (existing or future)."""
        check = predicate or (lambda _e: True)

        def find() -> CollectedError | None:
            return next((e for e in self.errors if check(e)), None)

        async with self._error_condition:
            try:
                return await asyncio.wait_for(self._error_condition.wait_for(find), timeout)
            except asyncio.TimeoutError:
                raise AssertionError(f"no matching error within {timeout}s; collected: {self.errors!r}") from None

    # ------------------------------------------------------------------ injecting events

    def dispatch(self, event: str, payload: dict[str, Any]) -> None:
        """Hand a raw gateway event to the bot, as the websocket would after decoding it.

        Interactions are registered with the fake first (so their webhook traffic finds
        its channel) and user messages are stored (so replies and fetches find them). A bot
        without the Message Content intent gets messages as Discord delivers them, blanked.
        """
        if event == "INTERACTION_CREATE":
            self.fake.register_interaction(payload)
            self.interactions[int(payload["id"])] = payload
        elif event == "MESSAGE_CREATE":
            self.fake.store_incoming_message(payload)
        if event in ("MESSAGE_CREATE", "MESSAGE_UPDATE") and not self.bot.intents.message_content:
            assert self.bot.user is not None
            payload = payloads.as_seen_without_message_content(payload, self.bot.user.id)
        self.bot._connection.parsers[event](payload)

    def _context(
        self,
        *,
        guild_id: int | None,
        channel_id: int | None,
        user: Mapping[str, Any] | None,
        dm: bool,
        member_roles: Iterable[int],
        member_permissions: payloads.PermissionsLike | None,
        app_permissions: payloads.PermissionsLike | None,
        locale: str,
    ) -> dict[str, Any]:
        invoker = dict(user or self.user)
        self.fake.users[int(invoker["id"])] = invoker
        context: dict[str, Any] = {
            "application_id": self.application_id,
            "user": invoker,
            "locale": locale,
            "app_permissions": app_permissions if app_permissions is not None else payloads.DEFAULT_BOT_PERMISSIONS,
        }
        if dm:
            context["channel"] = self.fake.dm_channel_for(invoker)
            return context
        if channel_id is not None:
            channel = self.fake.channels.get(int(channel_id))
            if channel is None:
                raise ValueError(f"channel {channel_id} does not exist in the fake (deleted or never created)")
            target_guild = guild_id or int(channel.get("guild_id") or self.guild_id)
        else:
            target_guild = guild_id or self.guild_id
            channel = self.fake.channels[self.channel_ids(target_guild)[0]]
        context.update(
            guild_id=target_guild,
            channel=channel,
            member_roles=list(member_roles),
            member_permissions=member_permissions if member_permissions is not None else payloads.DEFAULT_MEMBER_PERMISSIONS,
        )
        return context

    def _command_guild_id(self, name: str, kind: discord.AppCommandType, guild_id: int | None, dm: bool) -> int | None:
        """``data.guild_id`` is present only for guild-registered commands; find out which this is.

        What was synced to the fake wins (that is what Discord would know); otherwise
        the tree decides: global if registered globally, else the guild's.
        """
        target = guild_id or self.guild_id
        if not dm and self.fake.command_id(name, guild_id=target, command_type=kind.value) is not None:
            return target
        if self.fake.command_id(name, guild_id=None, command_type=kind.value) is not None:
            return None
        tree = self.bot.tree
        if tree.get_command(name, type=kind) is not None or dm:
            return None
        if tree.get_command(name, guild=discord.Object(target), type=kind) is not None:
            return target
        return None

    def _command_id(self, name: str, kind: discord.AppCommandType, command_guild_id: int | None) -> int | None:
        return self.fake.command_id(name, guild_id=command_guild_id, command_type=kind.value)

    async def slash(
        self,
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        subcommand: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user: Mapping[str, Any] | None = None,
        dm: bool = False,
        member_roles: Iterable[int] = (),
        member_permissions: payloads.PermissionsLike | None = None,
        app_permissions: payloads.PermissionsLike | None = None,
        locale: str = "en-US",
    ) -> int:
        """Invoke ``/name [subcommand] options...``; returns the interaction id.

        Options are ``{name: value}``; attachments come from :meth:`attachment`,
        users from ``payloads.user``; ``payloads.Option(type, value)`` forces a type.
        """
        kind = discord.AppCommandType.chat_input
        command_guild_id = self._command_guild_id(name, kind, guild_id, dm)
        payload = payloads.slash_command(
            name,
            options,
            subcommand=subcommand,
            command_id=self._command_id(name, kind, command_guild_id),
            command_guild_id=command_guild_id,
            **self._context(
                guild_id=guild_id,
                channel_id=channel_id,
                user=user,
                dm=dm,
                member_roles=member_roles,
                member_permissions=member_permissions,
                app_permissions=app_permissions,
                locale=locale,
            ),
        )
        self.dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    async def autocomplete(
        self,
        name: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        subcommand: str | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
        user: Mapping[str, Any] | None = None,
        dm: bool = False,
        locale: str = "en-US",
    ) -> int:
        """Ask for autocomplete choices while ``focused`` is being typed; returns the interaction id.

        The answer is a type-8 callback: ``(await h.fake.wait_callback(iid)).json["data"]["choices"]``.
        """
        kind = discord.AppCommandType.chat_input
        command_guild_id = self._command_guild_id(name, kind, guild_id, dm)
        payload = payloads.autocomplete(
            name,
            options,
            focused,
            subcommand=subcommand,
            command_id=self._command_id(name, kind, command_guild_id),
            command_guild_id=command_guild_id,
            **self._context(
                guild_id=guild_id,
                channel_id=channel_id,
                user=user,
                dm=dm,
                member_roles=(),
                member_permissions=None,
                app_permissions=None,
                locale=locale,
            ),
        )
        self.dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    def _stored_message(self, message: Mapping[str, Any] | int) -> dict[str, Any]:
        if isinstance(message, Mapping):
            return dict(message)
        stored = self.fake.message(int(message))
        if stored is None:
            raise ValueError(f"message {message} is not stored in the fake")
        return stored

    def _context_for_message(self, message: Mapping[str, Any], user: Mapping[str, Any] | None, **extra: Any) -> dict[str, Any]:
        channel = self.fake.channels.get(int(message["channel_id"]))
        is_dm = channel is not None and channel.get("type") == 1
        return self._context(
            guild_id=None if is_dm else int(message.get("guild_id") or (channel or {}).get("guild_id") or self.guild_id),
            channel_id=None if is_dm else int(message["channel_id"]),
            user=user,
            dm=is_dm,
            member_roles=extra.get("member_roles", ()),
            member_permissions=extra.get("member_permissions"),
            app_permissions=extra.get("app_permissions"),
            locale=extra.get("locale", "en-US"),
        )

    async def click(
        self,
        custom_id: str,
        message: Mapping[str, Any] | int,
        *,
        user: Mapping[str, Any] | None = None,
        values: Sequence[str] | None = None,
        component_type: int | None = None,
        **extra: Any,
    ) -> int:
        """Press the button ``custom_id`` on ``message`` (a stored dict or its id); returns the interaction id.

        With ``values`` it is a select menu choice (component_type 3 unless given).
        The payload carries the message as the fake stored it, which is what
        discord.py uses to find the view (pitfall 6).
        """
        stored = self._stored_message(message)
        context = self._context_for_message(stored, user, **extra)
        if values is None:
            payload = payloads.button_click(custom_id, stored, **context)
            if component_type is not None:
                payload["data"]["component_type"] = component_type
        else:
            payload = payloads.select_menu(custom_id, values, stored, component_type=component_type or 3, **context)
        self.dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    async def submit_modal(
        self,
        modal: str | RecordedRequest,
        values: Mapping[str, Any],
        *,
        user: Mapping[str, Any] | None = None,
        channel_id: int | None = None,
        **extra: Any,
    ) -> int:
        """Submit a modal with ``{field_custom_id: value}``; returns the interaction id.

        Pass the recorded type-9 callback (``await h.fake.wait_callback(iid)``) to
        reuse the modal's random ``custom_id`` and layout, and to submit from the
        same user, channel and message as the interaction that opened it.
        """
        components = None
        message = None
        opener: dict[str, Any] | None = None
        if isinstance(modal, RecordedRequest):
            data = modal.json["data"]
            custom_id = data["custom_id"]
            components = data.get("components")
            opener = self.interactions.get(int(modal.params["interaction_id"]))
        else:
            custom_id = modal
        if opener is not None:
            message = opener.get("message")
            user = user or opener.get("user") or opener["member"]["user"]
            channel_id = channel_id or int(opener["channel"]["id"])
        dm = False
        if channel_id is not None:
            dm = (self.fake.channels.get(int(channel_id)) or {}).get("type") == 1
        context = self._context(
            guild_id=None,
            channel_id=None if dm else channel_id,
            user=user,
            dm=dm,
            member_roles=extra.get("member_roles", ()),
            member_permissions=extra.get("member_permissions"),
            app_permissions=extra.get("app_permissions"),
            locale=extra.get("locale", "en-US"),
        )
        payload = payloads.modal_submit(custom_id, values, modal_components=components, message=message, **context)
        self.dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    async def context_menu(
        self,
        name: str,
        target_message: Mapping[str, Any] | int,
        *,
        user: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> int:
        """Run the message context-menu command ``name`` on a message; returns the interaction id."""
        target = self._stored_message(target_message)
        kind = discord.AppCommandType.message
        context = self._context_for_message(target, user, **extra)
        command_guild_id = self._command_guild_id(name, kind, context.get("guild_id"), "guild_id" not in context)
        payload = payloads.message_context_menu(
            name,
            target,
            command_id=self._command_id(name, kind, command_guild_id),
            command_guild_id=command_guild_id,
            **context,
        )
        self.dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    async def user_context_menu(
        self,
        name: str,
        target_user: Mapping[str, Any],
        *,
        user: Mapping[str, Any] | None = None,
        guild_id: int | None = None,
        channel_id: int | None = None,
    ) -> int:
        """Run the user context-menu command ``name`` on ``target_user``; returns the interaction id."""
        kind = discord.AppCommandType.user
        command_guild_id = self._command_guild_id(name, kind, guild_id, False)
        payload = payloads.user_context_menu(
            name,
            target_user,
            command_id=self._command_id(name, kind, command_guild_id),
            command_guild_id=command_guild_id,
            **self._context(
                guild_id=guild_id,
                channel_id=channel_id,
                user=user,
                dm=False,
                member_roles=(),
                member_permissions=None,
                app_permissions=None,
                locale="en-US",
            ),
        )
        self.dispatch("INTERACTION_CREATE", payload)
        return int(payload["id"])

    async def send_message(
        self,
        content: str,
        *,
        channel_id: int | None = None,
        author: Mapping[str, Any] | None = None,
        reply_to: Mapping[str, Any] | int | None = None,
        attachments: Sequence[Mapping[str, Any]] = (),
        dm: bool = False,
    ) -> int:
        """A user posts ``content`` (MESSAGE_CREATE), optionally replying to a message; returns its id."""
        sender = dict(author or self.user)
        self.fake.users[int(sender["id"])] = sender
        if dm:
            channel = self.fake.dm_channel_for(sender)
            guild_id = None
        else:
            channel = self.fake.channels.get(int(channel_id or self.channel_id))
            if channel is None:
                raise ValueError(f"channel {channel_id} does not exist in the fake")
            guild_id = int(channel["guild_id"]) if channel.get("guild_id") else None
        referenced = self._stored_message(reply_to) if reply_to is not None else None
        payload = payloads.message_create(
            content,
            author=sender,
            channel_id=int(channel["id"]),
            guild_id=guild_id,
            referenced_message=referenced,
            attachments=attachments,
        )
        self.dispatch("MESSAGE_CREATE", payload)
        return int(payload["id"])

    def attachment(
        self,
        filename: str = "image.png",
        data: bytes = b"\x89PNG\r\n\x1a\nfake",
        *,
        content_type: str | None = "image/png",
        size: int | None = None,
        width: int | None = None,
        height: int | None = None,
    ) -> dict[str, Any]:
        """An attachment whose ``url`` the fake serves, for slash options or messages.

        ``size`` defaults to ``len(data)``; give a larger one to test size limits
        without building big byte strings.
        """
        url = self.fake.add_blob(data, filename, content_type or "application/octet-stream")
        return payloads.attachment(
            filename,
            content_type=content_type,
            size=size if size is not None else len(data),
            url=url,
            width=width,
            height=height,
        )
