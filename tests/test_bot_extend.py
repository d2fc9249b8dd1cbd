"""Extending and re-rolling a clip, every way a member can: /extend, a reply, the buttons, the menu."""

from __future__ import annotations

from tests.bot_flows import (
    PLAIN_CLIP,
    answer,
    buttons,
    clip_number,
    content,
    dream_posted,
    spent,
    submit_prompt,
    wait_posted,
    wait_result,
)
from tests.world import world

# The re-rolled clip below: ray-flash-2 is $0.06 a second at any resolution, so 9 s cost
# $0.54 = 1,080,000 credits (bot/simulator/prices.py DEFAULT_PRICES; $1 = 2,000,000 credits).
FLASH_9S = 1_080_000


def frames(w, generation) -> dict:
    """The keyframes of the API request behind a clip."""
    return w.sim.job(generation.api_id).request.get("keyframes") or {}


def ref(w, parent) -> dict:
    """How the API names a clip in keyframes (the generation's uuid)."""
    return {"type": "generation", "id": w.sim.job(parent.api_id).uuid}


async def test_slash_extend_forward_and_backward_send_the_parent_as_the_right_keyframe(tmp_path):
    async with world(tmp_path) as w:
        parent, _ = await dream_posted(w, "a lighthouse at dusk")

        iid = await w.h.slash("extend", {"clip": parent.id, "prompt": "the lamp turns on"})
        text = await answer(w, iid)
        forward = clip_number(text)
        assert "is on its way" in text and "reserved" in text
        result = await wait_result(w, forward)
        row = await wait_posted(w, forward)
        assert row.kind == "extend_forward" and row.parent_id == parent.id
        assert frames(w, row) == {"frame0": ref(w, parent)}
        assert any(f["name"] == "Extended forward" and f"clip #{parent.id}" in f["value"]
                   for f in result["embeds"][0]["fields"])
        assert w.sim.job(row.api_id).video_url in content(result)

        iid = await w.h.slash("extend", {"clip": parent.id, "prompt": "the ship arrives", "direction": "backward"})
        backward = clip_number(await answer(w, iid))
        await wait_result(w, backward)
        row = await wait_posted(w, backward)
        assert row.kind == "extend_backward"
        assert frames(w, row) == {"frame1": ref(w, parent)}
        # An extension is made with its parent's model and default options: a plain clip's price.
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(backward)] == [
            ("reserve", PLAIN_CLIP), ("charge", PLAIN_CLIP)]


async def test_a_reply_to_the_clip_extends_it_with_the_reply_as_prompt(tmp_path):
    async with world(tmp_path) as w:
        parent, result = await dream_posted(w, "a paper boat on a stream")
        reply_id = await w.h.send_message("the boat reaches the sea", reply_to=result)

        status = await w.fake.wait_message(w.h.channel_id, lambda m: (m.get("message_reference") or {}).get(
            "message_id") == str(reply_id))
        assert f"asked for clip #{parent.id + 1}" in content(status)
        child = await wait_result(w, parent.id + 1)
        row = await wait_posted(w, parent.id + 1)
        assert row.kind == "extend_forward" and row.prompt == "the boat reaches the sea"
        assert frames(w, row) == {"frame0": ref(w, parent)}
        assert buttons(child) == [f"dream:extend:fwd:{row.id}", f"dream:extend:back:{row.id}", f"dream:reroll:{row.id}"]


async def test_a_reply_to_something_else_is_ignored(tmp_path):
    async with world(tmp_path) as w:
        parent, _ = await dream_posted(w, "a paper boat on a stream")
        status_id = parent.status_message_id
        before = w.fake.mark()
        other = await w.h.send_message("just chatting")
        await w.h.send_message("nice status", reply_to=status_id)
        await w.h.send_message("replying to chat", reply_to=other)
        # A /dream afterwards proves the bot went past the messages without doing anything.
        await dream_posted(w, "a second boat")
        sent = [r for r in w.fake.requests[before:] if r.route == "create_message"]
        assert all("second boat" in str(r.json) or "clip #2" in str(r.json) for r in sent), [r.json for r in sent]
        assert len(w.sim.jobs()) == 2


async def test_extend_buttons_open_a_modal_and_its_prompt_makes_the_clip(tmp_path):
    async with world(tmp_path) as w:
        parent, result = await dream_posted(w, "a fox in the snow")

        click = await w.h.click(f"dream:extend:fwd:{parent.id}", result)
        submit = await submit_prompt(w, click, "the fox leaps")
        forward = clip_number(await answer(w, submit))
        await wait_result(w, forward)
        row = await wait_posted(w, forward)
        assert row.prompt == "the fox leaps" and row.kind == "extend_forward"
        assert frames(w, row) == {"frame0": ref(w, parent)}

        click = await w.h.click(f"dream:extend:back:{parent.id}", result)
        modal = await w.fake.wait_callback(click)
        assert modal.json["data"]["title"] == f"Lead into clip #{parent.id}"
        submit = await submit_prompt(w, click, "the fox wakes up")
        backward = clip_number(await answer(w, submit))
        await wait_result(w, backward)
        row = await wait_posted(w, backward)
        assert row.kind == "extend_backward"
        assert frames(w, row) == {"frame1": ref(w, parent)}


async def test_buttons_still_work_after_a_restart(tmp_path):
    async with world(tmp_path) as w:
        parent, result = await dream_posted(w, "a fox in the snow")
        await w.restart()
        click = await w.h.click(f"dream:extend:fwd:{parent.id}", result)
        submit = await submit_prompt(w, click, "the fox leaps")
        child = clip_number(await answer(w, submit))
        await wait_result(w, child)


async def test_the_extend_menu_opens_a_modal_and_extends_the_clip(tmp_path):
    async with world(tmp_path) as w:
        parent, result = await dream_posted(w, "a kite over hills")
        menu = await w.h.context_menu("Extend this clip", result)
        modal = await w.fake.wait_callback(menu)
        assert modal.json["data"]["title"] == f"Extend clip #{parent.id}"
        submit = await submit_prompt(w, menu, "the string snaps")
        child = clip_number(await answer(w, submit))
        await wait_result(w, child)
        row = await wait_posted(w, child)
        assert row.kind == "extend_forward" and row.parent_id == parent.id
        assert frames(w, row) == {"frame0": ref(w, parent)}


async def test_the_extend_menu_on_another_message_says_so(tmp_path):
    async with world(tmp_path) as w:
        other = await w.h.send_message("not a clip")
        menu = await w.h.context_menu("Extend this clip", other)
        assert await answer(w, menu) == "That message is not one of my clips."
        assert (await w.store.ledger_totals()).reserved == 0


async def test_reroll_makes_the_same_request_again_and_charges_again(tmp_path):
    async with world(tmp_path) as w:
        parent, result = await dream_posted(w, "a neon city in rain", aspect_ratio="9:16", model="ray-flash-2",
                                            resolution="720p", duration=9, loop=True)
        assert await spent(w) == FLASH_9S
        click = await w.h.click(f"dream:reroll:{parent.id}", result)
        text = await answer(w, click)
        assert f"Re-rolling clip #{parent.id}" in text and "charged again" in text
        again = clip_number(text.split(":", 1)[1])
        assert again != parent.id
        await wait_result(w, again)
        row = await wait_posted(w, again)
        assert row.kind == "reroll" and row.prompt == parent.prompt
        first, second = w.sim.job(parent.api_id).request, w.sim.job(row.api_id).request
        assert first == second and first["model"] == "luma/ray-flash-2" and first["duration"] == 9
        assert await spent(w) == 2 * FLASH_9S
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(again)] == [
            ("reserve", FLASH_9S), ("charge", FLASH_9S)]


async def test_rerolling_an_extension_extends_the_same_clip_again(tmp_path):
    async with world(tmp_path) as w:
        base, _ = await dream_posted(w, "a train in the mountains")
        iid = await w.h.slash("extend", {"clip": base.id, "prompt": "it enters a tunnel", "direction": "backward"})
        extension = clip_number(await answer(w, iid))
        result = await wait_result(w, extension)
        await wait_posted(w, extension)

        click = await w.h.click(f"dream:reroll:{extension}", result)
        again = clip_number((await answer(w, click)).split(":", 1)[1])
        second = await wait_result(w, again)
        row = await wait_posted(w, again)
        assert row.kind == "reroll" and row.parent_id == extension and row.prompt == "it enters a tunnel"
        assert frames(w, row) == {"frame1": ref(w, base)}

        # And a re-roll of that re-roll is still a take of the same extension.
        click = await w.h.click(f"dream:reroll:{again}", second)
        third = clip_number((await answer(w, click)).split(":", 1)[1])
        await wait_result(w, third)
        assert frames(w, await wait_posted(w, third)) == {"frame1": ref(w, base)}
