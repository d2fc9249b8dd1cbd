"""What the channel sees of a clip: images in, failures, status edits, lost channels, and mention safety."""

from __future__ import annotations

import json
import sys

from bot.simulator import SimulatorConfig
from tests.bot_flows import (
    PLAIN_CLIP,
    PLAIN_CLIP_TEXT,
    bot_bodies,
    buttons,
    content,
    dream,
    dream_posted,
    spent,
    wait_posted,
    wait_result,
)
from tests.world import API_KEY, TIME_SCALE, world


def test_the_bot_asks_for_the_message_content_intent(tmp_path):
    from tests.world import make_settings, DreamBot

    bot = DreamBot(make_settings(tmp_path / "db.sqlite3"))
    assert bot.intents.message_content is True  # replies to a clip are read as prompts


async def finished_status_edit(w, clip: int):
    return await w.fake.wait_for(lambda r: r.method == "PATCH" and isinstance(r.json, dict)
                                 and f"asked for clip #{clip}: ✅ done" in (r.json.get("content") or ""))


async def test_dream_with_start_and_end_images_sends_them_as_keyframes(tmp_path):
    async with world(tmp_path) as w:
        start = w.h.attachment("first.png", content_type="image/png")
        end = w.h.attachment("last.jpg", content_type="image/jpeg")
        row, result = await dream_posted(w, "a flower opens", start_image=start, end_image=end)
        request = w.sim.job(row.api_id).request
        assert request["keyframes"] == {"frame0": {"type": "image", "url": start["url"]},
                                        "frame1": {"type": "image", "url": end["url"]}}
        assert row.kind == "image_to_video"
        assert "start image · end image" in result["embeds"][0]["fields"][0]["value"]


async def test_a_failed_clip_is_posted_with_why_and_refunded(tmp_path):
    async with world(tmp_path) as w:
        clip, _ = await dream(w, "a dragon FAIL")
        result = await wait_result(w, clip)
        row = await wait_posted(w, clip)
        assert row.status == "failed"
        assert content(result) == f"❌ Clip #{clip} for <@{w.h.user['id']}> could not be made."
        fields = {f["name"]: f["value"] for f in result["embeds"][0]["fields"]}
        assert fields["Why"] == "Prompt was flagged by moderation"
        assert fields["Cost"] == f"nothing: {PLAIN_CLIP_TEXT} refunded"
        assert buttons(result) == []
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(clip)] == [
            ("reserve", PLAIN_CLIP), ("refund", PLAIN_CLIP)]
        assert await spent(w) == 0
        status = w.fake.message(row.status_message_id)
        assert content(status) == f"🎬 <@{w.h.user['id']}> asked for clip #{clip}: ❌ failed"


async def test_status_goes_from_queued_to_dreaming_without_spamming(tmp_path):
    # Half a second queued, half a second running: the poller looks ~10 times in each state.
    config = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, queue_seconds=100, run_seconds=100)
    async with world(tmp_path, sim_config=config) as w:
        clip, _ = await dream(w, "a slow sunrise")
        await wait_result(w, clip, timeout=10)
        row = await wait_posted(w, clip)
        who = f"🎬 <@{w.h.user['id']}> asked for clip #{clip}: "
        post = next(r for r in w.fake.requests if r.message_id == row.status_message_id)
        assert post.json["content"] == who + "⏳ queued (0:00 elapsed)"
        states = [r.json["content"] for r in w.fake.edits_of(row.status_message_id)]
        # One edit per state change (the 15 s refresh of the elapsed time is far away).
        assert states == [who + "🌙 dreaming (0:00 elapsed)", who + "✅ done"], states
        assert w.sim.counters.requests["fetch_one"] >= 10  # it did look often; it just did not edit each time


async def test_a_long_state_refreshes_its_elapsed_time_at_the_set_pace(tmp_path, monkeypatch):
    config = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, queue_seconds=100_000)
    async with world(tmp_path, sim_config=config) as w:
        clips = sys.modules[type(w.bot.get_cog("ClipsCog")).__module__]  # the module the bot loaded
        monkeypatch.setattr(clips, "PROGRESS_EDIT_SECONDS", 0.3)  # 15 s in real life
        clip, _ = await dream(w, "a long queue")
        status = await w.fake.wait_message(w.h.channel_id, lambda m: f"asked for clip #{clip}:" in content(m))
        await w.fake.wait_for(lambda r: len(w.fake.edits_of(int(status["id"]))) >= 3, timeout=5)
        w.sim.finish_now(w.sim.jobs()[0].id)
        await wait_result(w, clip)
        edits = w.fake.edits_of(int(status["id"]))[:3]
        assert all("⏳ queued (0:0" in r.json["content"] for r in edits)
        posted = next(r for r in w.fake.requests if r.message_id == int(status["id"])).at
        times = [posted] + [r.at for r in edits]
        assert all(later - earlier >= 0.3 for earlier, later in zip(times, times[1:])), times


async def test_a_clip_already_running_when_the_status_is_posted_shows_dreaming(tmp_path):
    # The poller looks as soon as the job is accepted, before the status message exists.
    config = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, queue_seconds=0, run_seconds=100)
    async with world(tmp_path, sim_config=config) as w:
        clip, _ = await dream(w, "a fast start")
        status = await w.fake.wait_message(w.h.channel_id, lambda m: f"asked for clip #{clip}: 🌙 dreaming" in content(m))
        assert content(status).endswith(" elapsed)")
        await wait_result(w, clip)


async def test_a_clip_whose_channel_is_gone_is_sent_by_dm(tmp_path):
    config = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, queue_seconds=100_000)
    async with world(tmp_path, sim_config=config) as w:
        clip, _ = await dream(w, "a comet")
        channel = w.h.channel_id
        await w.fake.wait_message(channel, lambda m: f"asked for clip #{clip}" in content(m))
        w.h.expect_refusal(status=404, code=10003)  # posting and editing in the deleted channel
        w.fake.delete_channel(channel)
        w.sim.finish_now(w.sim.jobs()[0].id)

        dm_channel = await w.fake.wait_state(lambda: w.fake.dm_channel_id(int(w.h.user["id"])))
        dm = await w.fake.wait_message(dm_channel, lambda m: f"Clip #{clip}" in content(m))
        assert content(dm).startswith("The channel of this clip is gone, so here it is.\n")
        assert w.sim.jobs()[0].video_url in content(dm)
        await finished_status_edit(w, clip)  # tried after the post is recorded (and fails: the channel is gone)
        row = await w.store.get(clip)
        assert row.posted_at is not None
        assert (row.result_channel_id, row.result_message_id) == (dm_channel, int(dm["id"]))


async def test_a_deleted_status_message_does_not_stop_the_result(tmp_path):
    config = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, queue_seconds=100_000)
    async with world(tmp_path, sim_config=config) as w:
        clip, _ = await dream(w, "a comet")
        status = await w.fake.wait_message(w.h.channel_id, lambda m: f"asked for clip #{clip}" in content(m))
        w.h.expect_refusal(status=404, code=10008, method="PATCH")  # the status edit finds it gone
        w.fake.delete_message(w.h.channel_id, int(status["id"]))
        w.sim.finish_now(w.sim.jobs()[0].id)
        result = await wait_result(w, clip)
        post = next(r for r in w.fake.requests if r.message_id == int(result["id"]))
        assert post.json["message_reference"]["fail_if_not_exists"] is False
        edit = await finished_status_edit(w, clip)
        assert edit.status == 404  # the status message is gone; the bot shrugs
        row = await w.store.get(clip)
        assert row.posted_at is not None and row.result_message_id == int(result["id"])


async def test_mentions_in_a_prompt_ping_nobody(tmp_path):
    prompt = "@everyone look <@&123456789012345678> and <@234567890123456789> **bold**"
    async with world(tmp_path) as w:
        row, result = await dream_posted(w, prompt)
        await w.h.send_message("@here more <@&123456789012345678>", reply_to=result)
        await wait_result(w, row.id + 1)
        await wait_posted(w, row.id + 1)
        for options in ({}, {"clip": row.id}):  # /status quotes prompts too
            await w.fake.wait_callback(await w.h.slash("status", options))
        requester = int(w.h.user["id"])

        sent = bot_bodies(w)
        assert len(sent) >= 8
        for request in sent:
            body = request.json if request.route != "callback" else request.json.get("data", {})
            mentions = body.get("allowed_mentions")
            assert mentions is not None, f"{request.method} {request.path} has no allowed_mentions: {body}"
            assert mentions.get("parse") == [], body
            assert mentions.get("roles", []) == [], body
            is_result = any((e.get("footer") or {}).get("text", "").startswith("dreambot clip #")
                            and "status" not in e["footer"]["text"] for e in body.get("embeds") or [])
            assert mentions.get("users", []) == ([requester] if is_result and request.route == "create_message"
                                                 else []), body
            # The prompt is only ever inside an embed, escaped.
            assert "@everyone" not in (body.get("content") or "") and "<@&" not in (body.get("content") or "")
            assert "<@234567890123456789>" not in (body.get("content") or "")
        assert result["embeds"][0]["description"] == (
            "@everyone look <@&123456789012345678> and <@234567890123456789> \\*\\*bold\\*\\*")
        assert not any("@everyone" in json.dumps(r.json.get("content") if isinstance(r.json, dict) else "")
                       for r in sent)
