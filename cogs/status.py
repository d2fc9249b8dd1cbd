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
            details = discord.Embed(description=await self._one(interaction.guild_id, clip), colour=discord.Colour.blurple())
            await interaction.response.send_message(embed=details, ephemeral=True)
            return
        await interaction.response.send_message(embed=await self._overview(interaction), ephemeral=True)

    async def _one(self, guild_id: int, clip: int) -> str:
        generation = await self.bot.store.get(clip)
        if generation is None or generation.guild_id != guild_id:
            return f"I can't find clip #{clip} in this server."
        cost = self.bot.settings.generation_cost_tokens
        lines = [f"**Clip #{generation.id}** by <@{generation.user_id}>: {texts.STATE_LABELS.get(generation.status, generation.status)}",
                 f"Prompt: {texts.shown_prompt(generation.prompt, 300)}",
                 f"Options: {texts.options_line(generation)}"]
        if generation.parent_id:
            lines.append(f"{texts.KIND_LABELS.get(generation.kind, generation.kind)} from clip #{generation.parent_id}")
        if generation.video_url:
            lines.append(f"Video: {generation.video_url}")
        if generation.failure_reason:
            lines.append(f"Why it failed: {discord.utils.escape_markdown(generation.failure_reason[:300])}")
        if generation.status in ("requested", "submitted", "running"):
            lines.append(f"Jobs ahead of it: {await self.bot.store.queue_position(generation.id)}")
            lines.append(f"Elapsed: {texts.elapsed(time.time() - generation.requested_at)}")
        charged = generation.tokens_charged
        if charged:
            lines.append(f"Cost: {texts.tokens(charged, cost)}")
        elif generation.status == "failed":
            lines.append(f"Cost: nothing ({texts.tokens(generation.tokens_reserved, cost)} refunded)")
        else:
            lines.append(f"Reserved: {texts.tokens(generation.tokens_reserved, cost)}")
        return "\n".join(lines)

    async def _overview(self, interaction: discord.Interaction) -> discord.Embed:
        store, cost = self.bot.store, self.bot.settings.generation_cost_tokens
        guild_id, user_id = interaction.guild_id, interaction.user.id
        assert guild_id is not None
        budget = await store.member_budget(guild_id, user_id, cost)
        embed = discord.Embed(title="Your clips", colour=discord.Colour.blurple())
        embed.add_field(name="Budget", value=texts.budget_text(budget, cost), inline=False)
        recent = await store.recent(guild_id, user_id=user_id, limit=RECENT_SHOWN)
        lines = []
        for generation in recent:
            state = texts.STATE_LABELS.get(generation.status, generation.status)
            link = f" · [video]({generation.video_url})" if generation.video_url else ""
            lines.append(f"#{generation.id} {state}{link} · {texts.shown_prompt(generation.prompt, 60)}")
        embed.add_field(name="Recent", value="\n".join(lines) or "No clips yet: try /dream.", inline=False)
        pending = [g for g in recent if g.status in ("requested", "submitted", "running")]
        if pending:
            ahead = await store.queue_position(min(g.id for g in pending))
            embed.add_field(name="Queue", value=f"{len(pending)} of yours in progress; {ahead} job(s) ahead of them.")
        return embed


async def setup(bot: DreamBot) -> None:
    await bot.add_cog(StatusCog(bot))
