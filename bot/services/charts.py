"""A small bar chart of spend per day, as PNG bytes, for the moderators' report."""

from __future__ import annotations

import io
from typing import Any, Sequence

from PIL import Image, ImageDraw

from bot.prices import format_credits, format_usd

WIDTH, HEIGHT, MARGIN = 600, 220, 28
BACKGROUND, BAR, AXIS, TEXT = (43, 45, 49), (88, 101, 242), (128, 132, 142), (220, 221, 222)


def _day(entry: Any) -> tuple[str, int]:
    """A store `DaySpend` (day, spent, clips) or a plain (day, credits) pair, as (ISO date, credits)."""
    if hasattr(entry, "day") and hasattr(entry, "spent"):
        day, spent = entry.day, entry.spent
    else:
        day, spent = entry[0], entry[1]
    return (day.isoformat() if hasattr(day, "isoformat") else str(day)), int(spent)


def daily_spend_chart(days: Sequence[Any]) -> bytes:
    """`days` are the store's `DaySpend` rows (or (ISO date, credits) pairs), oldest first; bars are
    in dollars, so the scale reads easily (the title also gives the highest day in credits)."""
    days = [_day(entry) for entry in days]
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    values = [max(0, credits) for _, credits in days]
    top = max(values, default=0)
    scale = top or 1
    plot_w, plot_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    slot = plot_w / max(1, len(values))
    for index, value in enumerate(values):
        height = plot_h * value / scale
        left = MARGIN + index * slot + 1
        draw.rectangle([left, HEIGHT - MARGIN - height, left + max(1, slot - 2), HEIGHT - MARGIN], fill=BAR)
    draw.line([MARGIN, HEIGHT - MARGIN, WIDTH - MARGIN, HEIGHT - MARGIN], fill=AXIS)
    # The default bitmap font is ASCII: plain words and digits only.
    draw.text((MARGIN, 6), f"spend per day in dollars, last {len(values)} days "
                           f"(max {format_usd(top)} = {format_credits(top)})", fill=TEXT)
    if days:
        draw.text((MARGIN, HEIGHT - MARGIN + 6), days[0][0], fill=TEXT)
        draw.text((WIDTH - MARGIN - 70, HEIGHT - MARGIN + 6), days[-1][0], fill=TEXT)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
