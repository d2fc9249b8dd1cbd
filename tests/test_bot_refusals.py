"""Every refusal a member can meet: an ephemeral answer in plain words, and nothing charged."""

from __future__ import annotations

import sys

import discord
import pytest

from bot.simulator import SimulatorConfig
from tests.bot_flows import (
    PLAIN_CLIP,
    PLAIN_CLIP_TEXT,
    answer,
    content,
    dream,
    dream_posted,
    spent,
    wait_posted,
    wait_result,
)
from tests.harness import payloads
from tests.world import API_KEY, TIME_SCALE, world

MOD_ACTOR = 42
# Jobs that stay queued until the test finishes them (sim.finish_now).
SLOW = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, queue_seconds=100_000)


async def nothing_charged(w, before_spent: int, before_rows: int, open_reserved: int = 0) -> None:
    """No spend, and no generation reserved (or left open) by the refusal."""
    assert await spent(w) == before_spent
    totals = await w.store.ledger_totals()
    assert totals.open_reserved == open_reserved and totals.balanced
    assert totals.generations == before_rows


async def moderator_role(w) -> int:
    """A role with Manage Server, created in the guild as the gateway would announce it."""
    role_id = payloads.ids.next()
    role = payloads.role(role_id, "Mods", permissions=discord.Permissions(manage_guild=True), position=2)
    w.h.dispatch("GUILD_ROLE_CREATE", {"guild_id": str(w.h.guild_id), "role": role})
    return role_id


async def test_over_the_cap_shows_the_budget_left_and_charges_nothing(tmp_path):
    async with world(tmp_path) as w:
        # Room for one plain clip and $1.00 more: the second plain clip does not fit.
        cap = PLAIN_CLIP + 2_000_000
        await w.store.set_member_cap(w.h.guild_id, int(w.h.user["id"]), cap, "day", actor_id=MOD_ACTOR)
        await dream_posted(w, "a first clip")
        before = await w.store.ledger_totals()

        iid = await w.h.slash("dream", {"prompt": "a second clip"})
        text = await answer(w, iid)
        assert text.startswith("That would go over your daily cap of 6,500,000 credits ($3.25): "
                               f"you have spent {PLAIN_CLIP_TEXT} and have 2,000,000 credits ($1.00) left, "
                               f"and this clip costs {PLAIN_CLIP_TEXT}. Your budget resets in "), text
        assert text.endswith(" Nothing was charged."), text
        await nothing_charged(w, PLAIN_CLIP, before.generations)


async def test_blocked_member_is_told_politely(tmp_path):
    async with world(tmp_path) as w:
        await w.store.set_blocked(w.h.guild_id, int(w.h.user["id"]), True, actor_id=MOD_ACTOR)
        text = await answer(w, await w.h.slash("dream", {"prompt": "anything"}))
        assert text.startswith("You can't make clips in this server right now.")
        await nothing_charged(w, 0, 0)


async def test_too_many_running_clips(tmp_path):
    async with world(tmp_path, sim_config=SLOW) as w:
        await w.store.set_member_running_limit(w.h.guild_id, int(w.h.user["id"]), 1, actor_id=MOD_ACTOR)
        first, _ = await dream(w, "first")
        text = await answer(w, await w.h.slash("dream", {"prompt": "second"}))
        assert "You already have 1 clip" in text and "in progress (the limit is 1)" in text and "Nothing was charged" in text
        await nothing_charged(w, PLAIN_CLIP, 1, open_reserved=PLAIN_CLIP)
        w.sim.finish_now(w.sim.jobs()[0].id)
        await wait_result(w, first)


async def test_extend_refuses_unfinished_failed_unknown_and_foreign_clips(tmp_path):
    async with world(tmp_path, sim_config=SLOW) as w:
        running, _ = await dream(w, "still in the queue")
        failed, _ = await dream(w, "this will FAIL")
        w.sim.finish_now(w.sim.jobs()[1].id, failed=True)
        await wait_result(w, failed)
        await wait_posted(w, failed)
        # A finished clip of another server, on the same bot.
        # Its channel 1 exists nowhere: if the poller gets to post it first, Discord says 10003.
        w.h.expect_refusal(status=404, code=10003, path=r"/channels/1/messages")
        foreign = await w.store.reserve(guild_id=payloads.ids.next(), channel_id=1, user_id=2, kind="dream",
                                        prompt="elsewhere", cost=PLAIN_CLIP, dialect="unified")
        await w.store.mark_submitted(foreign.id, "elsewhere-id")
        await w.store.complete(foreign.id, "https://cdn.example/elsewhere.mp4")
        before_spent, before = await spent(w), (await w.store.ledger_totals()).generations

        async def extend(clip: int, direction: str = "forward") -> str:
            return await answer(w, await w.h.slash("extend", {"clip": clip, "prompt": "more", "direction": direction}))

        assert await extend(running) == f"Clip #{running} is not finished yet; only a finished clip can be extended."
        assert await extend(failed, "backward") == f"Clip #{failed} failed; only a finished clip can be extended."
        assert await extend(999) == "I can't find clip #999 in this server."
        assert await extend(foreign.id) == f"I can't find clip #{foreign.id} in this server."
        assert len(w.sim.jobs()) == 2
        await nothing_charged(w, before_spent, before, open_reserved=PLAIN_CLIP)  # the clip still queued


@pytest.mark.parametrize("attachment, words", [
    (dict(filename="notes.pdf", content_type="application/pdf"), "`notes.pdf` is not a PNG, JPEG or WebP image."),
    (dict(filename="huge.png", content_type="image/png", size=11 * 1024 * 1024),
     "`huge.png` is 11.0 MiB; images may be at most 10 MiB."),
])
async def test_bad_attachments_are_refused(tmp_path, attachment, words):
    async with world(tmp_path) as w:
        image = w.h.attachment(**attachment)
        text = await answer(w, await w.h.slash("dream", {"prompt": "from my picture", "start_image": image}))
        assert text == words
        await nothing_charged(w, 0, 0)
        assert w.sim.jobs() == []


@pytest.mark.parametrize("prompt", ["", "   \n\t  ", "\x00\x01\u200b\u2028\x7f"])
async def test_empty_prompts_are_refused(tmp_path, prompt):
    async with world(tmp_path) as w:
        text = await answer(w, await w.h.slash("dream", {"prompt": prompt}))
        assert text == "Please describe the clip you want: the prompt is empty."
        await nothing_charged(w, 0, 0)


async def test_a_huge_prompt_gets_a_polite_answer(tmp_path):
    async with world(tmp_path) as w:
        text = await answer(w, await w.h.slash("dream", {"prompt": "waves " * 2000}))
        assert "please keep it under 1,000" in text
        await nothing_charged(w, 0, 0)
        assert w.sim.jobs() == []


async def test_the_apis_own_rejection_is_shown_and_refunded(tmp_path):
    async with world(tmp_path) as w:
        # A finished clip the video service no longer knows (made with another key, say).
        orphan = await w.store.reserve(guild_id=w.h.guild_id, channel_id=w.h.channel_id, user_id=1, kind="dream",
                                       prompt="old clip", cost=PLAIN_CLIP, dialect="unified")
        await w.store.mark_submitted(orphan.id, "00000000-0000-0000-0000-000000000000:luma/ray-2")
        await w.store.complete(orphan.id, "https://cdn.example/old.mp4")
        text = await answer(w, await w.h.slash("extend", {"clip": orphan.id, "prompt": "continue"}))
        assert text.startswith("The video service did not accept that request: Generation ")
        assert "not found" in text and text.endswith("Nothing was charged.")
        attempt = orphan.id + 1
        # The extension was priced as a plain clip (the orphan names no model: the default one).
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(attempt)] == [
            ("reserve", PLAIN_CLIP), ("refund", PLAIN_CLIP)]
        assert await spent(w) == 0
        # No status message and no result post for a request the API refused.
        assert [m for m in w.fake.channel_messages(w.h.channel_id) if f"clip #{attempt}" in content(m)] == []


@pytest.mark.parametrize("trouble", ["bad key", "no credits"])
async def test_api_account_trouble_is_explained_to_moderators_only(tmp_path, trouble):
    settings = {"aimlapi_key": "sk-not-the-right-key"} if trouble == "bad key" else {}
    async with world(tmp_path, **settings) as w:
        if trouble == "no credits":
            w.sim.set_credits(API_KEY, 0)
        text = await answer(w, await w.h.slash("dream", {"prompt": "a quiet pond"}))
        assert text == "The bot is not available right now. Nothing was charged; please try again later."

        role_id = await moderator_role(w)
        text = await answer(w, await w.h.slash("dream", {"prompt": "a quiet pond"}, member_roles=[role_id],
                                               member_permissions=discord.Permissions(manage_guild=True)))
        why = "its API key was refused" if trouble == "bad key" else "the AI/ML API account is out of credits"
        assert text == (f"The video service refused the bot: {why}. Please check the AI/ML API account. "
                        "Nothing was charged.")
        assert await spent(w) == 0 and (await w.store.ledger_totals()).open_reserved == 0
        assert w.sim.jobs() == []


async def test_a_refused_reply_gets_a_reply_that_deletes_itself(tmp_path, monkeypatch):
    async with world(tmp_path) as w:
        # load_extension makes its own module object: patch the one the bot runs.
        monkeypatch.setattr(sys.modules[type(w.bot.get_cog("DreamCog")).__module__], "REPLY_ERROR_SECONDS", 0.05)
        parent, result = await dream_posted(w, "a glass of water")
        await w.store.set_blocked(w.h.guild_id, int(w.h.user["id"]), True, actor_id=MOD_ACTOR)
        reply_id = await w.h.send_message("it spills", reply_to=result)
        refusal = await w.fake.wait_for(lambda r: r.route == "create_message" and isinstance(r.json, dict)
                                        and (r.json.get("message_reference") or {}).get("message_id") == reply_id)
        assert refusal.json["content"].startswith("You can't make clips in this server right now.")
        # It pings nobody: a ping that deletes itself is a ghost ping.
        assert refusal.json["allowed_mentions"] == {"parse": [], "replied_user": False}
        await w.fake.wait_for(lambda r: r.method == "DELETE" and r.message_id == refusal.message_id)
        assert w.fake.message(refusal.message_id) is None
        assert await spent(w) == PLAIN_CLIP and len(w.sim.jobs()) == 1


async def test_an_unexpected_failure_still_gets_an_answer(tmp_path):
    async with world(tmp_path) as w:
        async def broken(*args, **kwargs):
            raise RuntimeError("the disk is on fire")

        w.bot.dreams.start = broken  # type: ignore[method-assign]
        w.h.expect_errors = True
        text = await answer(w, await w.h.slash("dream", {"prompt": "a candle"}))
        assert text == "Something went wrong on my side. Nothing was charged; please try again."
        errors = w.h.take_errors()
        assert any(isinstance(e.error, RuntimeError) for e in errors), errors
        assert not any(isinstance(e.error, AttributeError) for e in errors), errors


async def test_a_lost_confirmation_does_not_lose_the_status_or_claim_nothing_was_charged(tmp_path):
    async with world(tmp_path) as w:
        # Discord refuses the ephemeral confirmation (the webhook retries 5xx itself; a 4xx it cannot).
        w.fake.inject_fault("POST", r"/webhooks/\d+/[^/]+", status=404, body={"message": "Unknown Webhook", "code": 10015})
        iid = await w.h.slash("dream", {"prompt": "a lantern festival"})
        await w.fake.wait_callback(iid)
        result = await wait_result(w, 1)
        status = await wait_posted(w, 1)
        assert status.status_message_id is not None and result["message_reference"]["message_id"] == str(
            status.status_message_id)
        said = [r.json.get("content") for r in w.fake.requests if r.route == "followup" and isinstance(r.json, dict)]
        assert not any("Nothing was charged" in (text or "") for text in said), said
        assert await spent(w) == PLAIN_CLIP


async def test_manage_server_on_the_interaction_is_enough_to_be_told_why(tmp_path):
    async with world(tmp_path) as w:
        w.sim.set_credits(API_KEY, 0)
        # No cached role says so; Discord's resolved permissions on the interaction do (as /dreamadmin trusts).
        text = await answer(w, await w.h.slash("dream", {"prompt": "a quiet pond"},
                                               member_permissions=discord.Permissions(manage_guild=True)))
        assert "the AI/ML API account is out of credits" in text
