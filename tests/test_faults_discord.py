"""Fault campaign, part 3: Discord's REST API answers 429 and 5xx to the bot's posts and edits,
including the worst kind: a post Discord made but whose answer was lost. Every clip is still
posted exactly once, and every status message and followup eventually says the right thing."""

from __future__ import annotations

import time

from bot.simulator import SimulatorConfig
from tests.fault_tools import EPHEMERAL, result_posts, speed_up, wait_settled
from tests.world import API_KEY, world

POSTS = r"/channels/\d+/messages"
EDITS = r"/channels/\d+/messages/\d+"
DREAMS = 12


async def test_posts_arrive_exactly_once_through_discord_429_and_5xx(tmp_path, monkeypatch):
    started = time.monotonic()
    # ~0.9 s per clip: status messages go out first, results later, so each gets its own faults.
    config = SimulatorConfig(api_keys={API_KEY}, time_scale=0.04, run_jitter=0.3, seed=5)
    async with world(tmp_path, sim_config=config) as w:
        speed_up(monkeypatch, w.bot)
        await w.store.set_guild_running_limits(w.h.guild_id, DREAMS, None, actor_id=1)
        fake = w.fake
        # Status posts and followups: rate limited, and one 503 (discord.py does not retry it).
        fake.inject_fault("POST", POSTS, status=429, times=3, retry_after=0.05)
        fake.inject_fault("POST", POSTS, status=503, times=1)
        fake.inject_fault("POST", r"/webhooks/\d+/[^/]+", status=429, times=2, retry_after=0.05)
        iids = [await w.h.slash("dream", {"prompt": f"clip {i}: paper boats in a gutter"}) for i in range(DREAMS)]
        for iid in iids:
            followup = await fake.wait_followup(iid, timeout=10)
            assert "is on its way" in followup.json["content"] and followup.json["flags"] & EPHEMERAL
        status_faults = 3 + 1 + 2

        def statuses_done():
            answered = {r.json["content"].split("clip #", 1)[1].split(":", 1)[0]
                        for r in fake.requests_to("POST", POSTS)
                        if r.status != 429 and r.json and "asked for clip #" in (r.json.get("content") or "")}
            return len(answered) == DREAMS

        await fake.wait_state(statuses_done, timeout=5)
        assert not await w.store.jobs_to_post(), "the clips finished before the faults were in place"

        # Result posts: rate limits, 503s, a 500 discord.py retries itself, and two lost answers
        # (Discord made the post, the bot heard 500 / 503): the nonce and the footer search stop a double.
        faults = [
            fake.inject_fault("POST", POSTS, status=429, times=3, retry_after=0.05),
            fake.inject_fault("POST", POSTS, status=503, times=3),
            fake.inject_fault("POST", POSTS, status=503, times=1, applied=True),
            fake.inject_fault("POST", POSTS, status=500, times=1, applied=True),
            fake.inject_fault("POST", POSTS, status=502, times=1),
            fake.inject_fault("GET", POSTS, status=503, times=1),  # the footer search itself fails once
            fake.inject_fault("PATCH", EDITS, status=429, times=3, retry_after=0.05),
            fake.inject_fault("PATCH", EDITS, status=503, times=3),
        ]
        await wait_settled(w.store, timeout=30)
        injected = sum(1 for r in fake.requests if r.fault)
        assert injected >= status_faults + sum(1 for _ in faults)

        posts = result_posts(fake)
        assert sorted(posts) == list(range(1, DREAMS + 1)), posts
        assert all(count == 1 for count in posts.values()), posts
        assert all(f.times == 0 for f in faults), [(f.method, f.status, f.times) for f in faults]
        for generation_id in range(1, DREAMS + 1):
            generation = await w.store.get(generation_id)
            assert generation.status == "completed" and generation.posted_at is not None
            message = fake.message(generation.result_message_id)
            assert message is not None and f"dreambot clip #{generation_id}" == message["embeds"][0]["footer"]["text"]
            assert [e.kind for e in await w.store.ledger_entries(generation_id)] == ["reserve", "charge"]
        assert any(r.deduplicated for r in fake.requests), "no post was answered from its nonce"
        totals = await w.store.ledger_totals()
        assert totals.balanced and totals.open_generations == 0
        print(f"\n[faults-discord] {DREAMS} clips, {injected} Discord faults, {sum(posts.values())} result posts, "
              f"{sum(1 for r in fake.requests if r.deduplicated)} nonce repeats; {time.monotonic() - started:.1f}s")


async def test_a_post_made_before_a_lost_answer_is_found_not_repeated(tmp_path, monkeypatch):
    """Discord made the post but answered 503: the retry finds it by its footer and records it."""
    config = SimulatorConfig(api_keys={API_KEY}, time_scale=0.005, seed=2)
    async with world(tmp_path, sim_config=config) as w:
        speed_up(monkeypatch, w.bot)
        iid = await w.h.slash("dream", {"prompt": "a kite over dunes"})
        await w.fake.wait_followup(iid)
        status = await w.fake.wait_message(w.h.channel_id, lambda m: "asked for clip #1" in m["content"])
        w.fake.inject_fault("POST", POSTS, status=503, times=1, applied=True)
        await wait_settled(w.store, timeout=5)
        assert result_posts(w.fake)[1] == 1
        generation = await w.store.get(1)
        posts = [r for r in w.fake.requests_to("POST", POSTS) if r.json and "embeds" in r.json
                 and r.json["embeds"][0]["footer"]["text"] == "dreambot clip #1"]
        assert len(posts) == 1 and posts[0].fault  # sent once; its answer was the 503
        result = w.fake.message(generation.result_message_id)
        assert result["embeds"][0]["footer"]["text"] == "dreambot clip #1"
        assert int(status["id"]) == generation.status_message_id


async def test_when_the_footer_search_fails_too_the_nonce_stops_a_double(tmp_path, monkeypatch):
    """The answer to the post was lost and the history search that would find it fails as well:
    the re-send carries the same enforced nonce, and Discord hands back the first message."""
    config = SimulatorConfig(api_keys={API_KEY}, time_scale=0.005, seed=2)
    async with world(tmp_path, sim_config=config) as w:
        speed_up(monkeypatch, w.bot)
        iid = await w.h.slash("dream", {"prompt": "a lighthouse blinking"})
        await w.fake.wait_followup(iid)
        await w.fake.wait_message(w.h.channel_id, lambda m: "asked for clip #1" in m["content"])
        w.fake.inject_fault("POST", POSTS, status=503, times=1, applied=True)
        w.fake.inject_fault("GET", POSTS, status=503, times=1)
        await wait_settled(w.store, timeout=5)
        assert result_posts(w.fake)[1] == 1
        repeats = [r for r in w.fake.requests if r.deduplicated]
        assert len(repeats) == 1 and repeats[0].json["nonce"] == "dreambot-1" and repeats[0].json["enforce_nonce"]
        generation = await w.store.get(1)
        assert generation.result_message_id == repeats[0].message_id
