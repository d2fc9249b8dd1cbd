"""Shared pieces of the fault campaign (tests/test_faults*.py): speed knobs, counters, settle waits.

The bot's production back-offs are in real seconds (2 s publish retry, 2 s API back-off, 0.5 s
API retry); the campaign shortens them so a run of hundreds of faults stays in seconds.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from typing import Any, Iterable

from bot.api.retry import RetryPolicy
from storage import Store

EPHEMERAL = 64
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05, max_retry_after=2.0)
FOOTER = re.compile(r"dreambot clip #(\d+)")

# Poller module constants the campaign shortens (name -> value).
# Module constants of the two workers, shortened as the fault campaigns use them.
FAST_WORKERS = {
    "bot.services.poller": {"API_BACKOFF_BASE": 0.05, "API_BACKOFF_MAX": 0.5},
    "bot.services.posting": {"POST_RETRY_BASE": 0.05, "POST_RETRY_MAX": 0.5},
}


def apply_fast_workers(setter=setattr) -> None:
    import importlib

    for module_name, values in FAST_WORKERS.items():
        module = importlib.import_module(module_name)
        for name, value in values.items():
            setter(module, name, value)


def speed_up(monkeypatch, bot=None) -> None:
    """Short worker back-offs (module constants) and short API retries (on this bot's client)."""
    apply_fast_workers(monkeypatch.setattr)
    if bot is not None:
        bot.api.retry = FAST_RETRY


def result_footer_ids(message: dict[str, Any]) -> list[int]:
    """Generation ids whose *result* footer ("dreambot clip #N", not the status one) the message carries."""
    found = []
    for embed in message.get("embeds") or []:
        text = ((embed.get("footer") or {}).get("text")) or ""
        match = FOOTER.fullmatch(text)
        if match:
            found.append(int(match.group(1)))
    return found


def result_posts(fake, channel_ids: Iterable[int] | None = None) -> Counter[int]:
    """How many result posts each generation has in the fake (all channels, DMs included, by default)."""
    channels = list(channel_ids) if channel_ids is not None else list(fake.messages)
    posts: Counter[int] = Counter()
    for channel_id in channels:
        for message in fake.channel_messages(channel_id):
            for generation_id in result_footer_ids(message):
                posts[generation_id] += 1
    return posts


async def wait_settled(store: Store, timeout: float, *, pause: float = 0.05) -> None:
    """Until no generation is open and every finished one is posted."""
    deadline = time.monotonic() + timeout
    while True:
        totals = await store.ledger_totals()
        to_post = await store.jobs_to_post()
        if totals.open_generations == 0 and not to_post:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled after {timeout}s: {totals.open_generations} open, "
                                 f"{len(to_post)} unposted ({[g.id for g in to_post][:10]})")
        await asyncio.sleep(pause)


async def ledger_by_generation(store: Store, generation_ids: Iterable[int]) -> dict[int, dict[str, list[int]]]:
    """{generation id: {kind: [amounts]}}."""
    result: dict[int, dict[str, list[int]]] = {}
    for generation_id in generation_ids:
        kinds: dict[str, list[int]] = {}
        for entry in await store.ledger_entries(generation_id):
            kinds.setdefault(str(entry.kind), []).append(entry.amount)
        result[generation_id] = kinds
    return result


async def all_generations(store: Store, last_id: int) -> list:
    found = []
    for generation_id in range(1, last_id + 1):
        generation = await store.get(generation_id)
        if generation is not None:
            found.append(generation)
    return found
