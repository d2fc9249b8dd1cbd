"""Fault campaign, part 1: the video API misbehaves (5xx, 429, slow answers past the timeout,
creates that are made but whose answer is lost: a 502, a dropped connection, a hang, a garbage
body) while 40 members use /dream through the real bot.

Whatever happens, every accepted clip is posted exactly once (the clip or a failure notice)
and paid for once or refunded; a create whose answer was lost is found in the provider's logs
and posted, or refunded; every refused request got an ephemeral answer and cost nothing; the
API made at most one clip per request; the ledger balances with nothing left open, and the
members' side of the books equals the provider's.
"""

from __future__ import annotations

import asyncio
import os
import time

from bot.simulator import SimError, SimulatorConfig
from tests.fault_tools import EPHEMERAL, all_generations, ledger_by_generation, result_posts, speed_up, wait_settled
from tests.harness import payloads
from tests.world import API_KEY, world

COST = 4_500_000  # a plain ray-2 clip: 1080p, 5 s at $0.45 a second, $1 = 2,000,000 credits
DREAMS = 40
MEMBERS = 10


async def test_forty_dreams_through_a_faulty_api_settle_exactly_once(tmp_path, monkeypatch):
    started = time.monotonic()
    config = SimulatorConfig(
        api_keys={API_KEY}, time_scale=0.005, run_jitter=0.6, seed=int(os.environ.get("FAULT_SEED", "11")),
        error_rate=0.2, rate_limit_rate=0.05, retry_after_seconds=2.0,
        slow_rate=0.05, slow_seconds=40.0,  # 0.2 s: under the bot's 0.3 s timeout, for now
        lose_answer_rate=0.08,
    )
    users = [payloads.user(username=f"member{i}") for i in range(MEMBERS)]
    async with world(tmp_path, sim_config=config, members=[payloads.member(u) for u in users],
                     api_timeout_seconds=0.3) as w:
        speed_up(monkeypatch, w.bot)
        await w.store.set_guild_running_limits(w.h.guild_id, 10, None, actor_id=1)
        # Each way of losing a create's answer at least once, whatever the random draws give.
        w.sim.script_faults(["ok", "accept_then_502", "ok", "accept_then_drop", "accept_then_hang", "ok",
                             "accept_then_garbage"], kind="create")

        asked: list[tuple[int, dict, str]] = []
        for i in range(DREAMS):
            if i == DREAMS // 2:
                w.sim.set_faults(slow_seconds=120.0)  # 0.6 s: now slow answers outlast the timeout
            user = users[i % MEMBERS]
            prompt = f"dream {i}: a lantern over a dark sea" + (" FAIL" if i % 9 == 4 else "")
            asked.append((await w.h.slash("dream", {"prompt": prompt}, user=user), user, prompt))
            await asyncio.sleep(0.01)

        # Each member hears back once, privately: accepted, being checked, or refused.
        accepted: dict[int, int] = {}  # generation id -> user id
        in_doubt: dict[int, int] = {}
        refused: list[tuple[int, str]] = []
        for iid, user, _prompt in asked:
            followup = await w.fake.wait_followup(iid, timeout=15)
            assert followup.json["flags"] & EPHEMERAL, followup.json
            assert len(w.fake.followups(iid)) == 1
            text = followup.json["content"]
            if "is on its way" in text or "checking its records" in text:
                generation_id = int(text.split("Clip #", 1)[1].split(" ", 1)[0].rstrip(":"))
                (accepted if "is on its way" in text else in_doubt)[generation_id] = int(user["id"])
            else:
                assert "Nothing was charged" in text, text
                refused.append((int(user["id"]), text))

        await wait_settled(w.store, timeout=40)
        last_id = max([*accepted, *in_doubt], default=0)
        generations = await all_generations(w.store, max(last_id, DREAMS + 5))
        posts = result_posts(w.fake)
        money = await ledger_by_generation(w.store, [g.id for g in generations])

        for generation in generations:
            entries = money[generation.id]
            assert entries.get("reserve") == [COST], (generation.id, entries)
            if generation.id in accepted:
                assert generation.api_id is not None
                assert generation.status in ("completed", "failed")
                assert posts[generation.id] == 1, (generation.id, posts[generation.id])
                assert generation.posted_at is not None and generation.result_message_id is not None
                if generation.status == "completed":
                    assert entries == {"reserve": [COST], "charge": [COST]}, (generation.id, entries)
                else:
                    assert entries == {"reserve": [COST], "refund": [COST]}, (generation.id, entries)
                    assert "FAIL" in generation.prompt or generation.failure_reason
            elif generation.id in in_doubt and generation.api_id is not None:
                # Its answer was lost, the provider's logs showed it made: followed and posted once.
                assert generation.status in ("completed", "failed") and posts[generation.id] == 1, generation
                expected = "charge" if generation.status == "completed" else "refund"
                assert entries == {"reserve": [COST], expected: [COST]}, (generation.id, entries)
            else:
                # Refused after the reserve (the API said no), or lost and not made: refunded, never posted.
                assert generation.api_id is None and generation.status == "failed", generation
                assert entries == {"reserve": [COST], "refund": [COST]}, (generation.id, entries)
                assert posts[generation.id] == 0
                if generation.id in in_doubt:
                    assert generation.status_message_id is None or "refunded" in (
                        w.fake.message(generation.status_message_id) or {}).get("content", "")

        assert len(accepted) + len(in_doubt) + len(refused) == DREAMS
        # The API made at most one clip per request, and every clip it made is one of ours.
        sent = [job.client_request_id for job in w.sim.jobs()]
        assert len(sent) == len(set(sent)) and None not in sent
        ours = {g.client_request_id: g for g in generations}
        for job in w.sim.jobs():
            assert ours[job.client_request_id].api_id in (job.id, None), job.id
        totals = await w.store.ledger_totals()
        assert totals.balanced and totals.open_generations == 0 and totals.open_reserved == 0
        charged = sum(1 for g in generations if g.status == "completed")
        assert totals.charged == charged * COST
        assert totals.refunded == (len(generations) - charged) * COST
        # The members' side of the books is the provider's: every clip's bill is known and equal.
        books = await w.store.provider_totals(w.h.guild_id)
        assert (books.unknown, books.in_doubt, books.overruns) == (0, 0, 0)
        assert books.provider_billed == books.member_charged == charged * COST and books.difference == 0
        # Nobody was charged for anything but their own completed clips.
        for user in users:
            mine = [g for g in generations if g.user_id == int(user["id"])]
            budget = await w.store.member_budget(w.h.guild_id, int(user["id"]), COST)
            assert budget.spent == sum(COST for g in mine if g.status == "completed")
        # Every status message ends showing the outcome, not a stale "queued".
        for generation_id in accepted:
            generation = await w.store.get(generation_id)
            if generation.status_message_id:
                status = w.fake.message(generation.status_message_id)
                assert status is not None and ("✅" in status["content"] or "❌" in status["content"]), \
                    (generation_id, status and status["content"])
        # Every result post pings only its member.
        for message in w.fake.channel_messages(w.h.channel_id):
            if result_posts_of(message):
                mentions = message["allowed_mentions"]
                assert "everyone" not in mentions.get("parse", []) and "roles" not in mentions.get("parse", [])

        faults = dict(w.sim.counters.faults)
        assert faults.get("429", 0) > 0 and sum(faults.get(c, 0) for c in ("500", "502", "503")) > 0
        assert faults.get("slow", 0) > 0
        assert all(faults.get(f, 0) > 0 for f in ("accept_then_502", "accept_then_drop", "accept_then_hang",
                                                  "accept_then_garbage"))
        print(f"\n[faults-api] {DREAMS} dreams, {len(accepted)} accepted, {len(in_doubt)} in doubt, "
              f"{len(refused)} refused; "
              f"{charged} charged, {len(generations) - charged} failed+refunded; sim faults {faults}; "
              f"{sum(posts.values())} result posts; {time.monotonic() - started:.1f}s")


def result_posts_of(message: dict) -> bool:
    from tests.fault_tools import result_footer_ids

    return bool(result_footer_ids(message))


async def test_one_job_the_api_keeps_failing_on_holds_up_no_other(tmp_path, monkeypatch):
    """A provider bug on one job (every fetch of it answers 500) must not stall the other clips;
    the broken one is looked at once more at the job timeout, and refunded when that fails too
    for as long again."""
    config = SimulatorConfig(api_keys={API_KEY}, time_scale=0.005, seed=3)
    async with world(tmp_path, sim_config=config, api_timeout_seconds=1.0, job_timeout_minutes=0.05) as w:
        speed_up(monkeypatch, w.bot)
        await w.store.set_guild_running_limits(w.h.guild_id, 10, None, actor_id=1)
        w.sim.set_faults(queue_seconds=200.0)  # 1 s in the queue: time to poison one job
        iids = [await w.h.slash("dream", {"prompt": f"clip {i}: rain on a tin roof"}) for i in range(6)]
        for iid in iids:
            assert "is on its way" in (await w.fake.wait_followup(iid)).json["content"]
        poisoned = w.sim.jobs()[2]
        find = w.sim.find

        def broken_find(key, dialect, job_id):  # every fetch of this one job now answers 500
            job = find(key, dialect, job_id)
            if job is poisoned:
                raise SimError(500, "Internal server error")
            return job

        monkeypatch.setattr(w.sim, "find", broken_find)
        bad = next(g for g in await w.store.jobs_to_poll() if g.api_id == poisoned.id)

        async def others_posted():
            posts = result_posts(w.fake)
            return all(posts[g] == 1 for g in range(1, 7) if g != bad.id)

        deadline = time.monotonic() + 2.5  # well inside the 3 s job timeout
        while not await others_posted():
            assert time.monotonic() < deadline, f"the other clips stalled behind clip #{bad.id}"
            await asyncio.sleep(0.05)
        assert (await w.store.get(bad.id)).status in ("submitted", "running")

        await wait_settled(w.store, timeout=10)
        given_up = await w.store.get(bad.id)
        assert given_up.status == "failed" and "could not be reached" in given_up.failure_reason
        assert given_up.failed_at - given_up.submitted_at >= 2 * 3.0  # the job timeout, then as long again
        assert [(e.kind, e.amount) for e in await w.store.ledger_entries(bad.id)] == [("reserve", COST), ("refund", COST)]
        assert result_posts(w.fake)[bad.id] == 1
        assert (await w.store.ledger_totals()).balanced
