"""Shared moves for the /dreamadmin tests: a moderator's command, a member's /dream, waiting for a clip."""

from __future__ import annotations

import asyncio
import json
import re
import time
from typing import Any, Mapping, Sequence

import discord
from discord import app_commands

from bot.api.catalog import models_for
from bot.prices import FALLBACK_PRICE_FILE, CatalogueAnswer, PriceService, load_fallback
from bot.simulator import SimulatorConfig
from storage import AuditEntry
from tests.harness import payloads
from tests.harness.fake_discord import RecordedRequest
from tests.world import API_KEY, TIME_SCALE, World

EPHEMERAL = 64
# What a plain /dream costs in the test world: the default ray-2 clip, 1080p for 5 s at $0.45 a second.
COST = 4_500_000
MANAGE_GUILD = discord.Permissions(manage_guild=True)
MOD = payloads.DEFAULT_MEMBER_PERMISSIONS | MANAGE_GUILD
PLAIN = payloads.DEFAULT_MEMBER_PERMISSIONS


def slow_sim() -> SimulatorConfig:
    """Clips that stay running until the test finishes them (`w.sim.finish_now`)."""
    return SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, run_seconds=200_000)


def person(name: str) -> dict[str, Any]:
    return payloads.user(username=name)


def number(value: int | float) -> payloads.Option:
    """A NUMBER option (type 10) as Discord sends it: `10` stays an int in the JSON."""
    return payloads.Option(10, value)


# Prices ----------------------------------------------------------------------------------

class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class MemoryMeta:
    """The price service's cache, kept apart from the bot's database."""

    def __init__(self) -> None:
        self.meta: dict[str, str] = {}

    async def get_meta(self, key: str) -> str | None:
        return self.meta.get(key)

    async def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value


class Catalogue:
    """A catalogue the test controls: the bundled prices, or a failure."""

    def __init__(self) -> None:
        self.failing = False

    async def models_catalogue(self, ids: Sequence[str], etag: str | None) -> CatalogueAnswer:
        if self.failing:
            raise ConnectionError("the catalogue is unreachable")
        data = json.loads(FALLBACK_PRICE_FILE.read_text(encoding="utf-8"))["data"]
        return CatalogueAnswer(200, '"prices-1"', [item for item in data if item["id"] in ids])


UNIFIED_MODELS = [spec.api_name for spec in models_for("unified")]
STALE_SECONDS = 24 * 3600.0


async def use_prices(w: World, state: str) -> PriceService:
    """Give the bot a price service in `state`: "fresh" (just read from the catalogue), "cached" (a restart
    that could not reach the catalogue for two days and quotes from the cache) or "file" (never reached it:
    the bundled price file). Returns it; `status().checked_at` is when the catalogue last answered."""
    clock, meta = Clock(time.time() - (2 * STALE_SECONDS if state == "cached" else 0)), MemoryMeta()
    catalogue = Catalogue()
    service = PriceService(meta, catalogue, model_ids=UNIFIED_MODELS, stale_seconds=STALE_SECONDS,
                           fallback=load_fallback(), clock=clock)
    if state in ("fresh", "cached"):
        assert await service.refresh()
    if state == "cached":  # a new process on the same cache, two days later, offline
        clock.now += 2 * STALE_SECONDS
        catalogue.failing = True
        service = PriceService(meta, catalogue, model_ids=UNIFIED_MODELS, stale_seconds=STALE_SECONDS,
                               fallback=load_fallback(), clock=clock)
        await service.load()
    elif state == "file":
        catalogue.failing = True
        await service.load()
    expected = {"fresh": ("catalogue", False), "cached": ("cache", True), "file": ("file", True)}[state]
    assert (service.status().source, service.status().stale) == expected, service.status()
    w.bot.prices = service
    return service


async def answer(w: World, iid: int) -> RecordedRequest:
    """What the invoker saw: the callback message, or the followup after a defer."""
    callback = await w.fake.wait_callback(iid)
    if callback.json["type"] == 5:
        return await w.fake.wait_followup(iid)
    return callback


def text_of(request: RecordedRequest) -> str:
    body = request.json.get("data", request.json)
    return body.get("content") or ""


def is_ephemeral(request: RecordedRequest) -> bool:
    body = request.json.get("data", request.json)
    return bool((body.get("flags") or 0) & EPHEMERAL)


async def admin(w: World, sub: str, options: Mapping[str, Any] | None = None, *, user: Mapping[str, Any] | None = None,
                perms: payloads.PermissionsLike = MOD, guild_id: int | None = None, roles=()) -> RecordedRequest:
    """`/dreamadmin <sub> ...` as a moderator (unless told otherwise); returns the ephemeral answer."""
    iid = await w.h.slash("dreamadmin", dict(options or {}), subcommand=sub, user=user, member_permissions=perms,
                          guild_id=guild_id, member_roles=roles)
    said = await answer(w, iid)
    assert is_ephemeral(said), said.json
    return said


async def admin_text(w: World, sub: str, options: Mapping[str, Any] | None = None, **kw: Any) -> str:
    return text_of(await admin(w, sub, options, **kw))


async def dream(w: World, user: Mapping[str, Any], prompt: str = "a quiet lake at dawn", *,
                channel_id: int | None = None, guild_id: int | None = None) -> str:
    """A member's /dream; returns the ephemeral text they saw (accepted or refused)."""
    iid = await w.h.slash("dream", {"prompt": prompt}, user=user, channel_id=channel_id, guild_id=guild_id)
    said = await answer(w, iid)
    assert is_ephemeral(said), said.json
    return text_of(said)


def clip_id(accepted: str) -> int:
    match = re.search(r"Clip #(\d+) is on its way", accepted)
    assert match, f"not accepted: {accepted!r}"
    return int(match.group(1))


async def posted(w: World, generation_id: int, channel_id: int | None = None) -> dict[str, Any]:
    """Wait for the clip's result post (✅ or ❌) in its channel."""
    channel = channel_id or w.h.channel_id
    marker = f"Clip #{generation_id} for"
    return await w.fake.wait_message(channel, lambda m: marker in (m.get("content") or "")
                                     and ("✅" in m["content"] or "❌" in m["content"]))


async def finish(w: World, generation_id: int, *, failed: bool = False, channel_id: int | None = None) -> dict[str, Any]:
    generation = await w.store.get(generation_id)
    assert generation is not None and generation.api_id
    w.sim.finish_now(generation.api_id, failed=failed)
    return await posted(w, generation_id, channel_id)


async def generation_count(w: World, guild_id: int | None = None) -> int:
    return len(await w.store.recent(guild_id or w.h.guild_id, limit=1000))


async def add_role(w: World, name: str, *, guild_id: int | None = None,
                   permissions: payloads.PermissionsLike = 0) -> dict[str, Any]:
    """A role that exists in the guild (as GUILD_ROLE_CREATE tells the bot)."""
    guild = guild_id or w.h.guild_id
    role = payloads.role(payloads.ids.next(), name, permissions=permissions, position=2)
    w.h.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(guild), "role": role})
    return role


async def admin_role(w: World, role: Mapping[str, Any] | None, *, perms=MOD) -> RecordedRequest:
    """`/dreamadmin role [role]`: a role option carries its object in data.resolved.roles."""
    iid = await w.h.slash("dreamadmin", {} if role is None else {"role": role}, subcommand="role",
                          member_permissions=perms)
    return await answer(w, iid)


async def audit_count(w: World, guild_id: int | None = None) -> int:
    return len(await w.store.audit_log(guild_id or w.h.guild_id, limit=10**6))


async def refusal_row(w: World, before: int, *, check_failure: bool = True, guild_id: int | None = None,
                      timeout: float = 5.0) -> AuditEntry:
    """The refused attempt's audit row. The bot answers first (the 3-second window) and writes the row
    after, so wait for it; a refusal in the group's check also ends in one CheckFailure."""
    guild = guild_id or w.h.guild_id
    deadline = asyncio.get_running_loop().time() + timeout
    while await audit_count(w, guild) <= before:
        assert asyncio.get_running_loop().time() < deadline, "the refusal left no audit row"
        await asyncio.sleep(0.01)
    if check_failure:
        await w.h.wait_error(lambda e: isinstance(e.error, app_commands.CheckFailure), timeout=timeout)
        assert take_check_failures(w) == 1
    entry = (await w.store.audit_log(guild, limit=1))[0]
    assert entry.action == "refused", entry
    return entry


def take_check_failures(w: World) -> int:
    """The refused /dreamadmin calls surface as CheckFailure in the tree; anything else is a real error."""
    errors = w.h.take_errors()
    unexpected = [e for e in errors if not isinstance(e.error, app_commands.CheckFailure)]
    assert not unexpected, "\n".join(e.format() for e in unexpected)
    return len(errors)
