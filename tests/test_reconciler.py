"""The reconciler on its own: a real store, a fake provider log, a clock the test moves.

What it must never do is refund a create the provider may have billed without looking for it
first, or give up on one while the logs can't be read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.api import APIConnectionError
from bot.api.client import LogRow, LogsPage
from bot.api.dialects import UnifiedDialect
from bot.services.reconciler import Reconciler
from storage import Store

COST = 4_500_000
T0 = 1_800_000_000.0


@dataclass
class FakeLogs:
    """GET /v2/logs over a fixed list of rows, newest first, paged like the provider."""

    rows: list[LogRow] = field(default_factory=list)
    fail: bool = False
    calls: list[dict] = field(default_factory=list)
    dialect = UnifiedDialect()
    default_model = "ray-2"

    async def logs(self, start: datetime, end: datetime, *, models=(), limit: int = 100, offset: int = 0) -> LogsPage:
        self.calls.append({"start": start, "end": end, "models": list(models), "offset": offset})
        if self.fail:
            raise APIConnectionError("The video API can't be reached.")
        page = self.rows[offset:offset + limit]
        return LogsPage(page, offset + len(page) < len(self.rows), len(self.rows))


@dataclass
class Told:
    told: list[int] = field(default_factory=list)

    async def show_abandoned(self, generation) -> None:
        self.told.append(generation.id)


def row(client_id: str | None, *, inference: str = "inf", status: str = "succeeded", credits: int = 0) -> LogRow:
    return LogRow(created=None, status=status, model="luma/ray-2", credits=credits, inference_id=inference,
                  client_request_id=client_id)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def setup(tmp_path, logs: FakeLogs, *, in_doubt: bool = True, age: float = 60.0):
    store = await Store.open(tmp_path / "db.sqlite3")
    generation = await store.reserve(guild_id=1, channel_id=2, user_id=3, kind="dream", prompt="a heron",
                                     cost=COST, model="ray-2", dialect="unified", now=T0 - age)
    if in_doubt:
        await store.mark_in_doubt(generation.id, now=T0 - age)
    clock = Clock(T0)
    told = Told()
    reconciler = Reconciler(store, logs, told, give_up_after=600.0, stale_after=120.0, clock=clock)  # type: ignore[arg-type]
    return store, await store.get(generation.id), reconciler, told, clock


async def test_a_lost_create_found_on_a_later_page_is_followed_not_refunded(tmp_path):
    logs = FakeLogs()
    store, generation, reconciler, told, _ = await setup(tmp_path, logs)
    logs.rows = [row(None, inference=f"poll-{i}") for i in range(230)] + [
        row(generation.client_request_id, inference="abc:luma/ray-2")] + [row(f"other-{i}") for i in range(20)]
    await reconciler.run_once()
    found = await store.get(generation.id)
    assert (found.status, found.api_id) == ("submitted", "abc:luma/ray-2")
    assert [call["offset"] for call in logs.calls] == [0, 100, 200]  # stops once found
    assert logs.calls[0]["models"] == ["luma/ray-2"]
    assert [(e.kind, e.amount) for e in await store.ledger_entries(generation.id)] == [("reserve", COST)]
    assert told.told == []
    await store.close()


async def test_unreadable_logs_never_lead_to_a_refund_even_past_the_bound(tmp_path):
    logs = FakeLogs(fail=True)
    store, generation, reconciler, told, clock = await setup(tmp_path, logs)
    clock.now += 10_000
    await reconciler.run_once()
    assert (await store.get(generation.id)).in_doubt
    assert told.told == []
    logs.fail = False  # readable again and not there: now it is refunded
    await reconciler.run_once()
    refunded = await store.get(generation.id)
    assert refunded.status == "failed" and told.told == [generation.id]
    assert [(e.kind, e.amount) for e in await store.ledger_entries(generation.id)] == [("reserve", COST), ("refund", COST)]
    await store.close()


async def test_not_found_is_kept_until_the_bound_then_refunded_once(tmp_path):
    logs = FakeLogs(rows=[row("someone-else")])
    store, generation, reconciler, told, clock = await setup(tmp_path, logs)
    await reconciler.run_once()
    assert (await store.get(generation.id)).in_doubt  # 60 s in doubt, the bound is 600 s
    clock.now += 600
    await reconciler.run_once()
    await reconciler.run_once()
    assert (await store.get(generation.id)).status == "failed"
    assert told.told == [generation.id]
    await store.close()


async def test_a_create_the_logs_show_failed_is_refunded_and_the_provider_billed_nothing(tmp_path):
    logs = FakeLogs()
    store, generation, reconciler, told, _ = await setup(tmp_path, logs)
    logs.rows = [row(generation.client_request_id, status="failed")]
    await reconciler.run_once()
    refunded = await store.get(generation.id)
    assert (refunded.status, refunded.provider_credits, refunded.api_id) == ("failed", 0, None)
    assert told.told == [generation.id]
    await store.close()


async def test_a_fresh_unmarked_request_is_left_to_its_sender(tmp_path):
    logs = FakeLogs()
    store, generation, reconciler, told, clock = await setup(tmp_path, logs, in_doubt=False, age=5.0)
    await reconciler.run_once()  # 5 s old, not marked in doubt: its create may still be on its way
    assert (await store.get(generation.id)).status == "requested" and logs.calls == []
    clock.now += 200  # no create takes this long: its sender died, or could not record the answer
    await reconciler.run_once()
    assert len(logs.calls) == 1
    await store.close()


async def test_a_row_an_earlier_process_left_is_looked_up_once_stale(tmp_path):
    logs = FakeLogs()
    store, generation, reconciler, told, clock = await setup(tmp_path, logs, in_doubt=False, age=300.0)
    logs.rows = [row(generation.client_request_id, inference="xyz:luma/ray-2")]
    reconciler.in_flight = lambda: {generation.id}
    await reconciler.run_once()
    assert logs.calls == []  # being sent right now by this process: not the reconciler's
    reconciler.in_flight = frozenset
    await reconciler.run_once()
    assert (await store.get(generation.id)).api_id == "xyz:luma/ray-2"
    await store.close()


async def test_the_provider_cost_of_a_finished_clip_is_filled_in_from_the_logs(tmp_path):
    logs = FakeLogs()
    store, generation, reconciler, _, _ = await setup(tmp_path, logs, in_doubt=False, age=300.0)
    await store.mark_submitted(generation.id, "abc:luma/ray-2", now=T0 - 299)
    await store.complete(generation.id, "https://cdn.example/v.mp4", None, now=T0 - 100)  # no cost reported
    logs.rows = [row(generation.client_request_id, credits=4_400_000)]
    await reconciler.run_once()
    done = await store.get(generation.id)
    assert (done.tokens_charged, done.provider_credits, done.provider_source) == (COST, 4_400_000, "logs")
    books = await store.provider_totals(1)
    assert (books.member_charged, books.provider_billed, books.difference, books.unknown) == (
        COST, 4_400_000, -100_000, 0)
    await store.close()


def test_the_logs_pace_never_exceeds_the_providers_limit():
    reconciler = Reconciler(None, FakeLogs(), Told(), requests_per_minute=1_000)  # type: ignore[arg-type]
    assert reconciler.limiter.max_rate == 200
