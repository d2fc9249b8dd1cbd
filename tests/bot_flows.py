"""Steps a member takes, shared by the end-to-end bot tests (tests/test_bot_*.py).

Each helper drives the real bot through the harness and waits on the fake Discord,
never on a sleep. They return what a member would see: texts, messages, and the row.
"""

from __future__ import annotations

from typing import Any

from storage import Generation
from tests.harness import payloads
from tests.harness.fake_discord import RecordedRequest
from tests.world import World

# What a plain /dream costs on the unified endpoint (the tests' world): the catalogue price of the
# default ray-2 clip, 1080p x 5 s x $0.45 a second x 2,000,000 credits per dollar
# (bot/simulator/prices.py DEFAULT_PRICES). The simulator bills exactly that, so it is also the charge.
PLAIN_CLIP = 4_500_000
# How a member sees that amount (bot/prices/money.py format_money).
PLAIN_CLIP_TEXT = "4,500,000 credits ($2.25)"
# How the reserve was priced, as the member sees it after the amount.
PLAIN_CLIP_RATE = "$0.45/s × 5 s"

EPHEMERAL = 64
CALLBACK_MESSAGE = 4
CALLBACK_DEFERRED = 5
CALLBACK_MODAL = 9


def member(name: str = "member") -> dict[str, Any]:
    """A guild member payload for `world(members=...)`; its `["user"]` invokes things."""
    return payloads.member(payloads.user(username=name))


def content(message: dict[str, Any] | None) -> str:
    return (message or {}).get("content") or ""


def is_result_of(message: dict[str, Any], generation_id: int) -> bool:
    """The result post of a clip, found by its footer marker (the status message has its own)."""
    return any((e.get("footer") or {}).get("text") == f"dreambot clip #{generation_id}"
               for e in message.get("embeds") or [])


def results_of(w: World, generation_id: int, channel_id: int | None = None) -> list[dict[str, Any]]:
    return [m for m in w.fake.channel_messages(channel_id or w.h.channel_id) if is_result_of(m, generation_id)]


async def wait_result(w: World, generation_id: int, channel_id: int | None = None, timeout: float = 5.0) -> dict[str, Any]:
    return await w.fake.wait_message(channel_id or w.h.channel_id, lambda m: is_result_of(m, generation_id),
                                     timeout=timeout)


async def wait_posted(w: World, generation_id: int) -> Generation:
    """The row once the post is recorded: the bot marks it, then edits the status message to its end state."""
    generation = await w.store.get(generation_id)
    assert generation is not None and generation.status_message_id, generation
    await w.fake.wait_for(lambda r: r.method == "PATCH" and r.path.endswith(f"/messages/{generation.status_message_id}")
                          and isinstance(r.json, dict) and f"clip #{generation_id}: " in (r.json.get("content") or "")
                          and ("✅" in r.json["content"] or "❌" in r.json["content"]))
    generation = await w.store.get(generation_id)
    assert generation is not None and generation.posted_at is not None, generation
    return generation


async def answer(w: World, iid: int) -> str:
    """The ephemeral text a member got for an interaction: the direct answer or the first followup.

    Fails unless the answer is ephemeral, so a refusal can never leak into the channel."""
    callback = await w.fake.wait_callback(iid)
    body = callback.json
    if body["type"] == CALLBACK_MESSAGE:
        assert body["data"].get("flags", 0) & EPHEMERAL, f"not ephemeral: {body}"
        return body["data"]["content"]
    assert body["type"] == CALLBACK_DEFERRED and body["data"]["flags"] & EPHEMERAL, f"unexpected callback {body}"
    followup = await w.fake.wait_followup(iid)
    assert followup.json.get("flags", 0) & EPHEMERAL, f"followup not ephemeral: {followup.json}"
    return followup.json["content"]


def clip_number(text: str) -> int:
    """`Clip #7 is on its way...` -> 7."""
    marker = "Clip #"
    start = text.index(marker) + len(marker)
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    return int(text[start:end])


async def dream(w: World, prompt: str, *, user: dict[str, Any] | None = None, channel_id: int | None = None,
                **options: Any) -> tuple[int, str]:
    """/dream: returns the clip number and the member's ephemeral text."""
    iid = await w.h.slash("dream", {"prompt": prompt, **options}, user=user, channel_id=channel_id)
    text = await answer(w, iid)
    assert "is on its way" in text, text
    return clip_number(text), text


async def dream_posted(w: World, prompt: str, **kwargs: Any) -> tuple[Generation, dict[str, Any]]:
    """/dream through to the posted result: (the row as recorded, the result message)."""
    clip, _ = await dream(w, prompt, **kwargs)
    result = await wait_result(w, clip)
    return await wait_posted(w, clip), result


def buttons(message: dict[str, Any]) -> list[str]:
    return [c["custom_id"] for row in message.get("components") or [] for c in row.get("components", [])]


def modal_field(callback: RecordedRequest) -> str:
    """The custom_id of the text input of a modal the bot opened (a type-9 callback)."""
    assert callback.json["type"] == CALLBACK_MODAL, callback.json
    for row in callback.json["data"]["components"]:
        inner = row.get("components") or [row.get("component")]
        for component in inner:
            if component and component.get("type") == 4:
                return component["custom_id"]
    raise AssertionError(f"no text input in the modal: {callback.json}")


async def submit_prompt(w: World, opener_iid: int, prompt: str) -> int:
    """Fill in and submit the prompt modal opened by `opener_iid`; returns the submit's interaction id."""
    callback = await w.fake.wait_callback(opener_iid)
    return await w.h.submit_modal(callback, {modal_field(callback): prompt})


async def spent(w: World, user_id: int | None = None) -> int:
    """What the member has spent this period, in credits (reserves still open count)."""
    budget = await w.store.member_budget(w.h.guild_id, user_id or int(w.h.user["id"]), PLAIN_CLIP)
    return budget.spent


def bot_bodies(w: World) -> list[RecordedRequest]:
    """Every request in which the bot sent message content (posts, replies, edits, callbacks, followups)."""
    sending = []
    for r in w.fake.requests:
        if r.method not in ("POST", "PATCH") or not isinstance(r.json, dict):
            continue
        if r.route in ("create_message", "channel_message", "followup", "webhook_message"):
            sending.append(r)
        elif r.route == "callback" and r.json.get("type") in (4, 7):
            sending.append(r)
    return sending
