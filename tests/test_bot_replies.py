"""A reply to a clip post that arrives before the bot has recorded the post's id.

The member sees the post as soon as Discord has it; the bot records its id only when
Discord's answer to the post comes back. A reply in between is recognised by the replied-to
message itself: written by this bot, with the clip's result footer."""

from __future__ import annotations

import asyncio
import contextlib

from tests.bot_flows import answer, content, dream, dream_posted, wait_posted, wait_result
from tests.harness import payloads
from tests.world import world


@contextlib.asynccontextmanager
async def post_not_recorded(w):
    """Hold every `mark_posted` until the block ends: posts go out, their ids are not stored yet."""
    recorded = w.bot.store.mark_posted
    release = asyncio.Event()

    async def held(*args, **kwargs):
        await release.wait()
        return await recorded(*args, **kwargs)

    w.bot.store.mark_posted = held  # type: ignore[method-assign]
    try:
        yield
    finally:
        release.set()


async def posted_unrecorded(w, prompt: str):
    clip, _ = await dream(w, prompt)
    result = await wait_result(w, clip)
    row = await w.store.get(clip)
    assert row.status == "completed" and row.result_message_id is None and row.posted_at is None
    return row, result


async def status_replying_to(w, reply_id: int) -> dict:
    return await w.fake.wait_message(w.h.channel_id, lambda m: (m.get("message_reference") or {}).get(
        "message_id") == str(reply_id))


async def test_a_reply_before_the_post_is_recorded_still_extends_the_clip(tmp_path):
    async with world(tmp_path) as w:
        async with post_not_recorded(w):
            parent, result = await posted_unrecorded(w, "a paper boat on a stream")
            reply_id = await w.h.send_message("the boat reaches the sea", reply_to=result)
            status = await status_replying_to(w, reply_id)
            assert f"asked for clip #{parent.id + 1}" in content(status)
            assert (await w.store.get(parent.id)).result_message_id is None  # still in the window
        await wait_result(w, parent.id + 1)
        row = await wait_posted(w, parent.id + 1)
        assert row.kind == "extend_forward" and row.parent_id == parent.id and row.prompt == "the boat reaches the sea"
        assert (await w.store.get(parent.id)).result_message_id == int(result["id"])
        assert len(w.sim.jobs()) == 2


async def test_when_discord_leaves_out_the_replied_message_the_bot_fetches_it(tmp_path):
    async with world(tmp_path) as w:
        async with post_not_recorded(w):
            parent, result = await posted_unrecorded(w, "a paper boat on a stream")
            reply = payloads.message_create("the boat reaches the sea", author=w.h.user, channel_id=w.h.channel_id,
                                            guild_id=w.h.guild_id, message_reference={"message_id": result["id"]})
            del reply["referenced_message"]  # absent: Discord did not try to load it (null would mean deleted)
            w.h.dispatch("MESSAGE_CREATE", reply)
            await status_replying_to(w, int(reply["id"]))
            assert any(r.route == "channel_message" and r.method == "GET" and r.path.endswith(f"/{result['id']}")
                       for r in w.fake.requests)
        await wait_result(w, parent.id + 1)
        row = await wait_posted(w, parent.id + 1)
        assert row.parent_id == parent.id


async def test_in_that_window_the_extend_menu_knows_the_clip_too(tmp_path):
    async with world(tmp_path) as w:
        async with post_not_recorded(w):
            parent, result = await posted_unrecorded(w, "a kite over hills")
            menu = await w.h.context_menu("Extend this clip", result)
            modal = await w.fake.wait_callback(menu)
            assert modal.json["data"]["custom_id"] == f"dream:extend-modal:fwd:{parent.id}"
            copy = {**result, "id": str(payloads.ids.next()), "author": payloads.user(username="copycat", bot=True)}
            w.fake.store_incoming_message(copy)
            assert await answer(w, await w.h.context_menu("Extend this clip", copy)) == (
                "That message is not one of my clips.")


async def test_in_that_window_replies_to_look_alikes_and_to_the_status_are_ignored(tmp_path):
    async with world(tmp_path) as w:
        other_bot = payloads.user(username="copycat", bot=True)
        async with post_not_recorded(w):
            parent, result = await posted_unrecorded(w, "a paper boat on a stream")
            before = w.fake.mark()
            # The same embed, footer and buttons, written by another bot and by a member.
            for author in (other_bot, w.h.user):
                copy = {**result, "id": str(payloads.ids.next()), "author": author}
                w.fake.store_incoming_message(copy)
                await w.h.send_message("the boat sinks", reply_to=copy)
            # The clip's own status message has a footer too, not the result's.
            await w.h.send_message("nice status", reply_to=parent.status_message_id)
            # A deleted message (Discord sends null) is not fetched and not acted on.
            gone = payloads.message_create("the boat sinks", author=w.h.user, channel_id=w.h.channel_id,
                                           guild_id=w.h.guild_id, message_reference={"message_id": result["id"]})
            assert gone["referenced_message"] is None
            w.h.dispatch("MESSAGE_CREATE", gone)
        await wait_posted(w, parent.id)
        # A /dream afterwards proves the bot went past the replies without doing anything.
        later, _ = await dream_posted(w, "a second boat")
        assert later.id == parent.id + 1 and len(w.sim.jobs()) == 2
        sent = [r for r in w.fake.requests[before:] if r.route in ("create_message", "channel_message")
                and r.method in ("POST", "GET") and "second boat" not in str(r.json) and "clip #2" not in str(r.json)]
        assert sent == [], [(r.method, r.path, r.json) for r in sent]
