"""Every sentence and embed the bot shows, as pure functions of the stored rows.

Text a member typed (prompts) goes into embeds, escaped and cut short, so it can neither ping
anyone nor break the layout; the one exception, a moderator's `/dreamadmin history`, also escapes
its mentions. Every text fits Discord's limits by design (see bot/fitting.py): prompts end in "…",
lists show what fits and then "… and N more", links and mentions are never cut in half.

Money is always shown in credits and dollars (`6,500,000 credits ($3.25)`, bot/prices/money.py);
"clips" is only ever a rough count ("about 3 plain clips") at the price of a plain clip with the
default model (`typical`, from `Quoter.typical()`), where it helps: caps and what is left of them.
"""

from __future__ import annotations

import math
import time
from typing import Any, Sequence

import discord

from bot import fitting
from bot.fitting import (escape_text, fit_escaped, inline_code, join_within, non_blank, one_line, truncate,
                         truncate_words)
from bot.prices import PriceStatus, format_credits, format_money, format_usd
from storage import (
    AuditEntry,
    Generation,
    GuildSettings,
    HistoryEntry,
    MemberBudget,
    Period,
    ProviderTotals,
    RefusalReason,
    ReserveRefused,
    Spender,
)
from storage.clock import period_bounds

PROMPT_SHOWN_CHARS = 900  # of an embed description's 4,096: room for the link of a long video URL
REASON_SHOWN_CHARS = 500
OPTION_CHARS = 100  # one option (model name, aspect ratio...) as shown
LABEL_CHARS = 100  # a state or kind label we did not expect, shown as is
PRICE_TEXT_CHARS = 100  # how a clip was priced ("$0.65/s × 10 s"), as shown
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
    "in_doubt": "🔎 checking with the video service",
    "submitted": "⏳ queued",
    "queued": "⏳ queued",
    "running": "🌙 dreaming",
    "completed": "✅ done",
    "failed": "❌ failed",
}


def _finite(seconds: float | None) -> float:
    return seconds if seconds is not None and math.isfinite(seconds) else 0.0


def _money(credits: int) -> str:
    """`6,500,000 credits ($3.25)`."""
    return format_money(int(credits))


def _about(credits: int, typical: int) -> str:
    """`about 3 plain clips`: a rough count at the price of a plain clip; "" when it says nothing."""
    if typical <= 0 or credits <= 0:
        return ""
    count = credits // typical
    if count < 1:
        return "less than 1 plain clip"
    return f"about {count:,} plain clip{'' if count == 1 else 's'}"


def _money_about(credits: int, typical: int) -> str:
    """`20,000,000 credits ($10.00), about 4 plain clips` (the count only when it says something)."""
    about = _about(credits, typical)
    return f"{_money(credits)}, {about}" if about else _money(credits)


def _price_text(generation: Generation) -> str:
    """` ($0.65/s × 10 s)`: how the reserve was priced, escaped and short; "" when not known."""
    shown = fit_escaped(one_line(generation.price_text or ""), PRICE_TEXT_CHARS, escape_text)
    return f" ({shown})" if not fitting.blank(shown) else ""


def _charged(generation: Generation) -> int:
    return generation.tokens_charged if generation.tokens_charged is not None else generation.tokens_reserved


def cost_text(generation: Generation) -> str:
    """What a clip costs the member, in credits and dollars: the reserve while it is open, then the
    charge and the refunded rest (or by how much the bill went over the reserve); a failed clip is
    refunded in full."""
    reserved = generation.tokens_reserved
    if generation.status == "failed":
        return f"nothing: {_money(reserved)} refunded"
    if generation.status != "completed":
        return f"{_money(reserved)} reserved{_price_text(generation)}"
    charged = _charged(generation)
    if charged > reserved:
        return f"{_money(charged)}: cost {_money(charged - reserved)} more than reserved"
    if charged < reserved:
        return f"{_money(charged)}; {_money(reserved - charged)} of the reserve refunded"
    return _money(charged)


def shown_prompt(prompt: str, limit: int = PROMPT_SHOWN_CHARS) -> str:
    """A prompt made safe for an embed: markdown escaped, at most `limit` characters *as shown*.
    Cut before escaping (with "…"), so an escape is never split and markdown never turns back on."""
    return fit_escaped(prompt, limit, discord.utils.escape_markdown)


def _listed_prompt(prompt: str, limit: int) -> str:
    """A prompt on one line of a list in message content: also mentions escaped (content can ping)."""
    return fit_escaped(one_line(prompt), limit, escape_text)


def _label(labels: dict[str, str], key: str) -> str:
    return labels.get(key) or fit_escaped(one_line(str(key)), LABEL_CHARS, escape_text) or "?"


def _state(generation: Generation, state: str | None = None) -> str:
    """The label of a clip's state; a create whose answer was lost is "checking with the video service"."""
    state = str(generation.status if state is None else state)
    if state == "requested" and generation.in_doubt:
        state = "in_doubt"
    return _label(STATE_LABELS, state)


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
    """The clip's embed: its prompt, options and parent (and, on a status message, its money)."""
    embed = discord.Embed(description=non_blank(shown_prompt(generation.prompt), "(no prompt)"), colour=colour)
    embed.add_field(name="Options", value=options_line(generation), inline=False)
    if generation.parent_id:
        embed.add_field(name=_label(KIND_LABELS, generation.kind), value=f"from clip #{generation.parent_id}")
    if status:
        embed.add_field(name="Cost", value=cost_text(generation))
    embed.set_footer(text=status_footer(generation) if status else footer(generation))
    return embed


def status_message(generation: Generation, state: str, now: float | None = None,
                   eta: float | None = None) -> tuple[str, discord.Embed]:
    """The public message shown while a clip is being made; `eta`: when clips like it are
    usually ready (epoch seconds), from the run times learned for its options."""
    now = time.time() if now is None else now
    label = _state(generation, state)
    started = generation.submitted_at or generation.requested_at
    content = f"🎬 <@{generation.user_id}> asked for clip #{generation.id}: {label}"
    if state in ("submitted", "queued", "running") and started:
        content += f" ({elapsed(_finite(now) - _finite(started))} elapsed{_eta_text(eta, now)})"
    return content, _embed(generation, COLOUR_RUNNING, status=True)


def _eta_text(eta: float | None, now: float) -> str:
    """", usually ready in about 2 min" (or under a minute, or "taking longer than usual")."""
    if eta is None or not _finite(eta):
        return ""
    left = eta - now
    if left <= 0:
        return ", taking longer than usual"
    if left < 60:
        return ", usually ready in under a minute"
    return f", usually ready in about {max(1, round(left / 60))} min"


def finished_status(generation: Generation) -> tuple[str, discord.Embed]:
    label = STATE_LABELS["completed" if generation.status == "completed" else "failed"]
    colour = COLOUR_DONE if generation.status == "completed" else COLOUR_FAILED
    return f"🎬 <@{generation.user_id}> asked for clip #{generation.id}: {label}", _embed(generation, colour, status=True)


def result_message(generation: Generation) -> tuple[str, discord.Embed]:
    """The post of a finished clip: the link first, so Discord shows its player."""
    if generation.status == "completed":
        ready = f"✅ Clip #{generation.id} for <@{generation.user_id}> is ready."
        url, link = generation.video_url or "", None
        if url and fitting.units(f"{url}\n{ready}") <= fitting.CONTENT:
            content = f"{url}\n{ready}"
        elif url:  # a URL is never cut (a cut link is a dead link): it goes in the embed, with more room
            content, link = f"{ready} Its link is too long for a message, so it is below.", url
        else:
            content = ready
        embed = _embed(generation, COLOUR_DONE)
        embed.add_field(name="Cost", value=cost_text(generation))
        if link:
            _add_link(embed, link)
        return content, embed
    content = f"❌ Clip #{generation.id} for <@{generation.user_id}> could not be made."
    embed = _embed(generation, COLOUR_FAILED)
    embed.add_field(name="Why", value=failure_text(generation.failure_reason), inline=False)
    embed.add_field(name="Cost", value=cost_text(generation))
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
    state = _state(generation)
    prompt = _listed_prompt(generation.prompt, RECENT_PROMPT_CHARS)
    url = generation.video_url
    if url:
        line = f"#{generation.id} {state} · [video]({url}) · {prompt}"
        if fitting.units(line) <= room and not any(c in url for c in " \n()[]<>"):
            return line
        return f"#{generation.id} {state} · video: `/status clip:{generation.id}` · {prompt}"
    return f"#{generation.id} {state} · {prompt}"


def status_embed(budget: MemberBudget, recent: Sequence[Generation], typical: int,
                 ahead: int | None = None) -> discord.Embed:
    """/status without a clip: the member's budget, newest clips (as many as fit, then "… and N more")
    and, when some are still open, how many jobs are ahead of them (`ahead`). `typical`: the price of
    a plain clip, for the rough count of what is left."""
    embed = discord.Embed(title="Your clips", colour=discord.Colour.blurple())
    embed.add_field(name="Budget", value=truncate_words(budget_text(budget, typical), fitting.FIELD_VALUE),
                    inline=False)
    lines = [_recent_line(g, RECENT_LINE_CHARS) for g in recent]
    embed.add_field(name="Recent", value=join_within(lines, fitting.FIELD_VALUE) or "No clips yet: try /dream.",
                    inline=False)
    pending = [g for g in recent if g.is_open]
    if pending:
        embed.add_field(name="Queue", value=f"{len(pending)} of yours in progress; {_number(ahead or 0)} job(s) ahead of them.")
    return embed


def clip_details(generation: Generation, *, ahead: int | None = None, now: float | None = None) -> discord.Embed:
    """/status clip:N, for the member's own or any clip of the server. The prompt and the whole video
    link are in the description (4,096 characters): member text only ever goes into an embed."""
    now = time.time() if now is None else now
    lines = [f"**Clip #{generation.id}** by <@{generation.user_id}>: {_state(generation)}",
             f"Prompt: {shown_prompt(generation.prompt, DETAILS_PROMPT_CHARS)}",
             f"Options: {options_line(generation)}"]
    if generation.parent_id:
        lines.append(f"{_label(KIND_LABELS, generation.kind)} from clip #{generation.parent_id}")
    if generation.failure_reason:
        lines.append(f"Why it failed: {failure_text(generation.failure_reason, DETAILS_REASON_CHARS)}")
    if generation.in_doubt:
        lines.append("The video service didn't confirm this clip, so I'm checking its records: it will be posted "
                     "if the service made it, or its reserve refunded in full if not. Nothing is charged twice.")
    elif generation.is_open:
        lines.append(f"Jobs ahead of it: {_number(ahead or 0)}")
    if generation.is_open:
        lines.append(f"Elapsed: {elapsed(_finite(now) - _finite(generation.requested_at))}")
    lines.append(f"Cost: {cost_text(generation)}")
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


def abandoned_message(generation: Generation) -> str:
    """A clip refunded without being made: its create's answer was lost and the video service's records
    show no clip for it, or (no doubt recorded) the bot restarted before the request reached the service."""
    if generation.in_doubt_since is not None:
        why = "the video service didn't confirm it, and its records show no clip was made for it"
    else:
        why = "the bot restarted before it reached the video service"
    return (f"❌ Clip #{generation.id} for <@{generation.user_id}> was not made: {why}. "
            f"{_money(generation.tokens_reserved)} refunded in full; nothing was charged.")


def accepted_text(generation: Generation) -> str:
    """The /dream confirmation: the price before it is spent, and how the bill is settled."""
    return (f"Clip #{generation.id} is on its way: {_money(generation.tokens_reserved)} reserved"
            f"{_price_text(generation)}. You pay what the video service bills for it and get the rest back; "
            "failed clips are refunded.")


def in_doubt_text(generation: Generation) -> str:
    """For the member when the create was sent but its answer was lost: its reserve is held meanwhile."""
    return (f"Clip #{generation.id}: the video service didn't confirm your request, so I'm checking its records. "
            f"The {_money(generation.tokens_reserved)} reserved stay held meanwhile: the clip will be posted here "
            "if the service made it, or the reserve refunded in full if it didn't. Nothing is charged twice.")


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


def refusal(error: ReserveRefused, typical: int) -> str:
    """Why a request was refused, with the numbers the member needs. Nothing was charged.
    `typical`: the price of a plain clip (a cheaper clip may still fit under the cap)."""
    reason = RefusalReason(error.reason)
    if reason is RefusalReason.BLOCKED:
        return "You can't make clips in this server right now. Please ask a moderator if you think this is a mistake."
    if reason is RefusalReason.OVER_CAP:
        remaining = error.remaining or 0
        period = str(error.period)
        resets = ("This cap does not reset." if period == "lifetime" or error.retry_after_seconds is None
                  else f"Your budget resets {when(error.retry_after_seconds)}.")
        cheaper = (f" A plain clip costs {format_usd(typical)}, which still fits."
                   if 0 < typical <= remaining and typical < error.cost else "")
        return (f"That would go over your {PERIOD_ADJECTIVES.get(period, period)} cap of {_money(error.cap or 0)}: "
                f"you have spent {_money(error.spent)} and have {_money(remaining)} left, and this clip costs "
                f"{_money(error.cost)}.{cheaper} {resets} Nothing was charged.")
    if reason is RefusalReason.MEMBER_RUNNING_LIMIT:
        return (f"You already have {_clips(error.running)} in progress (the limit is {error.limit}). "
                "Please wait for one to finish. Nothing was charged.")
    if reason is RefusalReason.GUILD_RUNNING_LIMIT:
        return (f"This server already has {_clips(error.running)} in progress (the limit is {error.limit}). "
                "Please try again in a little while. Nothing was charged.")
    return f"Please wait a moment between requests: you can ask again {when(error.retry_after_seconds)}. Nothing was charged."


def budget_text(budget: MemberBudget, typical: int) -> str:
    """Spend against the cap, in credits and dollars, with a rough count of the plain clips left."""
    period = str(budget.period)
    spent_when = PERIOD_SPENT.get(period, f"this {period}")
    if budget.cap is None:
        cap_line = f"No cap. Spent {spent_when}: {_money(budget.spent)}."
    else:
        cap_line = (f"Spent {spent_when}: {_money(budget.spent)} of {_money(budget.cap)} "
                    f"({'own cap' if budget.cap_is_override else 'server default'}); "
                    f"left: {_money_about(budget.remaining or 0, typical)}.")
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


def spenders_text(spenders: Sequence[Spender], limit: int = EMBED_FIELD_CHARS) -> str:
    """One line per member; fits an embed field (1,024 characters) by leaving the smallest spenders out."""
    if not spenders:
        return "Nobody has spent anything."
    return join_within([
        f"{rank}. <@{s.user_id}>: {_money(s.spent)}; {s.clips:,} requested, {s.completed:,} done, "
        f"{s.failed:,} failed, {format_credits(s.refunded)} refunded"
        for rank, s in enumerate(spenders, 1)
    ], limit)


def _clips_word(count: int, what: str = "clip") -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"


def books_text(totals: ProviderTotals, limit: int = EMBED_FIELD_CHARS) -> str:
    """Both sides of the books: what members were charged beside what the video service billed, where it
    said; the clips whose bill is not known yet, the overruns, and the creates still being checked."""
    lines = [f"Members were charged {_money(totals.member_charged)} for finished clips."]
    if totals.known:
        lines.append(f"The video service billed {_money(totals.provider_billed)} for the "
                     f"{_clips_word(totals.known)} whose cost it reported "
                     f"(members: {_money(totals.member_charged_known)}).")
        difference = totals.difference
        if difference > 0:
            lines.append(f"Difference: the video service billed {_money(difference)} more than members "
                         "were charged.")
        elif difference < 0:
            lines.append(f"Difference: members were charged {_money(-difference)} more than the video "
                         "service billed.")
        else:
            lines.append("Difference: none; the video service billed exactly what members were charged.")
    else:
        lines.append("The video service has not reported the cost of any finished clip yet.")
    if totals.unknown:
        lines.append(f"Cost not known yet: {_clips_word(totals.unknown, 'finished clip')}.")
    if totals.overruns:
        lines.append(f"Overruns: {_clips_word(totals.overruns)} cost {_money(totals.overrun_credits)} more than "
                     "reserved, in all.")
    else:
        lines.append("Overruns: none.")
    if totals.in_doubt:
        lines.append(f"In doubt: {_clips_word(totals.in_doubt, 'request')} being checked with the video service, "
                     f"{_money(totals.in_doubt_reserved)} reserved.")
    return truncate_words("\n".join(lines), limit)


PRICE_SOURCES = {
    "catalogue": "the prices it last read from the video service",
    "cache": "cached prices",
    "file": "the prices in its price file",
    "none": "no prices at all, so clips it can't price are refused",
}


def stale_prices_text(status: PriceStatus | None) -> str | None:
    """The moderators' warning while prices could not be refreshed from the video service (None: prices
    are current, or this endpoint has flat prices)."""
    if status is None or not status.stale:
        return None
    source = PRICE_SOURCES.get(str(status.source)) or fit_escaped(one_line(str(status.source)), 30, escape_text)
    if status.checked_at is None:
        since = "Prices have not been read from the video service yet"
    else:
        at = int(_finite(status.checked_at))
        since = f"Prices could not be refreshed from the video service since <t:{at}:f> (<t:{at}:R>)"
    return (f"⚠️ {since}; the bot is using {source}. Reserves may differ from what the provider bills "
            "until they are refreshed.")


def report_embed(period: str, this_period: Sequence[Spender], total: Sequence[Spender],
                 books_period: ProviderTotals | None = None, books_total: ProviderTotals | None = None, *,
                 prices: PriceStatus | None = None, image: str | None = None) -> discord.Embed:
    """`/dreamadmin report`: top spenders and the books this period and all time (fields of 1,024 at most),
    under the stale-prices warning when `prices` (the price book's status) is stale."""
    embed = discord.Embed(title="dreambot spending", colour=discord.Colour.gold(),
                          description=stale_prices_text(prices))
    if str(period) != "lifetime":  # for lifetime, "this period" and "all time" are the same numbers
        embed.add_field(name=f"This {_number(period)}", value=spenders_text(this_period), inline=False)
        if books_period is not None:
            embed.add_field(name=f"Books this {_number(period)}", value=books_text(books_period), inline=False)
    embed.add_field(name="All time", value=spenders_text(total), inline=False)
    if books_total is not None:
        embed.add_field(name="Books, all time", value=books_text(books_total), inline=False)
    if image:
        embed.set_image(url=image)
    return embed


def _history_money(entry: HistoryEntry) -> str:
    g = entry.generation
    if g.is_open:
        return f"{_money(entry.reserved)} reserved"
    if entry.spent == 0 and entry.refunded:
        return f"nothing ({format_credits(entry.refunded)} refunded)"
    refunded = f" ({format_credits(entry.refunded)} refunded)" if entry.refunded else ""
    over = entry.spent - entry.reserved if entry.charged is not None else 0
    overrun = f" ({format_credits(over)} more than reserved)" if over > 0 else ""
    return f"{_money(entry.spent)}{refunded}{overrun}"


def history_text(entries: Sequence[HistoryEntry], limit: int = MESSAGE_CHARS) -> str:
    """A member's clips, newest first, one line each (message content: the prompts' mentions are escaped too)."""
    if not entries:
        return "No clips yet."
    lines = []
    for entry in entries:
        g = entry.generation
        lines.append(f"#{g.id} {_state(g)} · {_history_money(entry)} · "
                     f"{_listed_prompt(g.prompt, HISTORY_PROMPT_CHARS)}")
    return join_within(lines, limit, "… and {n} older")


def member_heading(name: str) -> str:
    """`**name**`: a member's display name in bold, escaped (names may hold markdown and `@everyone`)."""
    return f"**{non_blank(fit_escaped(one_line(name), NAME_CHARS, escape_text), 'this member')}**"


def history_message(name: str, entries: Sequence[HistoryEntry]) -> str:
    """`/dreamadmin history`: the member's name, then their clips, in one message."""
    heading = member_heading(name)
    return f"{heading}\n" + history_text(entries, limit=fitting.CONTENT - fitting.units(heading) - 1)


def cap_show_text(name: str, budget: MemberBudget, typical: int, *, prices: PriceStatus | None = None) -> str:
    """`/dreamadmin cap show`: the member's name, then their budget, then the stale-prices warning when
    `prices` (the price book's status) is stale."""
    warning = stale_prices_text(prices)
    tail = f"\n{warning}" if warning else ""
    body = truncate_words(f"{member_heading(name)}\n{budget_text(budget, typical)}",
                          fitting.CONTENT - fitting.units(tail))
    return body + tail


def cap_set_text(member_id: int | None, cap: int, period: str, typical: int) -> str:
    """The moderator's confirmation of `/dreamadmin cap set`: the cap in credits and dollars, roughly in clips."""
    who = "Default cap for everyone" if member_id is None else f"Cap for <@{member_id}>"
    per = "in total" if str(period) == "lifetime" else f"per {_number(period)}"
    about = _about(cap, typical)
    return (f"{who}: {_money(cap)} {per}{f', {about}' if about else ''}. "
            "It applies to new requests at once; running clips finish.")


def channels_text(channel_ids: Sequence[int]) -> str:
    """Where clips may be made, for the moderator who just changed it."""
    if not channel_ids:
        return "Clips may be made in every channel."
    head = "Clips may be made only in: "
    return head + join_within([f"<#{c}>" for c in channel_ids], MESSAGE_CHARS - len(head), "… and {n} more", ", ")


def _cap_phrase(cap: Any, period: Any) -> str:
    """An audit row's cap (stored in credits, old rows too), in credits and dollars."""
    if cap is None:
        return "no cap (unlimited)"
    amount = _money(cap) if isinstance(cap, int) and not isinstance(cap, bool) else f"{_number(cap)} credits"
    if period is None:
        return f"{amount} per the server's period"
    return f"{amount} " + ("in total" if str(period) == "lifetime" else f"per {_number(period)}")


def _was(previous: Any, phrase: str) -> str:
    return f" (was {phrase})" if previous is not None else ""


def audit_line(entry: AuditEntry) -> str:
    """One moderator change in words: when, who, what (and what it was before)."""
    d: dict[str, Any] = entry.details or {}
    target = f"<@{entry.target_user_id}>" if entry.target_user_id else "a member"
    previous = d.get("previous")
    action = entry.action
    if action == "set_guild_cap":
        before = previous if isinstance(previous, dict) else {}
        what = (f"set the default cap to {_cap_phrase(d.get('cap_tokens'), d.get('period'))}"
                f"{_was(before.get('cap_tokens'), _cap_phrase(before.get('cap_tokens'), before.get('period')))}")
    elif action == "set_member_cap":
        before = previous if isinstance(previous, dict) else {}
        was = (_was(True, _cap_phrase(before.get("cap_tokens"), before.get("period")))
               if before.get("override") else " (was the server default)")
        what = f"set {target}'s cap to {_cap_phrase(d.get('cap_tokens'), d.get('period'))}{was}"
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


def audit_text(entries: Sequence[AuditEntry], limit: int = MESSAGE_CHARS, *,
               empty: str = "No moderator changes yet.") -> str:
    """Newest first, whole lines only (a Discord message holds 2,000 characters)."""
    if not entries:
        return truncate(empty, limit)
    return join_within([audit_line(entry) for entry in entries], limit, "… and {n} older entries not shown")


def undelivered_text(generations: Sequence[Generation], limit: int = MESSAGE_CHARS) -> str:
    """Finished clips that could not be posted, newest first, with why (moderators only)."""
    if not generations:
        return truncate("Every finished clip was posted: nothing is waiting for delivery.", limit)
    lines = []
    for generation in generations:
        at = int(_finite(generation.undeliverable_at))
        reason = inline_code(generation.post_error or "unknown", 120)
        lines.append(truncate_words(f"#{generation.id} for <@{generation.user_id}> in <#{generation.channel_id}>, "
                                    f"given up <t:{at}:R>: `{reason}`", AUDIT_LINE_CHARS))
    head = "These clips could not be posted (try one again with `retry`):"
    return join_within([head, *lines], limit, "… and {n} more not shown")
