"""Every sentence and embed the bot shows, as pure functions of the stored rows.

Text a member typed (prompts) only ever goes into embeds, escaped and cut short, so it
can neither ping anyone nor break the layout.
"""

from __future__ import annotations

import math
import time
from typing import Any, Sequence

import discord

from storage import (
    AuditEntry,
    Generation,
    GuildSettings,
    HistoryEntry,
    MemberBudget,
    Period,
    RefusalReason,
    ReserveRefused,
    Spender,
)
from storage.clock import period_bounds

PROMPT_SHOWN_CHARS = 900
COLOUR_RUNNING = discord.Colour.blurple()
COLOUR_DONE = discord.Colour.green()
COLOUR_FAILED = discord.Colour.red()

KIND_LABELS = {
    "dream": "Dream",
    "extend_forward": "Extended forward",
    "extend_backward": "Extended backward",
    "reroll": "Re-roll",
    "image_to_video": "Image to video",
}
STATE_LABELS = {
    "requested": "⏳ sending to the video service",
    "submitted": "⏳ queued",
    "queued": "⏳ queued",
    "running": "🌙 dreaming",
    "completed": "✅ done",
    "failed": "❌ failed",
}


def tokens(amount: int, cost: int) -> str:
    """`1,000,000 tokens (2 clips)`: both units, with thousands separators."""
    clips = amount / cost if cost else 0
    clip_text = f"{clips:,.0f}" if clips == int(clips) else f"{clips:,.1f}"
    return f"{amount:,} tokens ({clip_text} clip{'' if clip_text == '1' else 's'})"


def shown_prompt(prompt: str, limit: int = PROMPT_SHOWN_CHARS) -> str:
    """A prompt made safe for an embed: markdown escaped, cut at a sane length."""
    text = prompt if len(prompt) <= limit else prompt[: limit - 1] + "…"
    return discord.utils.escape_markdown(text)


def elapsed(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def options_line(generation: Generation) -> str:
    parts = [generation.model or "default model"]
    options: dict[str, Any] = generation.options or {}
    for key in ("aspect_ratio", "resolution"):
        if options.get(key):
            parts.append(str(options[key]))
    if options.get("duration"):
        parts.append(f"{options['duration']}s")
    if options.get("loop"):
        parts.append("loop")
    if options.get("start_image_url"):
        parts.append("start image")
    if options.get("end_image_url"):
        parts.append("end image")
    return " · ".join(parts)


def footer(generation: Generation) -> str:
    # The marker lets a restarted bot find a result it posted but did not get to record.
    return f"dreambot clip #{generation.id}"


def status_footer(generation: Generation) -> str:
    return f"dreambot clip #{generation.id} · status"


def _embed(generation: Generation, colour: discord.Colour, status: bool = False) -> discord.Embed:
    embed = discord.Embed(description=shown_prompt(generation.prompt), colour=colour)
    embed.add_field(name="Options", value=options_line(generation), inline=False)
    if generation.parent_id:
        embed.add_field(name=KIND_LABELS.get(generation.kind, generation.kind), value=f"from clip #{generation.parent_id}")
    embed.set_footer(text=status_footer(generation) if status else footer(generation))
    return embed


def status_message(generation: Generation, state: str, now: float | None = None) -> tuple[str, discord.Embed]:
    """The public message shown while a clip is being made."""
    now = time.time() if now is None else now
    label = STATE_LABELS.get(state, state)
    started = generation.submitted_at or generation.requested_at
    content = f"🎬 <@{generation.user_id}> asked for clip #{generation.id}: {label}"
    if state in ("submitted", "queued", "running") and started:
        content += f" ({elapsed(now - started)} elapsed)"
    return content, _embed(generation, COLOUR_RUNNING, status=True)


def finished_status(generation: Generation) -> tuple[str, discord.Embed]:
    label = STATE_LABELS["completed" if generation.status == "completed" else "failed"]
    colour = COLOUR_DONE if generation.status == "completed" else COLOUR_FAILED
    return f"🎬 <@{generation.user_id}> asked for clip #{generation.id}: {label}", _embed(generation, colour, status=True)


def result_message(generation: Generation, cost: int) -> tuple[str, discord.Embed]:
    """The post of a finished clip: the link first, so Discord shows its player."""
    if generation.status == "completed":
        charged = generation.tokens_charged or generation.tokens_reserved
        content = f"{generation.video_url}\n✅ Clip #{generation.id} for <@{generation.user_id}> is ready."
        embed = _embed(generation, COLOUR_DONE)
        embed.add_field(name="Cost", value=tokens(charged, cost))
        return content, embed
    content = f"❌ Clip #{generation.id} for <@{generation.user_id}> could not be made."
    embed = _embed(generation, COLOUR_FAILED)
    reason = discord.utils.escape_markdown((generation.failure_reason or "unknown reason")[:500])
    embed.add_field(name="Why", value=reason, inline=False)
    embed.add_field(name="Cost", value=f"nothing: {tokens(generation.tokens_reserved, cost)} refunded")
    return content, embed


def abandoned_message(generation: Generation, cost: int) -> str:
    return (f"❌ Clip #{generation.id} for <@{generation.user_id}> was not made: the bot restarted before it reached "
            f"the video service. {tokens(generation.tokens_reserved, cost)} refunded.")


def accepted_text(generation: Generation, cost: int) -> str:
    return (f"Clip #{generation.id} is on its way: {tokens(generation.tokens_reserved, cost)} reserved. "
            f"I'll post it in this channel when it is ready; failed clips are refunded.")


# Budgets, refusals and moderators' reports ------------------------------------------------

PERIOD_ADJECTIVES = {"day": "daily", "week": "weekly", "month": "monthly", "lifetime": "lifetime"}
PERIOD_SPENT = {"day": "today", "week": "this week", "month": "this month", "lifetime": "in total"}


def when(seconds: float | None) -> str:
    """`in 3 h 20 min`, for the time until a cooldown or period ends. Rounded up, so a member
    who waits as long as they are told is never refused again."""
    if seconds is None:
        return "never (lifetime cap)"
    seconds = math.ceil(max(0.0, seconds))
    if seconds < 60:
        return f"in {seconds} s"
    hours, minutes = divmod(math.ceil(seconds / 60), 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d" if days else "", f"{hours} h" if hours else "", f"{minutes} min" if minutes and not days else ""]
    return "in " + " ".join(p for p in parts if p)


def _clips(count: int) -> str:
    return f"{count:,} clip{'' if count == 1 else 's'}"


def refusal(error: ReserveRefused, cost: int) -> str:
    """Why a request was refused, with the numbers the member needs. Nothing was charged."""
    reason = RefusalReason(error.reason)
    if reason is RefusalReason.BLOCKED:
        return "You can't make clips in this server right now. Please ask a moderator if you think this is a mistake."
    if reason is RefusalReason.OVER_CAP:
        remaining = error.remaining or 0
        period = str(error.period)
        resets = ("This cap does not reset." if period == "lifetime" or error.retry_after_seconds is None
                  else f"Your budget resets {when(error.retry_after_seconds)}.")
        return (f"That would go over your {PERIOD_ADJECTIVES.get(period, period)} cap of {tokens(error.cap or 0, cost)}: "
                f"you have spent {tokens(error.spent, cost)} and have {tokens(remaining, cost)} left, and a clip costs "
                f"{tokens(error.cost, cost)}. {resets} Nothing was charged.")
    if reason is RefusalReason.MEMBER_RUNNING_LIMIT:
        return (f"You already have {_clips(error.running)} in progress (the limit is {error.limit}). "
                "Please wait for one to finish. Nothing was charged.")
    if reason is RefusalReason.GUILD_RUNNING_LIMIT:
        return (f"This server already has {_clips(error.running)} in progress (the limit is {error.limit}). "
                "Please try again in a little while. Nothing was charged.")
    return f"Please wait a moment between requests: you can ask again {when(error.retry_after_seconds)}. Nothing was charged."


def budget_text(budget: MemberBudget, cost: int) -> str:
    period = str(budget.period)
    spent_when = PERIOD_SPENT.get(period, f"this {period}")
    if budget.cap is None:
        cap_line = f"No cap. Spent {spent_when}: {tokens(budget.spent, cost)}."
    else:
        cap_line = (f"Spent {spent_when}: {tokens(budget.spent, cost)} of {tokens(budget.cap, cost)} "
                    f"({'own cap' if budget.cap_is_override else 'server default'}); "
                    f"left: {tokens(budget.remaining or 0, cost)}.")
        if budget.period_resets_at is not None:
            cap_line += f" Resets {when(budget.period_resets_at - budget.checked_at)}."
    lines = [cap_line, f"In progress: {budget.running} of {budget.running_limit} at once."]
    if budget.blocked:
        lines.append("Blocked from making clips.")
    return "\n".join(lines)


def limits_text(settings: GuildSettings) -> str:
    guild_limit = settings.guild_running_limit if settings.guild_running_limit is not None else "no limit"
    return (f"Clips running at once: {settings.member_running_limit} per member, {guild_limit} for the server. "
            f"Cooldown between requests: {settings.cooldown_seconds} s.")


def period_start(period: str, now: float) -> float | None:
    start, _ = period_bounds(Period(period), now)
    return start


EMBED_FIELD_CHARS = 1024


def _fit(lines: Sequence[str], limit: int, more: str = "… and {n} more") -> str:
    """Whole lines, as many as fit in `limit` characters, with a note of how many were left out."""
    kept: list[str] = []
    for index, line in enumerate(lines):
        rest = len(lines) - index - 1
        note = ("\n" + more.format(n=rest)) if rest else ""
        if len("\n".join([*kept, line])) + len(note) > limit:
            break
        kept.append(line)
    left_out = len(lines) - len(kept)
    if left_out:
        kept.append(more.format(n=left_out))
    return "\n".join(kept)


def spenders_text(spenders: Sequence[Spender], cost: int, limit: int = EMBED_FIELD_CHARS) -> str:
    """One line per member; fits an embed field (1,024 characters) by leaving the smallest spenders out."""
    if not spenders:
        return "Nobody has spent anything."
    return _fit([
        f"{rank}. <@{s.user_id}>: {tokens(s.spent, cost)}; {s.clips:,} requested, {s.completed:,} done, "
        f"{s.failed:,} failed, {s.refunded:,} tokens refunded"
        for rank, s in enumerate(spenders, 1)
    ], limit)


def history_text(entries: Sequence[HistoryEntry], cost: int, limit: int = 1900) -> str:
    if not entries:
        return "No clips yet."
    lines = []
    for entry in entries:
        g = entry.generation
        refunded = f" ({entry.refunded:,} tokens refunded)" if entry.refunded else ""
        lines.append(f"#{g.id} {STATE_LABELS.get(g.status, g.status)} · {tokens(entry.spent, cost)}{refunded}"
                     f" · {shown_prompt(g.prompt, 50)}")
    return _fit(lines, limit, "… and {n} older")


def _cap_phrase(cap: Any, period: Any, cost: int) -> str:
    if cap is None:
        return "no cap (unlimited)"
    if period is None:
        return f"{tokens(int(cap), cost)} per the server's period"
    return f"{tokens(int(cap), cost)} " + ("in total" if str(period) == "lifetime" else f"per {period}")


def _was(previous: Any, phrase: str) -> str:
    return f" (was {phrase})" if previous is not None else ""


def audit_line(entry: AuditEntry, cost: int) -> str:
    """One moderator change in words: when, who, what (and what it was before)."""
    d: dict[str, Any] = entry.details or {}
    target = f"<@{entry.target_user_id}>" if entry.target_user_id else "a member"
    previous = d.get("previous")
    action = entry.action
    if action == "set_guild_cap":
        before = previous if isinstance(previous, dict) else {}
        what = (f"set the default cap to {_cap_phrase(d.get('cap_tokens'), d.get('period'), cost)}"
                f"{_was(before.get('cap_tokens'), _cap_phrase(before.get('cap_tokens'), before.get('period'), cost))}")
    elif action == "set_member_cap":
        before = previous if isinstance(previous, dict) else {}
        was = (_was(True, _cap_phrase(before.get("cap_tokens"), before.get("period"), cost))
               if before.get("override") else " (was the server default)")
        what = f"set {target}'s cap to {_cap_phrase(d.get('cap_tokens'), d.get('period'), cost)}{was}"
    elif action == "clear_member_cap":
        what = f"cleared {target}'s own cap (back to the server default)"
    elif action == "set_member_running_limit":
        limit = d.get("limit")
        what = (f"set {target}'s limit to {limit:,} clips at once" if isinstance(limit, int)
                else f"put {target} back on the server's running limit")
    elif action == "set_guild_running_limits":
        guild_limit = d.get("guild_limit")
        what = (f"set clips running at once to {d.get('member_limit')} per member, "
                f"{'no limit' if guild_limit is None else guild_limit} for the server")
    elif action == "set_cooldown":
        what = f"set the cooldown to {d.get('seconds', 0):,} s{_was(previous, f'{previous} s')}"
    elif action == "block":
        what = f"blocked {target}"
    elif action == "unblock":
        what = f"unblocked {target}"
    elif action == "set_allowed_channels":
        channels = d.get("channel_ids") or []
        what = ("allowed clips in every channel" if not channels
                else "allowed clips only in " + ", ".join(f"<#{c}>" for c in channels))
    elif action == "allow_channel":
        what = f"allowed clips in <#{d.get('channel_id')}>"
    elif action == "disallow_channel":
        what = f"stopped allowing clips in <#{d.get('channel_id')}>"
    elif action == "set_moderator_role":
        role = d.get("role_id")
        what = f"set the moderator role to <@&{role}>" if role else "removed the moderator role"
    elif action == "refused":
        on = f" for {target}" if entry.target_user_id else ""
        what = f"was refused `/dreamadmin {d.get('command', '?')}`{on}: {_refused_why(d)}"
    else:
        details = ", ".join(f"{k}={v}" for k, v in d.items())
        what = f"{action} {target if entry.target_user_id else ''}{f' ({details})' if details else ''}".strip()
    return f"<t:{int(entry.created_at)}:f> <@{entry.actor_id}> {what}"


# Why a /dreamadmin call was refused (moderation.Reason values), as the audit log says it.
REFUSED_WHY = {
    "not_moderator": "not a moderator",
    "needs_manage_server": "needs Manage Server",
    "own_account": "their own account",
    "moderator_target": "that member is a moderator",
    "everyone_role": "`@everyone` can't be the moderator role",
    "managed_role": "a role managed by an integration",
}


def _refused_why(details: dict[str, Any]) -> str:
    reason = str(details.get("reason", ""))
    why = REFUSED_WHY.get(reason, reason or "refused")
    role = details.get("role_id")
    return f"{why} (<@&{role}>)" if reason == "managed_role" and role else why


# What only Manage Server may change, by subcommand, for the refusal a role moderator sees.
MANAGER_ONLY_WHAT = {
    "cap set": "change the server's default cap",
    "cap clear": "change the server's default cap",
    "limits": "change the running limits and the cooldown",
    "role": "choose the moderator role",
}


def moderation_refusal(reason: str, command: str, *, target_user_id: int | None = None,
                       role_id: int | None = None) -> str:
    """What a member sees when a /dreamadmin call is refused (ephemeral; pings nobody)."""
    if reason == "not_moderator":
        return "Only moderators (Manage Server, or the dreambot moderator role) can use this."
    if reason == "needs_manage_server":
        what = MANAGER_ONLY_WHAT.get(command, f"use `/dreamadmin {command}`")
        return (f"Only members with Manage Server can {what}: it applies to moderators too. "
                "The moderator role covers other members' caps and blocks, the channels, and the reports.")
    if reason == "own_account":
        return ("The moderator role can't change your own cap or block. "
                "Ask someone with Manage Server; the attempt is in the audit log.")
    if reason == "moderator_target":
        return (f"<@{target_user_id}> is a moderator too. Only members with Manage Server can change a "
                "moderator's cap or block.")
    if reason == "everyone_role":
        return "`@everyone` can't be the moderator role: every member would become a moderator."
    if reason == "managed_role":
        return (f"<@&{role_id}> is managed by an integration (a bot's own role, the Server Booster role or a "
                "linked service), so members get it without an admin choosing them. Pick a role that admins "
                "hand out.")
    return "That isn't allowed."


def audit_text(entries: Sequence[AuditEntry], cost: int, limit: int = 1900, *,
               empty: str = "No moderator changes yet.") -> str:
    """Newest first, whole lines only (a Discord message holds 2,000 characters)."""
    if not entries:
        return empty
    return _fit([audit_line(entry, cost) for entry in entries], limit, "… and {n} older entries not shown")
