"""The provider as it is today, through the real bot, the fake Discord and the simulator:
current models and their options, prices from the catalogue, and creates whose answer is lost.
"""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from bot.simulator import SimulatorConfig
from tests.bot_flows import answer, clip_number, dream, results_of, wait_posted, wait_result
from tests.fault_tools import wait_settled
from tests.world import API_KEY, TIME_SCALE, world

RAY_32_1080P_10S = 13_000_000  # $0.65 a second, 10 seconds, $1 = 2,000,000 credits
PLAIN_RAY_2 = 4_500_000  # the default ray-2 clip: 1080p, 5 s at $0.45 a second


def sim_config(**changes) -> SimulatorConfig:
    return SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1, **changes)


def creates(w) -> int:
    return w.sim.counters.by_dialect_kind[("unified", "create")] + w.sim.counters.by_dialect_kind[("unified", "extend")]


def ledger(entries) -> list[tuple[str, int]]:
    return [(str(e.kind), e.amount) for e in entries]


async def test_the_dream_command_offers_exactly_the_current_models(tmp_path):
    async with world(tmp_path) as w:
        dream_command = next(c for c in w.fake.commands[None] if c["name"] == "dream")
        options = {o["name"]: o for o in dream_command["options"]}
        assert [c["value"] for c in options["model"]["choices"]] == ["ray-2", "ray-flash-2", "ray-3.2"]
        assert [c["value"] for c in options["duration"]["choices"]] == [5, 9, 10]
        assert [c["value"] for c in options["resolution"]["choices"]] == ["360p", "540p", "720p", "1080p", "4k"]
        assert "hdr" in options


async def test_ray_3_2_reserves_its_exact_price_and_is_charged_what_the_service_bills(tmp_path):
    # The provider bills a million credits less than the list price: the member gets that back.
    async with world(tmp_path, sim_config=sim_config(credits_used_delta=-1_000_000)) as w:
        clip, text = await dream(w, "a lighthouse in a storm", model="ray-3.2", resolution="1080p", duration=10)
        assert "13,000,000 credits ($6.50)" in text
        assert ledger(await w.store.ledger_entries(clip)) == [("reserve", RAY_32_1080P_10S)]
        job = w.sim.jobs()[0]
        assert job.request["model"] == "luma/ray-3.2" and job.request["duration"] == 10
        assert job.request["resolution"] == "1080p" and "keyframes" not in job.request

        await wait_result(w, clip)
        generation = await wait_posted(w, clip)
        assert ledger(await w.store.ledger_entries(clip)) == [
            ("reserve", RAY_32_1080P_10S), ("charge", 12_000_000), ("refund", 1_000_000)]
        assert (generation.tokens_charged, generation.provider_credits) == (12_000_000, 12_000_000)


async def test_an_overrun_is_charged_in_full_and_noted(tmp_path):
    async with world(tmp_path, sim_config=sim_config(credits_used_delta=250_000)) as w:
        clip, _ = await dream(w, "a paper boat on a river")
        await wait_result(w, clip)
        await wait_posted(w, clip)
        assert ledger(await w.store.ledger_entries(clip)) == [("reserve", PLAIN_RAY_2), ("charge", PLAIN_RAY_2 + 250_000)]
        totals = await w.store.provider_totals(w.h.guild_id)
        assert (totals.overruns, totals.overrun_credits) == (1, 250_000)
        assert (await w.store.ledger_totals()).balanced


async def test_a_cap_of_ten_dollars_takes_one_such_clip_and_refuses_the_second(tmp_path):
    async with world(tmp_path) as w:
        await w.store.set_guild_cap(w.h.guild_id, 20_000_000, "month", actor_id=1)
        await dream(w, "first", model="ray-3.2", resolution="1080p", duration=10)
        iid = await w.h.slash("dream", {"prompt": "second", "model": "ray-3.2", "resolution": "1080p", "duration": 10})
        text = await answer(w, iid)
        assert "cap" in text and "Nothing was charged" in text and "$6.50" in text
        assert creates(w) == 1


@pytest.mark.parametrize("options, says", [
    ({"model": "ray-2", "duration": 10}, "5 or 9"),
    ({"model": "ray-3.2", "resolution": "4k"}, "1080p"),
    ({"model": "ray-3.2", "aspect_ratio": "9:21"}, "9:21"),
    ({"model": "ray-3.2", "hdr": True, "duration": 10}, "HDR"),
    ({"model": "ray-3.2", "hdr": True, "resolution": "540p"}, "HDR"),
    ({"model": "ray-flash-2", "hdr": True}, "HDR"),
])
async def test_impossible_combinations_are_explained_and_cost_nothing(tmp_path, options, says):
    async with world(tmp_path) as w:
        iid = await w.h.slash("dream", {"prompt": "a red balloon", **options})
        text = await answer(w, iid)
        assert says in text and "Nothing was charged" in text
        assert creates(w) == 0
        assert await w.store.recent(w.h.guild_id) == []


async def test_every_create_carries_its_own_client_request_id(tmp_path):
    async with world(tmp_path) as w:
        first, _ = await dream(w, "one")
        second, _ = await dream(w, "two")
        rows = {g.id: g for g in await w.store.recent(w.h.guild_id)}
        sent = [job.client_request_id for job in w.sim.jobs()]
        assert sent == [rows[first].client_request_id, rows[second].client_request_id]
        assert len(set(sent)) == 2 and all(len(s) <= 128 for s in sent)


@pytest.mark.parametrize("fault", ["accept_then_502", "accept_then_drop", "accept_then_hang", "accept_then_garbage"])
async def test_a_lost_create_answer_is_found_in_the_logs_posted_once_and_charged_once(tmp_path, fault):
    async with world(tmp_path, api_timeout_seconds=0.3) as w:
        w.sim.script_faults([fault], kind="create")
        iid = await w.h.slash("dream", {"prompt": "a fox in the snow"})
        text = await answer(w, iid)
        assert "checking" in text.lower() and "refund" in text.lower()
        clip = clip_number(text)
        assert (await w.store.get(clip)).in_doubt

        await wait_result(w, clip, timeout=10)
        generation = await wait_posted(w, clip)
        assert generation.api_id == w.sim.jobs()[0].id
        assert ledger(await w.store.ledger_entries(clip)) == [("reserve", PLAIN_RAY_2), ("charge", PLAIN_RAY_2)]
        assert creates(w) == 1
        assert len(results_of(w, clip)) == 1


async def test_a_create_the_logs_never_show_is_refunded_after_the_bound_and_the_member_told(tmp_path):
    config = sim_config(logs_delay_seconds=10_000)  # the analytics pipeline never catches up
    async with world(tmp_path, sim_config=config, reconcile_give_up_minutes=0.02) as w:
        w.sim.script_faults(["503"], kind="create")
        iid = await w.h.slash("dream", {"prompt": "a slow snail"})
        clip = clip_number(await answer(w, iid))
        told = await w.fake.wait_for(lambda r: r.method == "PATCH" and f"Clip #{clip} " in (
            (r.json or {}).get("content") or "") and "refunded" in r.json["content"], timeout=10)
        generation = await w.store.get(clip)
        assert told.path.endswith(f"/messages/{generation.status_message_id}")
        assert generation.status == "failed"
        assert ledger(await w.store.ledger_entries(clip)) == [("reserve", PLAIN_RAY_2), ("refund", PLAIN_RAY_2)]
        assert w.bot.get_cog("ClipsCog").reconciler.log_requests >= 1


async def test_a_create_the_logs_show_failed_is_refunded_at_once(tmp_path):
    async with world(tmp_path) as w:
        w.sim.script_faults(["500"], kind="create")
        iid = await w.h.slash("dream", {"prompt": "a quiet pond"})
        clip = clip_number(await answer(w, iid))
        await wait_settled(w.store, timeout=10)
        generation = await w.store.get(clip)
        assert (generation.status, generation.provider_credits) == ("failed", 0)
        assert ledger(await w.store.ledger_entries(clip)) == [("reserve", PLAIN_RAY_2), ("refund", PLAIN_RAY_2)]


async def test_a_crash_between_the_create_and_recording_its_id_is_recovered_from_the_logs(tmp_path):
    async with world(tmp_path) as w:
        # What a kill -9 right after the create leaves behind: the reserve and the request id,
        # no provider id; and at the provider, a job made with that id.
        at = time.time() - 300
        row = await w.store.reserve(guild_id=w.h.guild_id, channel_id=w.h.channel_id, user_id=int(w.h.user["id"]),
                                    kind="dream", prompt="a lantern festival", cost=PLAIN_RAY_2, model="ray-2",
                                    dialect="unified", now=at)
        async with aiohttp.ClientSession() as session:
            async with session.post(f"{w.api_url}/v2/video/generations",
                                    json={"model": "luma/ray-2", "prompt": "a lantern festival"},
                                    headers={"Authorization": f"Bearer {API_KEY}",
                                             "X-Client-Request-Id": row.client_request_id}) as response:
                assert response.status == 200
        await w.restart()
        await wait_result(w, row.id, timeout=10)
        generation = await w.store.get(row.id)
        assert generation.api_id == w.sim.jobs()[0].id
        assert ledger(await w.store.ledger_entries(row.id)) == [("reserve", PLAIN_RAY_2), ("charge", PLAIN_RAY_2)]
        assert creates(w) == 1 and len(results_of(w, row.id)) == 1


async def test_an_unreachable_catalogue_falls_back_to_the_price_file_and_says_it_is_stale(tmp_path):
    async with world(tmp_path, sim_config=sim_config(catalogue_fault="503")) as w:
        status = w.bot.prices.status()
        assert (status.source, status.stale) == ("file", True)
        clip, text = await dream(w, "a windmill", model="ray-3.2", resolution="1080p", duration=10)
        assert "13,000,000 credits" in text


async def test_prices_come_from_the_catalogue_and_follow_its_changes(tmp_path):
    async with world(tmp_path) as w:
        assert w.bot.prices.status().source == "catalogue"
        assert not w.bot.prices.status().stale
        assert await w.bot.prices.refresh()
        assert w.sim.counters.catalogue_not_modified >= 1  # the unchanged ETag came back as 304
        w.sim.set_price("luma/ray-flash-2", {"kind": "fixed", "currency": "USD",
                                             "units": [{"name": "second", "price": 0.1, "per": 1}]})
        assert await w.bot.prices.refresh()
        _, text = await dream(w, "a hummingbird", model="ray-flash-2", duration=9)
        assert "1,800,000 credits ($0.90)" in text


async def test_the_cost_is_read_from_the_header_when_the_body_has_none(tmp_path):
    async with world(tmp_path, sim_config=sim_config(report_credits="header", credits_used_delta=-500_000)) as w:
        clip, _ = await dream(w, "a kite over dunes")
        await wait_result(w, clip)
        await wait_posted(w, clip)
        assert ledger(await w.store.ledger_entries(clip)) == [
            ("reserve", PLAIN_RAY_2), ("charge", PLAIN_RAY_2 - 500_000), ("refund", 500_000)]


async def test_a_clip_whose_cost_is_reported_nowhere_is_charged_its_reserve_and_the_logs_fill_in_the_bill(
        tmp_path, monkeypatch):
    from bot.services import reconciler

    monkeypatch.setattr(reconciler, "BACKFILL_INTERVAL", 0.0)
    async with world(tmp_path, sim_config=sim_config(report_credits="none", credits_used_delta=-500_000)) as w:
        clip, _ = await dream(w, "a kite over dunes")
        await wait_result(w, clip)
        generation = await wait_posted(w, clip)
        assert ledger(await w.store.ledger_entries(clip)) == [("reserve", PLAIN_RAY_2), ("charge", PLAIN_RAY_2)]
        w.bot.get_cog("ClipsCog").reconciler.wake()
        for _ in range(100):
            generation = await w.store.get(clip)
            if generation.provider_credits is not None:
                break
            await asyncio.sleep(0.05)
        assert (generation.provider_credits, generation.provider_source) == (PLAIN_RAY_2 - 500_000, "logs")
        books = await w.store.provider_totals(w.h.guild_id)
        assert books.difference == -500_000  # the member paid the reserve; the provider billed less
