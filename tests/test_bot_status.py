"""/status (a member's clips, budget and queue, or one clip) and /extend's clip autocomplete."""

from __future__ import annotations

from bot.simulator import SimulatorConfig
from tests.bot_flows import EPHEMERAL, dream, member, wait_posted, wait_result
from tests.harness import payloads
from tests.world import API_KEY, TIME_SCALE, world

SLOW = SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, queue_seconds=100_000)


async def finished(w, prompt: str, *, fail: bool = False, **kwargs) -> int:
    """A clip made and posted (the slow simulator's job is ended by hand)."""
    clip, _ = await dream(w, prompt, **kwargs)
    job = w.sim.jobs()[-1]
    w.sim.finish_now(job.id, failed=fail)
    await wait_result(w, clip, kwargs.get("channel_id"))
    await wait_posted(w, clip)
    return clip


async def status_embed(w, options: dict | None = None, **kwargs) -> dict:
    iid = await w.h.slash("status", options or {}, **kwargs)
    callback = await w.fake.wait_callback(iid)
    data = callback.json["data"]
    assert callback.json["type"] == 4 and data["flags"] & EPHEMERAL, callback.json
    assert not data.get("content"), data  # everything is in the embed
    return data["embeds"][0]


async def test_status_shows_recent_clips_spend_against_the_cap_and_the_queue(tmp_path):
    async with world(tmp_path, sim_config=SLOW) as w:
        me = int(w.h.user["id"])
        await w.store.set_member_cap(w.h.guild_id, me, 20_000_000, "week", actor_id=42)  # $10
        done = await finished(w, "a red balloon")
        failed = await finished(w, "a blue balloon FAIL", fail=True)
        waiting, _ = await dream(w, "a green balloon")

        embed = await status_embed(w)
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        budget = fields["Budget"]
        # Spent = the charged clip + the open reserve (4,500,000 credits each); the failed one was refunded.
        assert budget.startswith("Spent this week: 9,000,000 credits ($4.50) of 20,000,000 credits ($10.00) "
                                 "(own cap); left: 11,000,000 credits ($5.50), about 2 plain clips.")
        assert "token" not in str(embed)
        assert "In progress: 1 of 2 at once." in budget
        recent = fields["Recent"].splitlines()
        video = w.sim.jobs()[0].video_url
        assert recent == [
            f"#{waiting} ⏳ queued · a green balloon",
            f"#{failed} ❌ failed · a blue balloon FAIL",
            f"#{done} ✅ done · [video]({video}) · a red balloon",
        ]
        assert fields["Queue"] == "1 of yours in progress; 0 job(s) ahead of them."
        w.sim.finish_now(w.sim.jobs()[-1].id)
        await wait_result(w, waiting)


async def test_status_of_one_clip(tmp_path):
    async with world(tmp_path, sim_config=SLOW) as w:
        me = int(w.h.user["id"])
        done = await finished(w, "a *star* falls")
        failed = await finished(w, "a FAIL star", fail=True)

        lines = (await status_embed(w, {"clip": done}))["description"].splitlines()
        assert lines[0] == f"**Clip #{done}** by <@{me}>: ✅ done"
        assert lines[1] == "Prompt: a \\*star\\* falls"
        assert f"Video: {w.sim.jobs()[0].video_url}" in lines
        assert lines[-1] == "Cost: 4,500,000 credits ($2.25)"

        lines = (await status_embed(w, {"clip": failed}))["description"].splitlines()
        assert lines[0] == f"**Clip #{failed}** by <@{me}>: ❌ failed"
        assert lines[-2] == "Why it failed: Prompt was flagged by moderation"
        assert lines[-1] == "Cost: nothing: 4,500,000 credits ($2.25) refunded"

        assert (await status_embed(w, {"clip": 999}))["description"] == "I can't find clip #999 in this server."


async def test_status_of_a_clip_in_doubt_a_refund_and_an_overrun_in_credits_and_dollars(tmp_path):
    async with world(tmp_path) as w:
        me = int(w.h.user["id"])

        async def seeded(prompt: str, reserve: int, price_text: str | None = None) -> int:
            g = await w.store.reserve(guild_id=w.h.guild_id, channel_id=w.h.channel_id, user_id=me, kind="dream",
                                      prompt=prompt, cost=reserve, price_text=price_text)
            return g.id

        # A create whose answer was lost: its reserve is held while the provider's records are checked.
        doubt = await seeded("a lost answer", 13_000_000, "$0.65/s × 10 s")
        assert await w.store.mark_in_doubt(doubt)
        lines = (await status_embed(w, {"clip": doubt}))["description"].splitlines()
        assert lines[0] == f"**Clip #{doubt}** by <@{me}>: 🔎 checking with the video service"
        assert "checking its records" in lines[3] and "refunded in full" in lines[3]
        assert "Jobs ahead of it" not in "\n".join(lines)
        assert lines[-1] == "Cost: 13,000,000 credits ($6.50) reserved ($0.65/s × 10 s)"

        # Billed less than reserved: the rest was refunded. Billed more: the overrun is said.
        cheaper = await seeded("billed less", 4_500_000)
        await w.store.mark_submitted(cheaper, "job-cheaper")
        await w.store.complete(cheaper, "https://cdn.example/a.mp4", credits_used=4_000_000)
        dearer = await seeded("billed more", 4_500_000)
        await w.store.mark_submitted(dearer, "job-dearer")
        await w.store.complete(dearer, "https://cdn.example/b.mp4", credits_used=5_000_000)
        lines = (await status_embed(w, {"clip": cheaper}))["description"].splitlines()
        assert lines[-1] == "Cost: 4,000,000 credits ($2.00); 500,000 credits ($0.25) of the reserve refunded"
        lines = (await status_embed(w, {"clip": dearer}))["description"].splitlines()
        assert lines[-1] == "Cost: 5,000,000 credits ($2.50): cost 500,000 credits ($0.25) more than reserved"

        recent = {f["name"]: f["value"] for f in (await status_embed(w))["fields"]}["Recent"].splitlines()
        assert recent[-1] == f"#{doubt} 🔎 checking with the video service · a lost answer"


async def test_extend_autocomplete_offers_my_and_this_channels_finished_clips(tmp_path):
    here, there = payloads.ids.next(), payloads.ids.next()
    other = member("other")
    async with world(tmp_path, sim_config=SLOW, channels=[here, there], members=[other]) as w:
        mine_here = await finished(w, "my clip here")
        await finished(w, "my failed clip FAIL", fail=True)
        theirs_here = await finished(w, "their clip here", user=other["user"])
        theirs_there = await finished(w, "their clip elsewhere", user=other["user"], channel_id=there)
        mine_there = await finished(w, "my clip elsewhere", channel_id=there)
        await dream(w, "my clip still queued")

        iid = await w.h.autocomplete("extend", {"clip": "", "prompt": ""}, "clip", channel_id=here)
        callback = await w.fake.wait_callback(iid)
        assert callback.json["type"] == 8
        choices = callback.json["data"]["choices"]
        assert [c["value"] for c in choices] == [mine_there, mine_here, theirs_here]
        assert choices[0]["name"] == f"#{mine_there} · my clip elsewhere"

        iid = await w.h.autocomplete("extend", {"clip": "their", "prompt": ""}, "clip", channel_id=here)
        choices = (await w.fake.wait_callback(iid)).json["data"]["choices"]
        assert [c["value"] for c in choices] == [theirs_here]

        iid = await w.h.autocomplete("extend", {"clip": "", "prompt": ""}, "clip", channel_id=here,
                                     user=other["user"])
        choices = (await w.fake.wait_callback(iid)).json["data"]["choices"]
        assert [c["value"] for c in choices] == [theirs_there, theirs_here, mine_here]


async def test_status_after_many_clips_with_long_links_still_fits(tmp_path):
    """Reported: 6-8 finished clips made the "Recent" field ~1,600 characters; Discord refuses
    a field value over 1,024 (400, 50035) and the member saw "interaction failed". The fake
    refuses it the same way, so this fails if the field overflows again."""
    async with world(tmp_path) as w:
        me = int(w.h.user["id"])
        for n in range(8):
            clip = await w.store.reserve(guild_id=w.h.guild_id, channel_id=w.h.channel_id, user_id=me, kind="dream",
                                         prompt="🎈 a long prompt about a *red* balloon over the sea " * 20,
                                         cost=500_000)
            await w.store.mark_submitted(clip.id, f"job-{clip.id}")
            await w.store.complete(clip.id, "https://cdn.example/videos/" + "x" * 150 + f"{n}.mp4?sig=abc")
        embed = await status_embed(w)
        recent = next(f["value"] for f in embed["fields"] if f["name"] == "Recent")
        assert len(recent) <= 1024
        lines = recent.splitlines()
        assert lines[0].startswith("#8 ✅ done") and lines[-1].startswith("… and ") and lines[-1].endswith(" more")
