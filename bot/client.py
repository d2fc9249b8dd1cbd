"""The bot itself: a `commands.Bot` that opens its resources in `setup_hook` and closes them in `close`."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
from typing import Any

import aiohttp
import discord
from discord.ext import commands

from bot.api import VideoAPI
from bot.api.catalog import models_for
from bot.prices import PriceService, load_fallback, load_price_file
from bot.services.dreams import DreamService
from bot.services.moderation import Access, access_of, has_manage_server, holds_role
from bot.services.quotes import Quoter
from bot.services.schedule import PollSchedule
from bot.settings import Settings
from bot.tree import DreamTree
from storage import Store

log = logging.getLogger(__name__)

INITIAL_EXTENSIONS = ("cogs.clips", "cogs.dream", "cogs.status", "cogs.admin")


# Connections to Discord's REST API at once. discord.py's default has no limit, so a burst of
# 1,000 interactions opened 1,000 connections (1,000 TLS handshakes against the real Discord);
# a pool reuses them (bench_interactions at 1,000: ack p99 878 ms -> 560-600 ms, 15 % less CPU).
DISCORD_CONNECTIONS = 64

class DreamBot(commands.Bot):
    settings: Settings
    store: Store
    api: VideoAPI
    prices: PriceService | None
    quoter: Quoter
    dreams: DreamService
    http_session: aiohttp.ClientSession

    def __init__(self, settings: Settings, *, api_base_url: str | None = None, **options: Any) -> None:
        # The bot never joins voice: discord.py's start-up warnings about voice libraries are noise.
        for flag in ("warn_nacl", "warn_dave"):
            if hasattr(discord.VoiceClient, flag):
                setattr(discord.VoiceClient, flag, False)
        intents = discord.Intents.default()
        # Privileged: replies to a clip become its extension prompt. Without it (the developer
        # portal's switch is off) Discord closes the gateway with 4014 unless this is False.
        intents.message_content = settings.message_content_intent
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            tree_cls=DreamTree,
            # Nothing the bot writes pings anyone unless a call says otherwise.
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            **options,
        )
        self.settings = settings
        self._api_base_url = api_base_url
        self._resources = contextlib.AsyncExitStack()
        self._closing: asyncio.Future[None] | None = None

    async def setup_hook(self) -> None:
        base_url = self._api_base_url or self.settings.aimlapi_base_url
        if self.settings.uses_simulator and self._api_base_url is None:
            base_url = await self._start_embedded_simulator()
        self.http_session = aiohttp.ClientSession()
        self._resources.push_async_callback(self.http_session.close)
        self.store = await Store.open(self.settings.database_path)
        self._resources.push_async_callback(self.store.close)
        self.api = VideoAPI(
            self.settings.api_key(),
            base_url=base_url,
            dialect=self.settings.aimlapi_dialect,
            default_model=self.settings.default_model,
            timeout=self.settings.api_timeout_seconds,
            session=self.http_session,
        )
        self.prices = await self._start_prices()
        self.quoter = Quoter(self.settings.aimlapi_dialect, self.settings.default_model, prices=self.prices,
                             flat_cost=self.settings.generation_cost_tokens)
        self.dreams = DreamService(self.store, self.api, self.quoter)
        for extension in INITIAL_EXTENSIONS:
            await self.load_extension(extension)
        await self._sync_commands()
        log.info("dreambot ready to start: dialect %s, database %s", self.api.dialect.name, self.settings.database_path)

    async def _start_prices(self) -> PriceService | None:
        """The unified endpoint's price book: cached, then refreshed from the catalogue now and
        every few hours, the price file standing in while neither has prices."""
        if self.settings.aimlapi_dialect != "unified":
            return None  # the older endpoint families keep their flat price per generation
        prices = PriceService(
            self.store, self.api,
            model_ids=[spec.api_name for spec in models_for("unified")],
            refresh_seconds=self.settings.price_refresh_hours * 3600,
            stale_seconds=self.settings.price_stale_hours * 3600,
            fallback=load_price_file(self.settings.price_file) if self.settings.price_file else load_fallback(),
        )
        await prices.load()
        prices.start()
        self._resources.push_async_callback(prices.stop)
        return prices

    async def _start_embedded_simulator(self) -> str:
        from bot.simulator import SimulatorConfig, run_simulator

        config = SimulatorConfig(time_scale=self.settings.simulator_time_scale)
        _, url = await self._resources.enter_async_context(run_simulator(config))
        log.warning("using the bundled video API simulator at %s: clips are not real and cost nothing", url)
        return url

    async def login(self, token: str) -> None:
        if self.http.connector is discord.utils.MISSING:
            # Made here, inside the running loop, before discord.py opens its session with it.
            self.http.connector = aiohttp.TCPConnector(limit=DISCORD_CONNECTIONS)
        await super().login(token)

    def poll_schedule(self) -> PollSchedule:
        interval = self.settings.poll_interval_seconds
        return PollSchedule(min_interval=interval / 5, max_interval=interval * 3, default_interval=interval,
                            batch=self.api.capabilities.batch_fetch)

    async def moderator_role_id(self, guild_id: int | None) -> int | None:
        if guild_id is None:
            return None
        return (await self.store.guild_settings(guild_id)).moderator_role_id

    async def moderation_context(self, interaction: discord.Interaction) -> tuple[Access, int | None]:
        """The invoker's access and the guild's moderator role (None when it was not needed).

        Discord puts the member's resolved permissions on the interaction (roles, owner,
        Administrator): those decide Manage Server, never the cached roles, which may be
        stale. Manage Server needs no store read before the answer."""
        if interaction.guild_id is None:
            return Access.MEMBER, None
        if has_manage_server(interaction.permissions):
            return Access.MANAGER, None
        role_id = await self.moderator_role_id(interaction.guild_id)
        return access_of(interaction.permissions, interaction.user, role_id), role_id

    async def moderator_access(self, interaction: discord.Interaction) -> Access:
        return (await self.moderation_context(interaction))[0]

    async def interaction_is_moderator(self, interaction: discord.Interaction) -> bool:
        return await self.moderator_access(interaction) >= Access.ROLE_MODERATOR

    async def is_moderator(self, user: discord.abc.User) -> bool:
        """For a message author (no interaction): Manage Server from the cache, or the moderator role."""
        if not isinstance(user, discord.Member):
            return False
        if has_manage_server(user.guild_permissions):
            return True
        return holds_role(user, await self.moderator_role_id(user.guild.id))

    async def _sync_commands(self) -> None:
        """Sync (global by default, so a new server sees the commands on the first start), and only
        when the commands changed since the last sync, so restarts make no sync storm."""
        mode = self.settings.command_sync
        if mode == "off":
            return
        guild = discord.Object(self.settings.dev_guild_id) if mode == "guild" and self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
        key = f"command_sync:{mode}:{guild.id if guild else 'global'}"
        if await self.store.get_meta(key) == digest:
            log.info("application commands unchanged; not syncing")
            return
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as error:
            # The commands synced last time still work; the next start tries again (no digest kept).
            log.warning("could not sync application commands (%s): %s %s", mode, error.status, error.text)
            return
        await self.store.set_meta(key, digest)
        log.info("synced %d application commands (%s)", len(synced), mode)

    async def on_command_error(self, context: commands.Context[Any], error: commands.CommandError) -> None:
        # The bot has no prefix commands; "@dreambot hello" is conversation, not a failure.
        if isinstance(error, commands.CommandNotFound):
            return
        log.error("message command %s failed", context.command, exc_info=error)

    async def close(self) -> None:
        """Close once, however many callers ask (SIGTERM's task, then `async with`'s exit):
        each waits for the same closing, so none returns while the store is half closed
        and `asyncio.run` never cancels a close in the middle."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close_once())
        await asyncio.shield(self._closing)

    async def __aexit__(self, *exc_info: object) -> None:
        # discord.py's own exit waits only for its part of a close already under way (the
        # gateway), not for ours (the store): wait for the whole of it.
        await self.close()

    async def _close_once(self) -> None:
        # Cogs stop the poller first (cog_unload), then the shared resources close.
        for extension in reversed(INITIAL_EXTENSIONS):
            with contextlib.suppress(commands.ExtensionNotLoaded):
                await self.unload_extension(extension)
        await super().close()
        await self._resources.aclose()
