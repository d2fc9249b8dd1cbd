"""MESSAGE_CONTENT_INTENT=false: the bot asks Discord for no privileged intent, reads no
replies, and everything that is not a reply still works."""

from __future__ import annotations

from tests.bot_flows import answer, clip_number, dream_posted, submit_prompt, wait_posted, wait_result
from tests.harness.fake_gateway import PRIVILEGED_INTENTS
from tests.world import world


async def test_without_the_intent_replies_are_not_read_and_everything_else_works(tmp_path):
    async with world(tmp_path, message_content_intent=False) as w:
        assert not w.bot.intents.value & PRIVILEGED_INTENTS

        parent, result = await dream_posted(w, "a paper boat on a stream")
        before = len(w.sim.jobs())
        # Discord delivers the reply with its text blanked (the harness does what Discord does).
        reply_id = await w.h.send_message("the boat reaches the sea", reply_to=result)

        iid = await w.h.slash("extend", {"clip": parent.id, "prompt": "the boat sinks"})
        by_command = clip_number(await answer(w, iid))
        await wait_result(w, by_command)

        click = await w.h.click(f"dream:extend:fwd:{parent.id}", result)
        by_button = clip_number(await answer(w, await submit_prompt(w, click, "the boat flies")))
        await wait_result(w, by_button)

        menu = await w.h.context_menu("Extend this clip", result)
        by_menu = clip_number(await answer(w, await submit_prompt(w, menu, "the boat turns")))
        await wait_result(w, by_menu)

        prompts = [(await wait_posted(w, clip)).prompt for clip in (by_command, by_button, by_menu)]
        assert prompts == ["the boat sinks", "the boat flies", "the boat turns"]
        # Three clips from three ways in, none from the reply, and no answer to the reply either.
        assert len(w.sim.jobs()) == before + 3
        assert not [m for m in w.fake.channel_messages(w.h.channel_id)
                    if (m.get("message_reference") or {}).get("message_id") == str(reply_id)]
