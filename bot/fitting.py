"""Making text fit Discord's limits by design: whole lines, whole escapes, an ellipsis where cut.

Discord refuses a whole message (HTTP 400, code 50035) when one piece is a character too
long, and the member only sees "interaction failed". So every text the bot builds is fitted
here, with the limits in one place. Lengths are counted in UTF-16 code units, never less than
`len()`: an emoji outside the BMP counts two, which is what some of Discord's checks count.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence

import discord

# Discord's limits (https://discord.com/developers/docs/resources/message#embed-object-embed-limits).
CONTENT = 2000
EMBEDS_PER_MESSAGE = 10
EMBED_TITLE = 256
EMBED_DESCRIPTION = 4096
EMBED_FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
AUTHOR_NAME = 256
EMBED_TOTAL = 6000  # title + description + field names and values + footer + author, all embeds of a message
BUTTON_LABEL = 80
MODAL_TITLE = 45
CHOICE_NAME = 100

ELLIPSIS = "…"
ZWJ = "\u200d"


def units(text: str) -> int:
    """The length Discord may count: UTF-16 code units (an astral character such as most emoji is two)."""
    return len(text) + sum(1 for char in text if ord(char) > 0xFFFF)


def _extends(char: str) -> bool:
    """A character that belongs to the one before it (accent, joiner, variation selector, skin tone,
    emoji tag): cutting just before it would leave a changed or broken character behind."""
    code = ord(char)
    return (unicodedata.category(char) in ("Mn", "Me", "Mc") or char == ZWJ or 0xFE00 <= code <= 0xFE0F
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F)


def _boundary(text: str, end: int) -> int:
    """`end`, moved left to the nearest place that does not split a character from its extenders."""
    end = max(0, min(end, len(text)))
    while 0 < end < len(text) and (_extends(text[end]) or text[end - 1] == ZWJ):
        end -= 1
    return end


def _prefix_within(text: str, budget: int) -> int:
    """How many characters of `text` fit in `budget` units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > budget:
            return index
    return len(text)


def truncate(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """`text` if it fits in `limit` units, else its longest prefix that fits with "…" after it,
    cut between characters (never inside an emoji sequence or before an accent)."""
    if units(text) <= limit:
        return text
    room = limit - units(ellipsis)
    if room < 0:  # not even the ellipsis fits
        return ellipsis[: _prefix_within(ellipsis, limit)]
    return text[: _boundary(text, _prefix_within(text, room))].rstrip() + ellipsis


def truncate_words(text: str, limit: int, ellipsis: str = ELLIPSIS) -> str:
    """Like `truncate`, but cut at a space or line break when there is one: a mention (`<@123>`),
    a timestamp (`<t:1:f>`) or an escape (`\\*`) holds none, so it is never cut in half."""
    if units(text) <= limit:
        return text
    room = limit - units(ellipsis)
    if room < 0:
        return truncate(text, limit, ellipsis)
    cut = text[: _boundary(text, _prefix_within(text, room))]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:space] if space > 0 else cut).rstrip() + ellipsis


def fit_escaped(text: str, limit: int, escape: Callable[[str], str], ellipsis: str = ELLIPSIS) -> str:
    """`escape(text)` if that fits in `limit`, else escape(the longest prefix that fits) + "…".

    The raw text is cut before escaping, so an escape (`\\*`, the zero-width space after `@`) is
    never split in two: a split escape would turn markdown or a mention back on.
    """
    whole = escape(text)
    if units(whole) <= limit:
        return whole
    room = limit - units(ellipsis)
    if room < 0:
        return ellipsis[: _prefix_within(ellipsis, limit)]

    def shown(end: int) -> str:
        return escape(text[: _boundary(text, end)]).rstrip()

    # Escaping only adds characters, so the answer is at most the raw prefix that fits; search below it.
    # `low` only ever moves to a prefix that fits (escaping a prefix is not strictly monotonic: a cut can
    # break a link pattern up, so this finds a long prefix that fits, not always the very longest).
    low, high = 0, _prefix_within(text, room)
    while low < high:
        middle = (low + high + 1) // 2
        if units(shown(middle)) <= room:
            low = middle
        else:
            high = middle - 1
    return shown(low) + ellipsis


def join_within(items: Sequence[str], limit: int, more: str = "… and {n} more", sep: str = "\n") -> str:
    """As many whole items as fit in `limit`, in order, then `more` with how many were left out.

    A reader who sees a list should know when it goes on; an item is never cut in half (it may
    hold a markdown link or a mention). The note's room is kept back while items are added.
    """
    kept: list[str] = []
    used = 0
    for index, item in enumerate(items):
        rest = len(items) - index - 1
        note = units(sep + more.format(n=rest)) if rest else 0
        size = units(item) + (units(sep) if kept else 0)
        if used + size + note > limit:
            break
        kept.append(item)
        used += size
    left_out = len(items) - len(kept)
    if left_out:
        kept.append(more.format(n=left_out))
    return truncate(sep.join(kept), limit)  # the truncate only matters when not even the note fits


def blank(text: str | None) -> bool:
    """True for text Discord would show as nothing (white space, zero-width and control characters)."""
    return not text or all(unicodedata.category(c) in ("Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me", "Cn") for c in text)


def non_blank(text: str | None, fallback: str) -> str:
    """Field names and values must not be empty: Discord refuses the message."""
    return fallback if blank(text) else text  # type: ignore[return-value]


def one_line(text: str) -> str:
    """Runs of white space (newlines included) folded to one space, for texts shown in a list of lines."""
    return " ".join(text.split())


def inline_code(text: str, limit: int) -> str:
    """Text safe between single backticks: no backtick can close the span early, no newline."""
    return truncate(one_line(text.replace("`", "'")), limit)


def escape_text(text: str) -> str:
    """Markdown and mentions escaped: what a member typed can't format, ping or pretend to ping."""
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


def embed_total(embed: discord.Embed) -> int:
    """The units of an embed that count towards the 6,000 of a message."""
    data = embed.to_dict()
    parts = [data.get("title", ""), data.get("description", ""), data.get("footer", {}).get("text", ""),
             data.get("author", {}).get("name", "")]
    parts += [part for field in data.get("fields", []) for part in (field.get("name", ""), field.get("value", ""))]
    return sum(units(str(part)) for part in parts)
