"""Every sentence and embed the bot shows, as pure functions of the stored rows.

Text a member typed (prompts) goes into embeds, escaped and cut short, so it can neither ping
anyone nor break the layout; the one exception, a moderator's `/dreamadmin history`, also escapes
its mentions. Every text fits Discord's limits by design (see bot/fitting.py): prompts end in "…",
lists show what fits and then "… and N more", links and mentions are never cut in half.
"""

from __future__ import annotations

import math
import time
from typing import Any, Sequence

import discord

from bot import fitting
from bot.fitting import (escape_text, fit_escaped, inline_code, join_within, non_blank, one_line, truncate,
                         truncate_words)
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

PROMPT_SHOWN_CHARS = 900  # of an embed description's 4,096: room for the link of a long video URL
REASON_SHOWN_CHARS = 500
OPTION_CHARS = 100  # one option (model name, aspect ratio...) as shown
LABEL_CHARS = 100  # a state or kind label we did not expect, shown as is
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


def _finite(seconds: float | None) -> float:
    return seconds if seconds is not None and math.isfinite(seconds) else 0.0


def tokens(amount: int, cost: int) -> str:
    """`1,000,000 tokens (2 clips)`: both units, with thousands separators."""
    clips = amount / cost if cost else 0
    clip_text = f"{clips:,.0f}" if clips == int(clips) else f"{clips:,.1f}"
    return f"{amount:,} tokens ({clip_text} clip{'' if clip_text == '1' else 's'})"


def shown_prompt(prompt: str, limit: int = PROMPT_SHOWN_CHARS) -> str:
    """A prompt made safe for an embed: markdown escaped, at most `limit` characters *as shown*.
    Cut before escaping (with "…"), so an escape is never split and markdown never turns back on."""
    return fit_escaped(prompt, limit, discord.utils.escape_markdown)


def _listed_prompt(prompt: str, limit: int) -> str:
    """A prompt on one line of a list in message content: also mentions escaped (content can ping)."""
    return fit_escaped(one_line(prompt), limit, escape_text)


def _label(labels: dict[str, str], key: str) -> str:
    return labels.get(key) or fit_escaped(one_line(str(key)), LABEL_CHARS, escape_text) or "?"


def elapsed(seconds: float) -> str:
    seconds = max(0, int(_finite(seconds)))
    return f"{seconds // 60}:{seconds % 60:02d}"


def options_line(generation: Generation) -> str:
    def shown(value: Any) -> str:
        return truncate(one_line(str(value)), OPTION_CHARS)

    parts = [shown(generation.model) if generation.model else "default model"]
    options: dict[str, Any] = generation.options or {}
    for key in ("aspect_ratio", "resolution"):
        if options.get(key):
            parts.append(shown(options[key]))
    if options.get("duration"):
        parts.append(shown(f"{options['duration']}s"))
    if options.get("loop"):
        parts.append("loop")
    if options.get("start_image_url"):
        parts.append("start image")
    if options.get("end_image_url"):
        parts.append("end image")
    return non_blank(" · ".join(p for p in parts if not fitting.blank(p)), "default model")


def footer(generation: Generation) -> str:
    # The marker lets a restarted bot find a result it posted but did not get to record.
    return f"dreambot clip #{generation.id}"


def status_footer(generation: Generation) -> str:
    return f"dreambot clip #{generation.id} · status"


def _embed(generation: Generation, colour: discord.Colour, status: bool = False) -> discord.Embed:
    """The clip's embed: its prompt, options and parent."""
    embed = discord.Embed(description=non_blank(shown_prompt(generation.prompt), "(no prompt)"), colour=colour)
    embed.add_field(name="Options", value=options_line(generation), inline=False)
    if generation.parent_id:
        embed.add_field(name=_label(KIND_LABELS, generation.kind), value=f"from clip #{generation.parent_id}")
    embed.set_footer(text=status_footer(generation) if status else footer(generation))
    return embed


def status_message(generation: Generation, state: str, now: float | None = None) -> tuple[str, discord.Embed]:
    """The public message shown while a clip is being made."""
    now = time.time() if now is None else now
    label = _label(STATE_LABELS, state)
    started = generation.submitted_at or generation.requested_at
    content = f"🎬 <@{generation.user_id}> asked for clip #{generation.id}: {label}"
    if state in ("submitted", "queued", "running") and started:
        content += f" ({elapsed(_finite(now) - _finite(started))} elapsed)"
    return content, _embed(generation, COLOUR_RUNNING, status=True)


def finished_status(generation: Generation) -> tuple[str, discord.Embed]:
    label = STATE_LABELS["completed" if generation.status == "completed" else "failed"]
    colour = COLOUR_DONE if generation.status == "completed" else COLOUR_FAILED
    return f"🎬 <@{generation.user_id}> asked for clip #{generation.id}: {label}", _embed(generation, colour, status=True)


def result_message(generation: Generation, cost: int) -> tuple[str, discord.Embed]:
    """The post of a finished clip: the link first, so Discord shows its player."""
    if generation.status == "completed":
        charged = generation.tokens_charged or generation.tokens_reserved
        ready = f"✅ Clip #{generation.id} for <@{generation.user_id}> is ready."
        url, link = generation.video_url or "", None
        if url and fitting.units(f"{url}\n{ready}") <= fitting.CONTENT:
            content = f"{url}\n{ready}"
        elif url:  # a URL is never cut (a cut link is a dead link): it goes in the embed, with more room
            content, link = f"{ready} Its link is too long for a message, so it is below.", url
        else:
            content = ready
        embed = _embed(generation, COLOUR_DONE)
        embed.add_field(name="Cost", value=tokens(charged, cost))
        if link:
            _add_link(embed, link)
        return content, embed
    content = f"❌ Clip #{generation.id} for <@{generation.user_id}> could not be made."
    embed = _embed(generation, COLOUR_FAILED)
    embed.add_field(name="Why", value=failure_text(generation.failure_reason), inline=False)
    embed.add_field(name="Cost", value=f"nothing: {tokens(generation.tokens_reserved, cost)} refunded")
    return content, embed


def _add_link(embed: discord.Embed, url: str) -> None:
    """The whole URL under the prompt, if the description (4,096) and the message's embeds (6,000) have
    room: the prompt takes at most 900, so a URL of 3,000 fits. Else say so rather than post a dead link."""
    description = embed.description or ""
    line = f"\n\nVideo: {url}"
    room = min(fitting.EMBED_DESCRIPTION - fitting.units(description), fitting.EMBED_TOTAL - fitting.embed_total(embed))
    if fitting.units(line) > room:
        line = f"\n\nThe video link is {len(url):,} characters long, too long for Discord to show."
    embed.description = description + line


def failure_text(reason: str | None, limit: int = REASON_SHOWN_CHARS) -> str:
    """Why the video service failed a clip, escaped and cut (it may quote the prompt)."""
    return non_blank(fit_escaped(reason or "", limit, discord.utils.escape_markdown), "unknown reason")


# /status -------------------------------------------------------------------------------

RECENT_PROMPT_CHARS = 60
RECENT_LINE_CHARS = 400  # a line with a longer link shows `/status clip:N` instead, so several clips still fit
DETAILS_PROMPT_CHARS = 300
DETAILS_REASON_CHARS = 300


def _recent_line(generation: Generation, room: int) -> str:
    """`#12 ✅ done · [video](url) · prompt`: the link is whole or not there (a cut link is a dead link;
    then the member finds it with `/status clip:12`)."""
    state = _label(STATE_LABELS, generation.status)
    prompt = _listed_prompt(generation.prompt, RECENT_PROMPT_CHARS)
    url = generation.video_url
    if url:
        line = f"#{generation.id} {state} · [video]({url}) · {prompt}"
        if fitting.units(line) <= room and not any(c in url for c in " \n()[]<>"):
            return line
        return f"#{generation.id} {state} · video: `/status clip:{generation.id}` · {prompt}"
    return f"#{generation.id} {state} · {prompt}"


def status_embed(budget: MemberBudget, recent: Sequence[Generation], cost: int,
                 ahead: int | None = None) -> discord.Embed:
    """/status without a clip: the member's budget, newest clips (as many as fit, then "… and N more")
    and, when some are still open, how many jobs are ahead of them (`ahead`)."""
    embed = discord.Embed(title="Your clips", colour=discord.Colour.blurple())
    embed.add_field(name="Budget", value=truncate_words(budget_text(budget, cost), fitting.FIELD_VALUE), inline=False)
    lines = [_recent_line(g, RECENT_LINE_CHARS) for g in recent]
    embed.add_field(name="Recent", value=join_within(lines, fitting.FIELD_VALUE) or "No clips yet: try /dream.",
                    inline=False)
    pending = [g for g in recent if g.is_open]
    if pending:
        embed.add_field(name="Queue", value=f"{len(pending)} of yours in progress; {_number(ahead or 0)} job(s) ahead of them.")
    return embed


def clip_details(generation: Generation, cost: int, *, ahead: int | None = None,
                 now: float | None = None) -> discord.Embed:
    """/status clip:N, for the member's own or any clip of the server. The prompt and the whole video
    link are in the description (4,096 characters): member text only ever goes into an embed."""
    now = time.time() if now is None else now
    lines = [f"**Clip #{generation.id}** by <@{generation.user_id}>: {_label(STATE_LABELS, generation.status)}",
             f"Prompt: {shown_prompt(generation.prompt, DETAILS_PROMPT_CHARS)}",
             f"Options: {options_line(generation)}"]
    if generation.parent_id:
        lines.append(f"{_label(KIND_LABELS, generation.kind)} from clip #{generation.parent_id}")
    if generation.failure_reason:
        lines.append(f"Why it failed: {failure_text(generation.failure_reason, DETAILS_REASON_CHARS)}")
    if generation.is_open:
        lines.append(f"Jobs ahead of it: {_number(ahead or 0)}")
        lines.append(f"Elapsed: {elapsed(_finite(now) - _finite(generation.requested_at))}")
    charged = generation.tokens_charged
    if charged:
        lines.append(f"Cost: {tokens(charged, cost)}")
    elif generation.status == "failed":
        lines.append(f"Cost: nothing ({tokens(generation.tokens_reserved, cost)} refunded)")
    else:
        lines.append(f"Reserved: {tokens(generation.tokens_reserved, cost)}")
    if generation.video_url:
        # Everything else is at most ~1,700 characters, so a link of 2,000+ still fits whole.
        video = f"Video: {generation.video_url}"
        room = fitting.EMBED_DESCRIPTION - fitting.units("\n".join(lines)) - 1
        if fitting.units(video) > room:
            video = f"Video: the link is {len(generation.video_url):,} characters long, too long for Discord to show."
        lines.insert(4 if generation.parent_id else 3, video)
    return discord.Embed(description="\n".join(lines), colour=discord.Colour.blurple())


def clip_missing(clip: int) -> discord.Embed:
    return discord.Embed(description=f"I can't find clip #{clip} in this server.", colour=discord.Colour.blurple())


def clip_choice_name(generation: Generation) -> str:
    """`#12 · a red balloon`, an autocomplete choice (1–100 characters; choices are plain text)."""
    return truncate(f"#{generation.id} · {one_line(generation.prompt)}", fitting.CHOICE_NAME)


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
    seconds = math.ceil(max(0.0, _finite(seconds)))
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


EMBED_FIELD_CHARS = fitting.FIELD_VALUE
MESSAGE_CHARS = 1900  # of a message's 2,000: a little room for a heading line
HISTORY_PROMPT_CHARS = 50
AUDIT_LINE_CHARS = 600  # so a few entries always show, however long one of them is
NAME_CHARS = 100


def spenders_text(spenders: Sequence[Spender], cost: int, limit: int = EMBED_FIELD_CHARS) -> str:
    """One line per member; fits an embed field (1,024 characters) by leaving the smallest spenders out."""
    if not spenders:
        return "Nobody has spent anything."
    return join_within([
        f"{rank}. <@{s.user_id}>: {tokens(s.spent, cost)}; {s.clips:,} requested, {s.completed:,} done, "
        f"{s.failed:,} failed, {s.refunded:,} tokens refunded"
        for rank, s in enumerate(spenders, 1)
    ], limit)


def report_embed(period: str, this_period: Sequence[Spender], total: Sequence[Spender], cost: int,
                 image: str | None = None) -> discord.Embed:
    """`/dreamadmin report`: top spenders this period and all time (two fields of 1,024 at most)."""
    embed = discord.Embed(title="dreambot spending", colour=discord.Colour.gold())
    if str(period) != "lifetime":  # for lifetime, "this period" and "all time" are the same list
        embed.add_field(name=f"This {_number(period)}", value=spenders_text(this_period, cost), inline=False)
    embed.add_field(name="All time", value=spenders_text(total, cost), inline=False)
    if image:
        embed.set_image(url=image)
    return embed


def history_text(entries: Sequence[HistoryEntry], cost: int, limit: int = MESSAGE_CHARS) -> str:
    """A member's clips, newest first, one line each (message content: the prompts' mentions are escaped too)."""
    if not entries:
        return "No clips yet."
    lines = []
    for entry in entries:
        g = entry.generation
        refunded = f" ({entry.refunded:,} tokens refunded)" if entry.refunded else ""
        lines.append(f"#{g.id} {_label(STATE_LABELS, g.status)} · {tokens(entry.spent, cost)}{refunded}"
                     f" · {_listed_prompt(g.prompt, HISTORY_PROMPT_CHARS)}")
    return join_within(lines, limit, "… and {n} older")


def member_heading(name: str) -> str:
    """`**name**`: a member's display name in bold, escaped (names may hold markdown and `@everyone`)."""
    return f"**{non_blank(fit_escaped(one_line(name), NAME_CHARS, escape_text), 'this member')}**"


def history_message(name: str, entries: Sequence[HistoryEntry], cost: int) -> str:
    """`/dreamadmin history`: the member's name, then their clips, in one message."""
    heading = member_heading(name)
    return f"{heading}\n" + history_text(entries, cost, limit=fitting.CONTENT - fitting.units(heading) - 1)


def cap_show_text(name: str, budget: MemberBudget, cost: int) -> str:
    """`/dreamadmin cap show`: the member's name, then their budget."""
    return truncate_words(f"{member_heading(name)}\n{budget_text(budget, cost)}", fitting.CONTENT)


def channels_text(channel_ids: Sequence[int]) -> str:
    """Where clips may be made, for the moderator who just changed it."""
    if not channel_ids:
        return "Clips may be made in every channel."
    head = "Clips may be made only in: "
    return head + join_within([f"<#{c}>" for c in channel_ids], MESSAGE_CHARS - len(head), "… and {n} more", ", ")


def _cap_phrase(cap: Any, period: Any, cost: int) -> str:
    if cap is None:
        return "no cap (unlimited)"
    amount = tokens(cap, cost) if isinstance(cap, int) else f"{_number(cap)} tokens"
    if period is None:
        return f"{amount} per the server's period"
    return f"{amount} " + ("in total" if str(period) == "lifetime" else f"per {_number(period)}")


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
        what = (f"set clips running at once to {_number(d.get('member_limit'))} per member, "
                f"{'no limit' if guild_limit is None else _number(guild_limit)} for the server")
    elif action == "set_cooldown":
        what = f"set the cooldown to {_number(d.get('seconds', 0))} s{_was(previous, f'{_number(previous)} s')}"
    elif action == "block":
        what = f"blocked {target}"
    elif action == "unblock":
        what = f"unblocked {target}"
    elif action == "set_allowed_channels":
        channels = d.get("channel_ids") or []
        channels = channels if isinstance(channels, list) else [channels]
        head = "allowed clips only in "
        what = ("allowed clips in every channel" if not channels
                else head + join_within([f"<#{_id(c)}>" for c in channels], AUDIT_LINE_CHARS - 60 - len(head),
                                        "… and {n} more", ", "))
    elif action == "allow_channel":
        what = f"allowed clips in <#{_id(d.get('channel_id'))}>"
    elif action == "disallow_channel":
        what = f"stopped allowing clips in <#{_id(d.get('channel_id'))}>"
    elif action == "set_moderator_role":
        role = d.get("role_id")
        what = f"set the moderator role to <@&{_id(role)}>" if role else "removed the moderator role"
    elif action == "refused":
        on = f" for {target}" if entry.target_user_id else ""
        what = f"was refused `/dreamadmin {inline_code(str(d.get('command', '?')), 60)}`{on}: {_refused_why(d)}"
    else:
        # An action this version does not know (a newer bot wrote it): shown as stored, escaped and cut.
        details = fit_escaped(one_line(", ".join(f"{k}={v}" for k, v in d.items())), 300, escape_text)
        name = fit_escaped(one_line(action), 60, escape_text) or "?"
        what = f"{name} {target if entry.target_user_id else ''}{f' ({details})' if details else ''}".strip()
    # `<t:…:f>` is rendered in each reader's time zone; the whole line stays short whatever the details.
    return truncate_words(f"<t:{int(_finite(entry.created_at))}:f> <@{entry.actor_id}> {what}", AUDIT_LINE_CHARS)


def _number(value: Any) -> str:
    """A number from an audit row's details (written by the store, so an int; anything else shown short)."""
    return f"{value:,}" if isinstance(value, int) else fit_escaped(one_line(str(value)), 30, escape_text)


def _id(value: Any) -> str:
    """A snowflake from an audit row's details, for a mention: digits only, or shown short."""
    return str(value) if isinstance(value, int) else fit_escaped(one_line(str(value)), 30, escape_text)


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
    why = REFUSED_WHY.get(reason) or fit_escaped(one_line(reason), 60, escape_text) or "refused"
    role = details.get("role_id")
    return f"{why} (<@&{_id(role)}>)" if reason == "managed_role" and role else why


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
        what = MANAGER_ONLY_WHAT.get(command, f"use `/dreamadmin {inline_code(command, 60)}`")
        return (f"Only members with Manage Server can {what}: it applies to moderators too. "
                "The moderator role covers other members' caps and blocks, the channels, and the reports.")
    if reason == "own_account":
        return ("The moderator role can't change your own cap or block. "
                "Ask someone with Manage Server; the attempt is in the audit log.")
    if reason == "moderator_target":
        who = f"<@{target_user_id}>" if target_user_id else "That member"
        return (f"{who} is a moderator too. Only members with Manage Server can change a "
                "moderator's cap or block.")
    if reason == "everyone_role":
        return "`@everyone` can't be the moderator role: every member would become a moderator."
    if reason == "managed_role":
        role = f"<@&{role_id}>" if role_id else "That role"
        return (f"{role} is managed by an integration (a bot's own role, the Server Booster role or a "
                "linked service), so members get it without an admin choosing them. Pick a role that admins "
                "hand out.")
    return "That isn't allowed."


def audit_text(entries: Sequence[AuditEntry], cost: int, limit: int = MESSAGE_CHARS, *,
               empty: str = "No moderator changes yet.") -> str:
    """Newest first, whole lines only (a Discord message holds 2,000 characters)."""
    if not entries:
        return truncate(empty, limit)
    return join_within([audit_line(entry, cost) for entry in entries], limit, "… and {n} older entries not shown")
