"""Poller benchmark: completion-to-post latency and API fetches per job, against two reference pollers.

    python -m bench.bench_poller [--dialects unified luma-v2 legacy] [--jobs 200 1000]
                                 [--time-scale 0.16] [--cold]

For each dialect and each N, a fresh world (video API simulator + the real DreamBot on a
temporary SQLite file + the fake Discord) gets N jobs in flight at once. They are created
the way the bot makes them (`DreamService.start`: reserve -> api.create -> mark_submitted,
which wakes the poller) and each gets its public status message (`ClipsCog.post_status`),
without going through an interaction. Then the real poller follows them and the real
publisher posts each result to the fake Discord.

Timing is realistic and scaled: 3 s queue + 100 s run +/- 20 % (the provider's example took
1 min 48 s), times `--time-scale` (default 0.16: a 103 s clip takes ~16 s). The bot's poll
interval is scaled by the same factor (5 s -> 0.8 s), so every latency below is divided by the
time scale and reported in real-world seconds.

* bot latency: from the simulator job's `completed_at` (time.monotonic) to the fake Discord
  receiving the result POST for that clip (`RecordedRequest.at`, time.monotonic).
* bot fetches: the simulator's own count of fetch requests (fetch_one + fetch_many + list)
  during the run, divided by N.

Side by side, in the same run and on the same jobs, two reference pollers a typical bot
uses: a loop that, every 10 s (the provider's example) or every 2 s, fetches each pending
job with `VideoAPI.fetch` (16 at a time) and notes when it sees it finished. They run in a
worker process against their own simulator holding exact copies of the bot's jobs (same
ids, same `completed_at`), so their requests neither load the bot's process nor mix with
its counters. Their latency stops at noticing the completion (they post nothing), which
slightly favours them.

By default the bot's poll schedule is warm: before the run it is told 64 clip durations
drawn from the same distribution, as a bot that has already made clips knows them
(`PollSchedule.learn`). `--cold` skips that (a bot just restarted with N jobs in flight).

Caveat of any time scale < 1: CPU time spent in the bench process (SQLite, HTTP, JSON) is
not scaled, so after dividing by the time scale it counts 1/time_scale times over. The
event-loop lag printed per run shows how busy the process was.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import LoopLag, cpu_seconds, median, quantile, quiet_logs

QUEUE_SECONDS = 3.0
RUN_SECONDS = 100.0
RUN_JITTER = 0.2
BOT_POLL_INTERVAL = 5.0  # the bot's default POLL_INTERVAL_SECONDS, scaled like everything else
REFERENCE_INTERVALS = (10.0, 2.0)
REFERENCE_CONCURRENCY = 16
FETCH_KINDS = ("fetch_one", "fetch_many", "list")
VIDEO_URL = re.compile(r"https://\S+\.mp4")
CREATE_CONCURRENCY = 16


# ----------------------------------------------------------------------------- reference worker

async def reference_worker(dialect: str, time_scale: float, intervals: list[float]) -> None:
    """Runs in a child process: reads job copies (JSON lines) on stdin until END, polls them
    with fixed-interval loops, and writes one JSON result line on stdout."""
    from bot.api import VideoAPI
    from bot.simulator import Job, SimulatorConfig, run_simulator
    from tests.world import API_KEY

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    config = SimulatorConfig(time_scale=time_scale, api_keys={API_KEY}, seed=1)
    async with run_simulator(config) as (sim, url):
        api = VideoAPI(API_KEY, base_url=url, dialect=dialect)
        jobs: dict[str, Job] = {}
        ended = asyncio.Event()
        arrived = asyncio.Event()
        results: dict[str, dict[str, Any]] = {}

        async def read_jobs() -> None:
            while True:
                line = await reader.readline()
                if not line or line.strip() == b"END":
                    ended.set()
                    return
                data = json.loads(line)
                data["parents"] = tuple(data.get("parents") or ())
                job = Job(**data)
                sim._jobs[job.id] = job  # an exact copy of the bot's job, completion time included
                sim._by_uuid[job.uuid] = job
                jobs[job.id] = job
                arrived.set()

        async def poll_every(interval: float) -> None:
            period = interval * time_scale
            gate = asyncio.Semaphore(REFERENCE_CONCURRENCY)
            done: dict[str, float] = {}
            requests = 0
            overruns = 0
            await arrived.wait()
            tick = time.monotonic()

            async def check(job_id: str) -> None:
                nonlocal requests
                async with gate:
                    requests += 1
                    seen = await api.fetch(job_id)
                if seen.status.finished and job_id not in done:
                    done[job_id] = time.monotonic()

            while not (ended.is_set() and len(done) == len(jobs)):
                tick += period
                delay = tick - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    overruns += 1
                pending = [job_id for job_id in list(jobs) if job_id not in done]
                await asyncio.gather(*(check(job_id) for job_id in pending))
            latencies = [(done[j] - jobs[j].completed_at) / time_scale for j in jobs]
            results[f"{interval:g}"] = {"latencies": latencies, "requests": requests, "jobs": len(jobs),
                                        "overruns": overruns}

        lag = LoopLag().start()
        cpu0 = cpu_seconds()
        reading = asyncio.create_task(read_jobs())
        await asyncio.gather(*(poll_every(i) for i in intervals))
        await reading
        await lag.stop()
        await api.close()
        counted = sum(sim.counters.requests[k] for k in FETCH_KINDS)
        print("RESULT " + json.dumps({"pollers": results, "sim_fetches": counted, "lag": lag.summary(),
                                      "cpu": cpu_seconds() - cpu0}), flush=True)


# ----------------------------------------------------------------------------- the bot's side

def job_line(job: Any) -> bytes:
    data = dataclasses.asdict(job)
    data["parents"] = list(data["parents"])
    return (json.dumps(data) + "\n").encode()


async def start_worker(dialect: str, time_scale: float, interval: float) -> asyncio.subprocess.Process:
    """One worker process per reference poller, so the busy 2 s one has a core of its own."""
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.bench_poller", "--reference-worker", "--dialects", dialect,
        "--time-scale", str(time_scale), "--reference-interval", str(interval),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)


async def finish_worker(worker: asyncio.subprocess.Process, timeout: float) -> dict[str, Any]:
    assert worker.stdin is not None and worker.stdout is not None
    worker.stdin.write(b"END\n")
    await worker.stdin.drain()
    worker.stdin.close()
    deadline = time.monotonic() + timeout
    while True:
        line = await asyncio.wait_for(worker.stdout.readline(), max(0.1, deadline - time.monotonic()))
        if not line:
            raise RuntimeError("the reference worker ended without a result")
        if line.startswith(b"RESULT "):
            await worker.wait()
            return json.loads(line[len(b"RESULT "):])


def prime(schedule: Any, time_scale: float, rng: random.Random) -> None:
    """What a bot that has made clips already knows: 64 recent durations (real seconds)."""
    for _ in range(64):
        nominal = QUEUE_SECONDS + RUN_SECONDS * (1 + rng.uniform(-RUN_JITTER, RUN_JITTER))
        schedule.learn(nominal * time_scale)


async def scenario(dialect: str, n: int, time_scale: float, cold: bool, timeout: float) -> dict[str, Any]:
    from bot.api import VideoOptions
    from bot.services.dreams import Requester
    from bot.simulator import SimulatorConfig
    from tests.world import API_KEY, world

    config = SimulatorConfig(time_scale=time_scale, api_keys={API_KEY}, seed=1, queue_seconds=QUEUE_SECONDS,
                             run_seconds=RUN_SECONDS, run_jitter=RUN_JITTER)
    workers = [await start_worker(dialect, time_scale, interval) for interval in REFERENCE_INTERVALS]
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with world(Path(folder), sim_config=config, aimlapi_dialect=dialect,
                             poll_interval_seconds=BOT_POLL_INTERVAL * time_scale) as w:
                clips = w.bot.get_cog("ClipsCog")
                poller = clips.poller
                if not cold:
                    prime(poller.schedule, time_scale, random.Random(2))
                cycles = count_cycles(poller)
                channel = w.bot.get_channel(w.h.channel_id)
                assert channel is not None
                w.sim.counters.reset()
                fetches_before = poller.fetch_requests
                lag = LoopLag().start()
                cpu0 = cpu_seconds()
                started = time.monotonic()
                gate = asyncio.Semaphore(CREATE_CONCURRENCY)

                async def make(i: int) -> None:
                    async with gate:
                        requester = Requester(w.h.guild_id, w.h.channel_id, 10_000 + i)
                        generation = await w.bot.dreams.start(requester, f"bench clip {i}: a city at dawn",
                                                              VideoOptions())
                        line = job_line(w.sim.job(generation.api_id))
                        for worker in workers:
                            assert worker.stdin is not None
                            worker.stdin.write(line)
                        await clips.post_status(generation, channel)

                await asyncio.gather(*(make(i) for i in range(n)))
                for worker in workers:
                    assert worker.stdin is not None
                    await worker.stdin.drain()
                created = time.monotonic() - started
                # What one poll cycle pays just to list the work, with everything pending.
                t = time.perf_counter()
                pending = len(await w.store.jobs_to_poll())
                list_ms = (time.perf_counter() - t) * 1000

                by_url = {job.video_url: job for job in w.sim.jobs()}
                posted: dict[str, float] = {}
                seen = 0
                deadline = time.monotonic() + timeout
                while len(posted) < n:
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{dialect}: only {len(posted)} of {n} results posted in {timeout:.0f} s")
                    await asyncio.sleep(0.05)
                    requests = w.fake.requests
                    for request in requests[seen:]:
                        if request.route != "create_message" or not request.ok:
                            continue
                        content = (request.json or {}).get("content") or ""
                        if "✅ Clip #" not in content and "❌ Clip #" not in content:
                            continue
                        match = VIDEO_URL.search(content)
                        if match and match.group(0) in by_url:
                            posted.setdefault(match.group(0), request.at)
                    seen = len(requests)
                wall = time.monotonic() - started
                cpu = cpu_seconds() - cpu0
                await lag.stop()
                bot_fetches = sum(w.sim.counters.requests[k] for k in FETCH_KINDS)
                poller_counted = poller.fetch_requests - fetches_before
                ids_fetched = w.sim.counters.ids_fetched
                latencies = [(at - by_url[url].completed_at) / time_scale for url, at in posted.items()]
                durations = [(j.completed_at - j.created) / time_scale for j in w.sim.jobs()]
        references = [await finish_worker(worker, timeout) for worker in workers]
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.kill()
                await worker.wait()
    rows: dict[str, dict[str, Any]] = {"bot": {"latencies": latencies, "requests": bot_fetches, "jobs": n}}
    for reference in references:
        for interval, result in reference["pollers"].items():
            rows[f"every {interval} s"] = result
    return {
        "dialect": dialect, "n": n, "rows": rows, "created": created, "wall": wall, "cpu": cpu,
        "lag": lag.summary(), "references": references, "cycles": cycles, "pending": pending, "list_ms": list_ms,
        "poller_counted": poller_counted, "ids_fetched": ids_fetched,
        "duration_p50": median(durations), "duration_max": max(durations),
    }


def count_cycles(poller: Any) -> dict[str, float]:
    """Counts the poller's cycles and the time spent in them (wraps the instance's run_once)."""
    stats = {"cycles": 0, "busy": 0.0}
    original = poller.run_once

    async def run_once() -> float:
        t = time.perf_counter()
        try:
            return await original()
        finally:
            stats["cycles"] += 1
            stats["busy"] += time.perf_counter() - t

    poller.run_once = run_once
    return stats


def print_scenario(result: dict[str, Any]) -> None:
    print(f"\n{result['dialect']}, {result['n']:,} jobs in flight  (created in {result['created']:.1f} s real; "
          f"clip durations p50 {result['duration_p50']:.0f} s, max {result['duration_max']:.0f} s; "
          f"run {result['wall']:.1f} s real, bot process CPU {result['cpu']:.1f} s)")
    print(f"  {'poller':<12} {'median':>9} {'p95':>9} {'max':>9} {'fetch req/job':>14} {'requests':>9}")
    for name, row in result["rows"].items():
        lat = row["latencies"]
        print(f"  {name:<12} {median(lat):>8.2f}s {quantile(lat, 0.95):>8.2f}s {max(lat):>8.2f}s "
              f"{row['requests'] / row['jobs']:>14.2f} {row['requests']:>9,}"
              + (f"   (late ticks: {row['overruns']})" if row.get("overruns") else ""))
    cycles = result["cycles"]
    print(f"  bot: {cycles['cycles']:,} poll cycles, {cycles['busy']:.1f} s real inside them; poller's own count "
          f"{result['poller_counted']:,} requests; {result['ids_fetched'] / result['n']:.1f} job ids asked per job; "
          f"jobs_to_poll with {result['pending']:,} pending: {result['list_ms']:.1f} ms")
    print(f"  bot process {result['lag']}")
    for name, reference in zip(("every 10 s", "every 2 s"), result["references"]):
        print(f"  {name} worker: simulator counted {reference['sim_fetches']:,} requests; {reference['lag']}; "
              f"CPU {reference['cpu']:.1f} s")


def verdict(result: dict[str, Any]) -> tuple[bool, str]:
    rows = result["rows"]
    bot, slow, fast = rows["bot"], rows["every 10 s"], rows["every 2 s"]
    fewer = bot["requests"] / bot["jobs"] < slow["requests"] / slow["jobs"]
    quicker = median(bot["latencies"]) < median(fast["latencies"])
    quicker95 = quantile(bot["latencies"], 0.95) < quantile(fast["latencies"], 0.95)
    text = (f"fewer requests than the 10 s poller: {'yes' if fewer else 'NO'}; "
            f"lower median latency than the 2 s poller: {'yes' if quicker else 'NO'} "
            f"(p95: {'yes' if quicker95 else 'no'})")
    return fewer and quicker, text


async def run(dialects: list[str], sizes: list[int], time_scale: float, cold: bool, timeout: float) -> None:
    nominal = QUEUE_SECONDS + RUN_SECONDS
    print(f"dreambot poller benchmark: {QUEUE_SECONDS:g} s queue + {RUN_SECONDS:g} s run +/- {RUN_JITTER:.0%}, "
          f"time scale {time_scale:g} (a {nominal:g} s clip takes {nominal * time_scale:.1f} s), "
          f"bot poll interval {BOT_POLL_INTERVAL:g} s, schedule {'cold' if cold else 'warm'}; "
          f"all latencies in real-world seconds")
    results = []
    for dialect in dialects:
        for n in sizes:
            result = await scenario(dialect, n, time_scale, cold, timeout)
            results.append(result)
            print_scenario(result)
    print("\nsummary: median / p95 latency (real s), fetch requests per job")
    header = f"  {'dialect':<9} {'jobs':>5} | " + " | ".join(f"{name:^27}" for name in results[0]["rows"])
    print(header)
    for result in results:
        cells = []
        for row in result["rows"].values():
            lat = row["latencies"]
            cells.append(f"{median(lat):6.2f} / {quantile(lat, 0.95):6.2f} s {row['requests'] / row['jobs']:7.2f} req")
        print(f"  {result['dialect']:<9} {result['n']:>5,} | " + " | ".join(cells))
    print("\ngoal: fewer requests than the 10 s poller AND lower latency than the 2 s poller")
    for result in results:
        met, text = verdict(result)
        print(f"  {result['dialect']:<9} {result['n']:>5,}: {'MET ' if met else 'NOT met'} ({text})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialects", nargs="+", default=["unified", "luma-v2", "legacy"],
                        choices=["unified", "luma-v2", "legacy"])
    parser.add_argument("--jobs", type=int, nargs="+", default=[200, 1000])
    parser.add_argument("--time-scale", type=float, default=0.16)
    parser.add_argument("--cold", action="store_true", help="do not prime the poll schedule")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for all posts of one run")
    parser.add_argument("--reference-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reference-interval", type=float, default=10.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_logs()
    if args.reference_worker:
        asyncio.run(reference_worker(args.dialects[0], args.time_scale, [args.reference_interval]))
        return
    asyncio.run(run(args.dialects, args.jobs, args.time_scale, args.cold, args.timeout))


if __name__ == "__main__":
    main()
