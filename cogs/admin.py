"""/dreamadmin: caps, limits, blocks, channels, reports and the audit log, per guild.

The group has no `default_permissions`: members with the moderator role must be able to
see it without a trip to Server Settings → Integrations. So the bot decides who may run
what (`bot.services.moderation`), refuses ephemerally, and audits every refusal.
"""

from __future__ import annotations

import io
import logging
import time
from typing import TYPE_CHECKING, Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import texts
from bot.prices import PriceStatus, parse_amount
from bot.services import moderation
from bot.services.charts import daily_spend_chart
from bot.tree import send_ephemeral

if TYPE_CHECKING:
    from bot.client import DreamBot

log = logging.getLogger(__name__)

Period = Literal["day", "week", "month", "lifetime"]
Unit = Literal["dollars", "credits"]
AuditShow = Literal["all", "changes", "refusals"]
REPORT_ROWS = 10
GROUP = "dreamadmin"


@app_commands.guild_only()
class AdminCog(commands.GroupCog, group_name=GROUP, group_description="Moderate dreambot in this server"):
    cap = app_commands.Group(name="cap", description="Spending caps")
    channels = app_commands.Group(name="channels", description="Where clips may be made")
    # The tree answers this cog's failures (bot/tree.py) in these words: a change may or may not be saved.
    unexpected_error_text = ("Something went wrong on my side. Please try again; `/dreamadmin audit` shows "
                             "whether a change was saved.")

    def __init__(self, bot: DreamBot) -> None:
        self.bot = bot
        super().__init__()

    @property
    def typical(self) -> int:
        """The price of a plain clip with the default model, in credits: the unit of the rough clip counts."""
        return self.bot.quoter.typical()

    def _prices(self) -> PriceStatus | None:
        """The price book's status, for the moderators' stale-prices warning (None: flat prices)."""
        prices = getattr(self.bot, "prices", None)
        return prices.status() if prices is not None else None

    async def interaction_check(self, interaction: discord.Interaction) -> bool:  # type: ignore[override]
        if interaction.guild_id is None:
            await interaction.response.send_message("These commands work in a server.", ephemeral=True)
            return False
        command = _subcommand(interaction)
        access, role_id = await self.bot.moderation_context(interaction)  # a read: never waits for writers
        target = moderation.target_of(interaction.namespace.member, role_id)
        reason = None if access is moderation.Access.MANAGER else moderation.refusal(
            command, access, interaction.user.id, target)
        if reason is None:
            # Acknowledged before the command writes: a write may wait for another process's
            # lock for longer than Discord's 3 s.
            await interaction.response.defer(ephemeral=True, thinking=True)
            return True
        await self._refuse(interaction, command, reason, target_user_id=target.user_id if target else None)
        return False

    async def _refuse(self, interaction: discord.Interaction, command: str, reason: moderation.Reason, *,
                      target_user_id: int | None = None, role_id: int | None = None) -> None:
        """Tell the member why, then keep the attempt in the audit log (even if Discord lost the answer)."""
        assert interaction.guild_id is not None
        text = texts.moderation_refusal(reason, command, target_user_id=target_user_id, role_id=role_id)
        log.info("refused /%s %s to user %s in guild %s: %s", GROUP, command, interaction.user.id,
                 interaction.guild_id, reason)
        try:
            await send_ephemeral(interaction, text)
        finally:
            await self.bot.store.record_refusal(
                interaction.guild_id, actor_id=interaction.user.id, command=command, reason=reason,
                target_user_id=target_user_id, details={"role_id": role_id} if role_id else None)

    async def _done(self, interaction: discord.Interaction, text: str) -> None:
        await send_ephemeral(interaction, text)

    # Caps ---------------------------------------------------------------------

    @cap.command(name="set", description="Set the server's default cap, or one member's own cap")
    @app_commands.describe(amount="How much may be spent per period, e.g. 10 or 2.50 (dollars) or 5000000 (credits)",
                           unit="dollars (the default) or credits ($1 = 2,000,000 credits)",
                           period="The period the cap resets on (UTC)", member="Only this member (else the default)")
    async def cap_set(self, interaction: discord.Interaction, amount: app_commands.Range[float, 0, None],
                      unit: Unit = "dollars", period: Period = "month", member: discord.Member | None = None) -> None:
        guild_id = interaction.guild_id
        assert guild_id is not None
        try:
            credits = parse_amount(amount, unit)
        except ValueError as error:  # a polite sentence; nothing is changed
            await self._done(interaction, f"{error} The cap was not changed.")
            return
        if member is None:
            await self.bot.store.set_guild_cap(guild_id, credits, period, actor_id=interaction.user.id)
        else:
            await self.bot.store.set_member_cap(guild_id, member.id, credits, period, actor_id=interaction.user.id)
        await self._done(interaction, texts.cap_set_text(member.id if member else None, credits, period, self.typical))

    @cap.command(name="clear", description="Remove a member's own cap (or the server default)")
    async def cap_clear(self, interaction: discord.Interaction, member: discord.Member | None = None) -> None:
        assert interaction.guild_id is not None
        if member is None:
            await self.bot.store.set_guild_cap(interaction.guild_id, None, None, actor_id=interaction.user.id)
            await self._done(interaction, "The server has no default cap now: spending is unlimited unless a member has their own cap.")
        else:
            await self.bot.store.clear_member_cap(interaction.guild_id, member.id, actor_id=interaction.user.id)
            await self._done(interaction, f"{member.mention} now follows the server's default cap.")

    @cap.command(name="show", description="A member's cap, spend this period, remaining budget and running clips")
    async def cap_show(self, interaction: discord.Interaction, member: discord.Member) -> None:
        assert interaction.guild_id is not None
        typical = self.typical
        budget = await self.bot.store.member_budget(interaction.guild_id, member.id, typical)
        await self._done(interaction, texts.cap_show_text(member.display_name, budget, typical,
                                                          prices=self._prices()))

    # Limits and blocks ---------------------------------------------------------------

    @app_commands.command(name="limits", description="Clips running at once per member and per server, and a cooldown")
    @app_commands.describe(per_member="Clips one member may have running at once",
                           per_server="Clips the whole server may have running at once (0 = no limit)",
                           cooldown_seconds="Seconds a member must wait between requests")
    async def limits(self, interaction: discord.Interaction,
                     per_member: app_commands.Range[int, 1, 100] | None = None,
                     per_server: app_commands.Range[int, 0, 10_000] | None = None,
                     cooldown_seconds: app_commands.Range[int, 0, 86_400] | None = None) -> None:
        guild_id, actor = interaction.guild_id, interaction.user.id
        assert guild_id is not None
        store = self.bot.store
        if per_member is not None or per_server is not None:
            current = await store.guild_settings(guild_id)
            await store.set_guild_running_limits(
                guild_id,
                member_limit=per_member if per_member is not None else current.member_running_limit,
                guild_limit=(per_server or None) if per_server is not None else current.guild_running_limit,
                actor_id=actor,
            )
        if cooldown_seconds is not None:
            await store.set_cooldown(guild_id, cooldown_seconds, actor_id=actor)
        settings = await store.guild_settings(guild_id)
        await self._done(interaction, texts.limits_text(settings))

    @app_commands.command(name="block", description="Stop a member from making clips (their running clips finish)")
    async def block(self, interaction: discord.Interaction, member: discord.Member) -> None:
        assert interaction.guild_id is not None
        await self.bot.store.set_blocked(interaction.guild_id, member.id, True, actor_id=interaction.user.id)
        await self._done(interaction, f"{member.mention} is blocked from making clips. Their running clips will finish.")

    @app_commands.command(name="unblock", description="Let a blocked member make clips again")
    async def unblock(self, interaction: discord.Interaction, member: discord.Member) -> None:
        assert interaction.guild_id is not None
        await self.bot.store.set_blocked(interaction.guild_id, member.id, False, actor_id=interaction.user.id)
        await self._done(interaction, f"{member.mention} may make clips again.")

    @app_commands.command(name="role", description="Name a role whose members may moderate others (none to clear)")
    @app_commands.describe(role="Its members may set other members' caps, block them and read the reports")
    async def role(self, interaction: discord.Interaction, role: discord.Role | None = None) -> None:
        assert interaction.guild_id is not None
        if role is not None and (reason := moderation.role_refusal(role)) is not None:
            await self._refuse(interaction, "role", reason, role_id=role.id)
            return
        await self.bot.store.set_moderator_role(interaction.guild_id, role.id if role else None, actor_id=interaction.user.id)
        await self._done(interaction, f"Moderator role: {role.mention}." if role else "No moderator role: Manage Server only.")

    # Channels -----------------------------------------------------------------------

    @channels.command(name="allow", description="Allow clips in this channel (once any is allowed, only those are)")
    async def channels_allow(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        assert interaction.guild_id is not None
        await self.bot.store.allow_channel(interaction.guild_id, channel.id, actor_id=interaction.user.id)
        await self._done(interaction, await self._channels_text(interaction.guild_id))

    @channels.command(name="remove", description="Stop allowing clips in this channel")
    async def channels_remove(self, interaction: discord.Interaction, channel: discord.TextChannel) -> None:
        assert interaction.guild_id is not None
        await self.bot.store.disallow_channel(interaction.guild_id, channel.id, actor_id=interaction.user.id)
        await self._done(interaction, await self._channels_text(interaction.guild_id))

    @channels.command(name="everywhere", description="Allow clips in every channel again")
    async def channels_everywhere(self, interaction: discord.Interaction) -> None:
        assert interaction.guild_id is not None
        await self.bot.store.set_allowed_channels(interaction.guild_id, [], actor_id=interaction.user.id)
        await self._done(interaction, await self._channels_text(interaction.guild_id))

    async def _channels_text(self, guild_id: int) -> str:
        settings = await self.bot.store.guild_settings(guild_id)
        return texts.channels_text(sorted(settings.allowed_channel_ids))

    # Reports --------------------------------------------------------------------------

    @app_commands.command(name="report",
                          description="Top spenders and the books (members vs the video service), with a 30-day chart")
    async def report(self, interaction: discord.Interaction, period: Period = "month") -> None:
        guild_id = interaction.guild_id
        assert guild_id is not None
        store = self.bot.store
        now = time.time()
        since = texts.period_start(period, now)
        this_period = await store.top_spenders(guild_id, since=since, limit=REPORT_ROWS)
        total = await store.top_spenders(guild_id, since=None, limit=REPORT_ROWS)
        books_total = await store.provider_totals(guild_id, since=None)
        books_period = books_total if since is None else await store.provider_totals(guild_id, since=since)
        embed = texts.report_embed(period, this_period, total, books_period, books_total,
                                   prices=self._prices(), image="attachment://spend.png")
        days = await store.daily_spend(guild_id, days=30, now=now)
        png = daily_spend_chart(days)
        await interaction.followup.send(embed=embed, file=discord.File(io.BytesIO(png), "spend.png"), ephemeral=True)

    @app_commands.command(name="history", description="A member's recent clips and what each cost")
    async def history(self, interaction: discord.Interaction, member: discord.Member) -> None:
        assert interaction.guild_id is not None
        rows = await self.bot.store.member_history(interaction.guild_id, member.id, limit=15)
        await self._done(interaction, texts.history_message(member.display_name, rows))

    @app_commands.command(name="undelivered", description="Finished clips that could not be posted, and why")
    @app_commands.describe(retry="A clip number to try posting again")
    async def undelivered(self, interaction: discord.Interaction, retry: int | None = None) -> None:
        guild_id = interaction.guild_id
        assert guild_id is not None
        store = self.bot.store
        if retry is not None:
            generation = await store.get(retry)
            if generation is None or generation.guild_id != guild_id or generation.undeliverable_at is None:
                await self._done(interaction, f"Clip #{retry} is not waiting for delivery in this server.")
                return
            await store.retry_delivery(retry)
            clips = self.bot.get_cog("ClipsCog")
            if clips is not None:
                clips.poller.posts.submit(retry)  # type: ignore[attr-defined]
            log.info("user %s asked to post undeliverable clip %s again (guild %s)", interaction.user.id, retry,
                     guild_id)
            await self._done(interaction, f"Clip #{retry} will be posted again now.")
            return
        await self._done(interaction, texts.undelivered_text(await store.undeliverable(guild_id)))

    @app_commands.command(name="audit", description="Recent moderator changes and refused attempts in this server")
    @app_commands.describe(limit="How many entries", show="Changes, refused attempts, or both")
    async def audit(self, interaction: discord.Interaction, limit: app_commands.Range[int, 1, 50] = 20,
                    show: AuditShow = "all") -> None:
        assert interaction.guild_id is not None
        refusals = {"all": None, "changes": False, "refusals": True}[show]
        rows = await self.bot.store.audit_log(interaction.guild_id, limit=limit, refusals=refusals)
        empty = "No refused attempts yet." if refusals else "No moderator changes yet."
        await self._done(interaction, texts.audit_text(rows, empty=empty))


def _subcommand(interaction: discord.Interaction) -> str:
    """`cap set` for `/dreamadmin cap set`: the policy's name for the command."""
    name = interaction.command.qualified_name if interaction.command else ""
    return name.removeprefix(GROUP).strip()


async def setup(bot: DreamBot) -> None:
    await bot.add_cog(AdminCog(bot))
