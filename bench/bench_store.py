"""Store benchmark: reserve+charge cycles per second and one reserve's latency.

    python -m bench.bench_store [--cycles 2000] [--concurrency 20] [--synchronous FULL|NORMAL]

Builds a temporary database with 10,000 generations from 1,000 members (seeded directly
with sqlite3, consistent ledger included), then measures through the real Store API.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from storage import Store

COST = 500_000
MEMBERS = 1_000
GENERATIONS = 10_000
GUILDS = 10
DAY = 86_400


def guild_of(user_id: int) -> int:
    return 1 + user_id % GUILDS


def seed(path: Path, now: float) -> None:
    """10,000 generations over the last 60 days: mostly completed and posted, some failed."""
    rng = random.Random(7)
    gens, ledger = [], []
    for gen_id in range(1, GENERATIONS + 1):
        user = 1 + (gen_id - 1) % MEMBERS
        guild = guild_of(user)
        at = now - rng.uniform(0, 60 * DAY)
        failed = rng.random() < 0.1
        charged = 0 if failed else rng.choice([COST, COST, 350_000])
        gens.append((gen_id, f"job-{gen_id}", "luma", guild, 100 + guild, user, "dream", "seeded prompt", "{}",
                     "failed" if failed else "completed", at, at + 5, at + 60, at + 61,
                     "https://v/x.mp4" if not failed else None, COST, charged, 2_000_000 + gen_id))
        ledger.append((gen_id, guild, user, "reserve", COST, at))
        if charged:
            ledger.append((gen_id, guild, user, "charge", charged, at + 60))
        if COST - charged:
            ledger.append((gen_id, guild, user, "refund", COST - charged, at + 60))
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO generations (id, api_id, dialect, guild_id, channel_id, user_id, kind, prompt, options, status, "
            "requested_at, submitted_at, completed_at, posted_at, video_url, tokens_reserved, tokens_charged, "
            "result_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", gens)
        conn.executemany("INSERT INTO ledger (generation_id, guild_id, user_id, kind, amount, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", ledger)
        # Realistic settings: every guild has a monthly cap (high enough not to refuse here).
        conn.executemany("INSERT INTO guild_settings (guild_id, cap_tokens, cap_period, member_running_limit) "
                         "VALUES (?, ?, 'month', 100)", [(g, 10**12) for g in range(1, GUILDS + 1)])


async def cycle(store: Store, user_id: int, latencies: list[float]) -> None:
    started = time.perf_counter()
    g = await store.reserve(guild_id=guild_of(user_id), channel_id=100, user_id=user_id, kind="dream",
                            prompt="bench", cost=COST, options={"aspect_ratio": "16:9"})
    latencies.append(time.perf_counter() - started)
    await store.complete(g.id, "https://v/bench.mp4", 400_000)


def report(label: str, cycles: int, seconds: float, latencies: list[float]) -> None:
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))]
    print(f"{label:<34} {cycles / seconds:8.0f} cycles/s   reserve p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")


async def run(cycles: int, concurrency: int, synchronous: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite3"
        now = time.time()
        async with await Store.open(path):
            pass  # create the schema
        started = time.perf_counter()
        seed(path, now)
        print(f"seeded {GENERATIONS:,} generations / {MEMBERS:,} members in {time.perf_counter() - started:.2f}s "
              f"(synchronous={synchronous}, sqlite {sqlite3.sqlite_version})")

        async with await Store.open(path, synchronous=synchronous) as store:
            latencies: list[float] = []
            started = time.perf_counter()
            for i in range(cycles):
                await cycle(store, 1 + i % MEMBERS, latencies)
            report("sequential, 1 task", cycles, time.perf_counter() - started, latencies)

            latencies = []
            per_task = cycles // concurrency

            async def worker(k: int, target: Store) -> None:
                for i in range(per_task):
                    await cycle(target, 1 + (k * 37 + i) % MEMBERS, latencies)

            started = time.perf_counter()
            await asyncio.gather(*(worker(k, store) for k in range(concurrency)))
            report(f"concurrent, {concurrency} tasks, 1 Store", per_task * concurrency,
                   time.perf_counter() - started, latencies)

            async with await Store.open(path, synchronous=synchronous) as other:
                latencies = []
                started = time.perf_counter()
                await asyncio.gather(*(worker(k, store if k % 2 else other) for k in range(concurrency)))
                report(f"concurrent, {concurrency} tasks, 2 Stores", per_task * concurrency,
                       time.perf_counter() - started, latencies)

            # The bench never posts its clips; mark them posted as the bot would, so the
            # poller's work lists are as small as in real life.
            with sqlite3.connect(path) as conn:
                conn.execute("UPDATE generations SET posted_at = completed_at WHERE posted_at IS NULL")
            # A few reads the bot does often, on the full table.
            for label, call in (
                ("member_budget", lambda: store.member_budget(1, 1, COST)),
                ("jobs_to_poll", store.jobs_to_poll),
                ("jobs_to_post", store.jobs_to_post),
                ("recent(user)", lambda: store.recent(2, user_id=1)),
                ("top_spenders(30 days)", lambda: store.top_spenders(2, since=now - 30 * DAY)),
                ("daily_spend(30)", lambda: store.daily_spend(2)),
            ):
                times = []
                for _ in range(200):
                    t = time.perf_counter()
                    await call()
                    times.append((time.perf_counter() - t) * 1000)
                print(f"  {label:<24} p50 {statistics.median(times):6.3f} ms")
            totals = await store.ledger_totals()
            print(f"ledger balanced: {totals.balanced} ({totals.generations:,} generations)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cycles", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL")
    args = parser.parse_args()
    asyncio.run(run(args.cycles, args.concurrency, args.synchronous))


if __name__ == "__main__":
    main()
