"""/status: a member's recent clips, their budget, and where they stand in the queue."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.ext import commands

from bot import texts

if TYPE_CHECKING:
    from bot.client import DreamBot

RECENT_SHOWN = 8


class StatusCog(commands.Cog):
    def __init__(self, bot: DreamBot) -> None:
        self.bot = bot

    @app_commands.command(name="status", description="Your recent clips and budget, or one clip's details")
    @app_commands.guild_only()
    @app_commands.describe(clip="A clip number, for its details")
    async def status(self, interaction: discord.Interaction, clip: int | None = None) -> None:
        assert interaction.guild_id is not None
        if clip is not None:
            # The details quote the prompt, and member text only ever goes into an embed (see bot/texts.py).
            await interaction.response.send_message(embed=await self._one(interaction.guild_id, clip), ephemeral=True)
            return
        await interaction.response.send_message(embed=await self._overview(interaction), ephemeral=True)

    async def _one(self, guild_id: int, clip: int) -> discord.Embed:
        generation = await self.bot.store.get(clip)
        if generation is None or generation.guild_id != guild_id:
            return texts.clip_missing(clip)
        ahead = None
        if generation.is_open:
            ahead = await self.bot.store.queue_position(generation.id)
        return texts.clip_details(generation, ahead=ahead, now=time.time())

    async def _overview(self, interaction: discord.Interaction) -> discord.Embed:
        # The price of a plain clip: what "can afford" is judged by, and the unit of the rough clip counts.
        store, typical = self.bot.store, self.bot.quoter.typical()
        guild_id, user_id = interaction.guild_id, interaction.user.id
        assert guild_id is not None
        budget = await store.member_budget(guild_id, user_id, typical)
        recent = await store.recent(guild_id, user_id=user_id, limit=RECENT_SHOWN)
        pending = [g for g in recent if g.is_open]
        ahead = await store.queue_position(min(g.id for g in pending)) if pending else None
        return texts.status_embed(budget, recent, typical, ahead)


async def setup(bot: DreamBot) -> None:
    await bot.add_cog(StatusCog(bot))
