"""A member's /dream, from the slash command to the posted clip, through discord.py's own code."""

from __future__ import annotations


from tests.bot_flows import PLAIN_CLIP, PLAIN_CLIP_RATE, PLAIN_CLIP_TEXT
from tests.world import world

EPHEMERAL = 64


async def test_dream_answers_at_once_then_posts_the_clip(tmp_path):
    async with world(tmp_path) as w:
        iid = await w.h.slash("dream", {"prompt": "a jellyfish drifting through space", "aspect_ratio": "9:16"})
        callback = await w.fake.wait_callback(iid)
        assert callback.json["type"] == 5 and callback.json["data"]["flags"] & EPHEMERAL
        followup = await w.fake.wait_followup(iid)
        assert "Clip #1 is on its way" in followup.json["content"]
        assert f"{PLAIN_CLIP_TEXT} reserved ({PLAIN_CLIP_RATE})" in followup.json["content"]
        assert followup.json["flags"] & EPHEMERAL

        channel = w.h.channel_id
        result = await w.fake.wait_message(channel, lambda m: "✅ Clip #1 for" in (m.get("content") or ""))
        job = w.sim.jobs()[0]
        assert job.video_url in result["content"]
        assert job.request["aspect_ratio"] == "9:16"
        embed = result["embeds"][0]
        assert "jellyfish drifting" in embed["description"]
        assert any(f["name"] == "Cost" and f["value"] == PLAIN_CLIP_TEXT for f in embed["fields"])
        custom_ids = [c["custom_id"] for row in result["components"] for c in row["components"]]
        assert custom_ids == ["dream:extend:fwd:1", "dream:extend:back:1", "dream:reroll:1"]

        status = await w.fake.wait_message(channel, lambda m: "asked for clip #1: ✅" in (m.get("content") or ""))
        assert result["message_reference"]["message_id"] == str(status["id"])

        generation = await w.store.get(1)
        assert generation.status == "completed" and generation.posted_at is not None
        assert generation.result_message_id == int(result["id"])
        entries = [(e.kind, e.amount) for e in await w.store.ledger_entries(1)]
        assert entries == [("reserve", PLAIN_CLIP), ("charge", PLAIN_CLIP)]
