"""The extend modal carries its clip and direction in its custom_id, so a submit is handled
once, by whichever process receives it: the one that opened it or one after a restart."""

from __future__ import annotations

import pytest

from cogs.views import PROMPT_FIELD_ID
from tests.bot_flows import (
    CALLBACK_MODAL,
    PLAIN_CLIP,
    answer,
    clip_number,
    dream_posted,
    modal_field,
    spent,
    submit_prompt,
    wait_posted,
    wait_result,
)
from tests.harness import payloads
from tests.world import world

# How a member opens the modal: (the button's way or the menu, the direction it extends in).
OPENERS = [("fwd", "extend_forward"), ("back", "extend_backward"), ("menu", "extend_forward")]


async def open_modal(w, opener: str, parent, result) -> int:
    if opener == "menu":
        return await w.h.context_menu("Extend this clip", result)
    return await w.h.click(f"dream:extend:{opener}:{parent.id}", result)


def all_callbacks(w, iid: int) -> list:
    """Every callback the bot sent for an interaction, refused by the fake or not."""
    return [r for r in w.fake.requests if r.route == "callback" and int(r.params["interaction_id"]) == iid]


async def submitted_once(w, submit: int, parent, kind: str) -> None:
    """The submit made exactly one clip, charged once, answered once, and nothing else happened."""
    child = clip_number(await answer(w, submit))
    await wait_result(w, child)
    row = await wait_posted(w, child)
    assert row.kind == kind and row.parent_id == parent.id and row.prompt == "the fox leaps"
    # A second handler would have answered the same interaction again or made a second clip by now:
    # one more full /dream round lets any such task run before counting.
    await dream_posted(w, "one more round")
    assert len(all_callbacks(w, submit)) == 1 and len(w.fake.followups(submit)) == 1
    assert len(w.sim.jobs()) == 3  # the parent, the extension, the extra round
    assert [(e.kind, e.amount) for e in await w.store.ledger_entries(child)] == [
        ("reserve", PLAIN_CLIP), ("charge", PLAIN_CLIP)]
    assert await spent(w) == 3 * PLAIN_CLIP  # the parent, the extension (same model and options), the extra round


async def test_the_modal_names_its_clip_and_direction_and_its_field_is_stable(tmp_path):
    async with world(tmp_path) as w:
        parent, result = await dream_posted(w, "a fox in the snow")
        for opener, way, title in [("fwd", "fwd", f"Extend clip #{parent.id}"),
                                   ("back", "back", f"Lead into clip #{parent.id}"),
                                   ("menu", "fwd", f"Extend clip #{parent.id}")]:
            modal = await w.fake.wait_callback(await open_modal(w, opener, parent, result))
            assert modal.json["type"] == CALLBACK_MODAL
            assert modal.json["data"]["custom_id"] == f"dream:extend-modal:{way}:{parent.id}"
            assert modal.json["data"]["title"] == title
            assert modal_field(modal) == PROMPT_FIELD_ID == "dream:extend-modal:prompt"


@pytest.mark.parametrize("opener, kind", OPENERS)
async def test_a_modal_opened_before_a_restart_is_handled_once_after_it(tmp_path, opener, kind):
    async with world(tmp_path) as w:
        parent, result = await dream_posted(w, "a fox in the snow")
        opened = await open_modal(w, opener, parent, result)
        await w.fake.wait_callback(opened)
        old = w.bot
        await w.restart()
        assert w.bot is not old
        submit = await submit_prompt(w, opened, "the fox leaps")
        await submitted_once(w, submit, parent, kind)


@pytest.mark.parametrize("opener, kind", OPENERS)
async def test_a_modal_submitted_to_the_process_that_opened_it_is_handled_once(tmp_path, opener, kind):
    async with world(tmp_path) as w:
        parent, result = await dream_posted(w, "a fox in the snow")
        opened = await open_modal(w, opener, parent, result)
        submit = await submit_prompt(w, opened, "the fox leaps")
        await submitted_once(w, submit, parent, kind)


async def test_bad_submissions_get_the_usual_polite_refusal_and_cost_nothing(tmp_path):
    guild_a, guild_b = payloads.ids.next(), payloads.ids.next()
    async with world(tmp_path, guild_ids=[guild_a, guild_b]) as w:
        parent, result = await dream_posted(w, "a fox in the snow")
        channel_b = w.h.channel_ids(guild_b)[0]

        unknown = await w.h.submit_modal("dream:extend-modal:fwd:999", {PROMPT_FIELD_ID: "the fox leaps"})
        assert await answer(w, unknown) == "I can't find clip #999 in this server."
        elsewhere = await w.h.submit_modal(f"dream:extend-modal:back:{parent.id}", {PROMPT_FIELD_ID: "the fox leaps"},
                                           channel_id=channel_b)
        assert await answer(w, elsewhere) == f"I can't find clip #{parent.id} in this server."

        opened = await w.h.click(f"dream:extend:fwd:{parent.id}", result)
        blank = await submit_prompt(w, opened, "  \n ")
        assert await answer(w, blank) == "Please describe the clip you want: the prompt is empty."
        no_field = await w.h.submit_modal(f"dream:extend-modal:fwd:{parent.id}", {})
        assert await answer(w, no_field) == "Please describe the clip you want: the prompt is empty."

        assert len(w.sim.jobs()) == 1
        assert await spent(w) == PLAIN_CLIP  # the parent only
        assert (await w.store.ledger_totals()).open_reserved == 0


async def test_other_modal_submits_are_left_alone(tmp_path):
    async with world(tmp_path) as w:
        parent, _ = await dream_posted(w, "a fox in the snow")
        before = w.fake.mark()
        for custom_id in ("0123456789abcdef0123456789abcdef", f"dream:extend-modal:sideways:{parent.id}",
                          f"dream:extend-modal:fwd:{parent.id}:extra", f"xdream:extend-modal:fwd:{parent.id}"):
            await w.h.submit_modal(custom_id, {PROMPT_FIELD_ID: "the fox leaps"})
        await dream_posted(w, "one more round")
        assert not [r for r in w.fake.requests[before:] if r.route == "callback"
                    and "one more round" not in str(w.h.interactions[int(r.params["interaction_id"])])]
        assert len(w.sim.jobs()) == 2
