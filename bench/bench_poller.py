"""Poller benchmark: completion-to-post latency and API fetches per job, on a realistic option
mix, against fixed-interval pollers at 2, 5 and 10 s.

    python -m bench.bench_poller [--dialects unified luma-v2 legacy] [--jobs 200 [1000]]
                                 [--time-scale 0.16] [--cold]

For each dialect and each N, a fresh world (video API simulator + the real DreamBot on a
temporary SQLite file + the fake Discord) gets N jobs in flight at once. They are created
the way the bot makes them (`DreamService.start(requester, prompt, VideoOptions(model=...,
resolution=..., duration=...))`: reserve -> api.create -> mark_submitted, which wakes the
poller) and each gets its public status message (`ClipsCog.post_status`), without going
through an interaction. Then the real poller follows them and the real publisher posts each
result to the fake Discord.

The option mix (`MIXES`): each job's model, resolution and length are dealt out by weight
(largest remainder, then shuffled with a fixed seed), so N jobs hold each option's share.
- unified: ray-2 / ray-flash-2 / ray-3.2 x 540p / 1080p x short / long (5 s, and 9 s on ray-2 and
  flash, 10 s on ray-3.2: what each model takes);
- luma-v2: ray-2 / ray-flash-2 x 540p / 1080p x 5 s / 9 s, plus ray-1-6 (no resolution or length);
- legacy: no options at all (v1 has no model, resolution or duration field), one distribution.

Run times come from the simulator's per-option timing (`bot/simulator/timing.py`,
`run_seconds_for`): run_seconds x model x resolution x (seconds / 5), +/- 20 % jitter, after a
3 s queue. run_seconds is 60 s on unified and luma-v2 (the reference ray-2 720p 5 s clip; a
ray-2 1080p 5 s clip then takes 99 s, about the provider's example of 1 min 48 s) and 100 s on
legacy. A flash 540p 5 s clip runs ~17 s, a ray-3.2 1080p 10 s one ~290 s. Everything is
multiplied by `--time-scale` (default 0.16); the bot's poll interval is scaled by the same
factor (5 s -> 0.8 s), so every latency below is divided by the time scale and reported in
real-world seconds.

* bot latency: from the simulator job's `completed_at` (time.monotonic) to the fake Discord
  receiving the result POST for that clip (`RecordedRequest.at`, time.monotonic).
* bot fetches: the simulator's own count of fetch requests (fetch_one + fetch_many + list)
  during the run, divided by N.

Side by side, in the same run and on the same jobs, three fixed pollers a typical bot uses:
a loop that, every 2 s, 5 s or 10 s, fetches each pending job with `VideoAPI.fetch` (16 at a
time) and notes when it sees it finished. Each runs in its own worker process against its own
simulator holding exact copies of the bot's jobs (same ids, same `completed_at`), so their
requests neither load the bot's process nor mix with its counters. Their latency stops at
noticing the completion (they post nothing), which slightly favours them.

Verdict, per dialect:
(a) Pareto: the fixed pollers' (p95, requests/job) points, joined piecewise-linearly in p95,
    give the requests a fixed poller needs for the bot's p95; the bot is ahead if it needs
    fewer. Below the 2 s poller's p95 the 2 s poller's requests count, above the 10 s poller's
    p95 the 10 s poller's. Goal on every dialect.
(b) median below the 2 s poller's AND fewer requests than the 10 s poller. Goal on luma-v2.

By default the bot's poll schedule is warm: before the run it is told, for every option of the
mix, 64 durations (queue + run, with jitter) drawn from the simulator's own per-option timing,
under that option's key (`option_key`, `PollSchedule.learn(seconds, key)`), as a bot that has
already made such clips knows them. `--cold` skips that (a bot just restarted with N jobs in
flight).

Caveat of any time scale < 1: CPU time spent in the bench process (SQLite, HTTP, JSON) is
not scaled, so after dividing by the time scale it counts 1/time_scale times over. The
event-loop lag printed per run shows how busy the process was.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import itertools
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

from bench._common import LoopLag, cpu_seconds, median, quantile, quiet_logs

QUEUE_SECONDS = 3.0
# The simulator's run_seconds: the reference job's run (ray-2 720p 5 s; legacy: every job).
RUN_SECONDS = {"unified": 60.0, "luma-v2": 60.0, "legacy": 100.0}
RUN_JITTER = 0.2
BOT_POLL_INTERVAL = 5.0  # the bot's default POLL_INTERVAL_SECONDS, scaled like everything else
REFERENCE_INTERVALS = (2.0, 5.0, 10.0)
REFERENCE_CONCURRENCY = 16
FETCH_KINDS = ("fetch_one", "fetch_many", "list")
VIDEO_URL = re.compile(r"https://\S+\.mp4")
CREATE_CONCURRENCY = 16
PRIME_SAMPLES = 64


class Option(NamedTuple):
    """One choice of the mix: what the member picks (None: the dialect has no such field)."""

    model: str | None
    resolution: str | None
    duration: int | None
    weight: float

    def label(self) -> str:
        if self.model is None:
            return "(no options)"
        if self.resolution is None and self.duration is None:
            return f"{self.model} (no res./length)"
        return " ".join([self.model, self.resolution or "-", f"{self.duration} s" if self.duration else "-"])

    def options(self) -> dict[str, Any]:
        """As the store keeps them (`VideoOptions.model_dump(exclude_none=True)`)."""
        return {k: v for k, v in (("model", self.model), ("resolution", self.resolution),
                                  ("duration", self.duration)) if v is not None}


def _mix(models: dict[str, tuple[float, tuple[int, ...] | None]], resolutions: dict[str, float] | None,
         long_share: float) -> tuple[Option, ...]:
    """models: name -> (share, (short, long) seconds or None for a model without resolution/length)."""
    out = []
    for model, (share, durations) in models.items():
        if durations is None or resolutions is None:
            out.append(Option(model, None, None, share))
            continue
        short, long = durations
        for (resolution, r_share), (duration, d_share) in itertools.product(
                resolutions.items(), ((short, 1 - long_share), (long, long_share))):
            out.append(Option(model, resolution, duration, share * r_share * d_share))
    return tuple(out)


# Shares are a guess at what members pick: the default model most, the cheap fast one next, 1080p
# more than 540p, short clips more than long ones.
MIXES: dict[str, tuple[Option, ...]] = {
    "unified": _mix({"ray-2": (0.40, (5, 9)), "ray-flash-2": (0.35, (5, 9)), "ray-3.2": (0.25, (5, 10))},
                    {"540p": 0.4, "1080p": 0.6}, long_share=0.35),
    "luma-v2": _mix({"ray-2": (0.45, (5, 9)), "ray-flash-2": (0.40, (5, 9)), "ray-1-6": (0.15, None)},
                    {"540p": 0.4, "1080p": 0.6}, long_share=0.35),
    "legacy": (Option(None, None, None, 1.0),),
}


def deal(dialect: str, n: int, rng: random.Random) -> list[Option]:
    """N jobs' options: each option's share of N (largest remainder), in a seeded random order."""
    mix = MIXES[dialect]
    total = sum(option.weight for option in mix)
    exact = [option.weight / total * n for option in mix]
    counts = [int(x) for x in exact]
    for index in sorted(range(len(mix)), key=lambda i: exact[i] - counts[i], reverse=True)[:n - sum(counts)]:
        counts[index] += 1
    jobs = [option for option, count in zip(mix, counts) for _ in range(count)]
    rng.shuffle(jobs)
    return jobs


def api_model(dialect: str, option: Option) -> str | None:
    """The model id the simulator sees for this option (what the dialect sends)."""
    from bot.api.catalog import find_model

    if option.model is None:
        return None
    spec = find_model(dialect, option.model)
    return spec.api_name if spec is not None else option.model


def nominal_run(dialect: str, option: Option) -> float:
    """The simulator's own per-option run time, before jitter and time scale."""
    from bot.simulator.timing import run_seconds_for

    params = {k: v for k, v in (("resolution", option.resolution), ("duration", option.duration)) if v is not None}
    return run_seconds_for(dialect, RUN_SECONDS[dialect], api_model(dialect, option), params)


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
            latencies = {j: (done[j] - jobs[j].completed_at) / time_scale for j in jobs}
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


def find_schedule(poller: Any) -> Any | None:
    """The bot's poll schedule, wherever the poller keeps it (None if it is not to be found)."""
    for owner in (poller, getattr(poller, "poller", None)):
        schedule = getattr(owner, "schedule", None)
        if schedule is not None and hasattr(schedule, "learn"):
            return schedule
    return None


def prime(schedule: Any, dialect: str, time_scale: float, rng: random.Random) -> int:
    """What a bot that has made such clips already knows: for every option of the mix, 64 recent
    durations (queue + run with jitter, real seconds) from the simulator's per-option timing,
    learned under that option's key. Returns how many options were primed."""
    from bot.services.schedule import option_key

    for option in MIXES[dialect]:
        key = option_key(dialect, option.model, option.options())
        run = nominal_run(dialect, option)
        for _ in range(PRIME_SAMPLES):
            nominal = QUEUE_SECONDS + run * (1 + rng.uniform(-RUN_JITTER, RUN_JITTER))
            schedule.learn(nominal * time_scale, key)
    return len(MIXES[dialect])


async def scenario(dialect: str, n: int, time_scale: float, cold: bool, timeout: float) -> dict[str, Any]:
    from bot.api import VideoOptions
    from bot.services.dreams import Requester
    from bot.simulator import SimulatorConfig
    from tests.world import API_KEY, world

    config = SimulatorConfig(time_scale=time_scale, api_keys={API_KEY}, seed=1, queue_seconds=QUEUE_SECONDS,
                             run_seconds=RUN_SECONDS[dialect], run_jitter=RUN_JITTER)
    plan = deal(dialect, n, random.Random(3))
    workers = [await start_worker(dialect, time_scale, interval) for interval in REFERENCE_INTERVALS]
    try:
        with tempfile.TemporaryDirectory() as folder:
            async with world(Path(folder), sim_config=config, aimlapi_dialect=dialect,
                             poll_interval_seconds=BOT_POLL_INTERVAL * time_scale) as w:
                clips = w.bot.get_cog("ClipsCog")
                poller = getattr(clips, "poller", None)
                schedule = find_schedule(poller)
                primed = 0
                if not cold:
                    if schedule is None:
                        print(f"  ({dialect}: no poll schedule found on ClipsCog.poller; running cold)")
                    else:
                        primed = prime(schedule, dialect, time_scale, random.Random(2))
                cycles = count_cycles(poller)
                channel = w.bot.get_channel(w.h.channel_id)
                assert channel is not None
                w.sim.counters.reset()
                fetches_before = getattr(poller, "fetch_requests", None)
                lag = LoopLag().start()
                cpu0 = cpu_seconds()
                started = time.monotonic()
                gate = asyncio.Semaphore(CREATE_CONCURRENCY)
                option_of: dict[str, Option] = {}  # simulator job id -> its option
                generation_of: dict[str, int] = {}  # simulator job id -> the bot's generation id
                wall_offset = time.time() - time.monotonic()  # the store's clock is epoch seconds

                async def make(i: int) -> None:
                    option = plan[i]
                    async with gate:
                        requester = Requester(w.h.guild_id, w.h.channel_id, 10_000 + i)
                        generation = await w.bot.dreams.start(
                            requester, f"bench clip {i}: a city at dawn",
                            VideoOptions(model=option.model, resolution=option.resolution, duration=option.duration))
                        job = w.sim.job(generation.api_id)
                        option_of[job.id] = option
                        generation_of[job.id] = generation.id
                        line = job_line(job)
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
                fetches_now = getattr(poller, "fetch_requests", None)
                poller_counted = (fetches_now - fetches_before
                                  if isinstance(fetches_now, int) and isinstance(fetches_before, int) else None)
                ids_fetched = w.sim.counters.ids_fetched
                latencies = {by_url[url].id: (at - by_url[url].completed_at) / time_scale for url, at in posted.items()}
                durations = {j.id: (j.completed_at - j.created) / time_scale for j in w.sim.jobs()}
                labels = {job_id: option.label() for job_id, option in option_of.items()}
                recorded = await recorded_latencies(w, generation_of, wall_offset, time_scale)
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
        "poller_counted": poller_counted, "ids_fetched": ids_fetched, "primed": primed,
        "durations": durations, "labels": labels, "recorded": recorded,
    }


async def recorded_latencies(w: Any, generation_of: dict[str, int], wall_offset: float,
                             time_scale: float) -> dict[str, float]:
    """Completion -> the store's completed_at/failed_at (the poller noticed and recorded it), per
    job; the rest of the bot's latency is posting. Empty if the store does not say."""
    out: dict[str, float] = {}
    try:
        for job_id, generation_id in generation_of.items():
            generation = await w.store.get(generation_id)
            at = getattr(generation, "completed_at", None) or getattr(generation, "failed_at", None)
            if isinstance(at, (int, float)):
                out[job_id] = (at - wall_offset - w.sim.job(job_id).completed_at) / time_scale
    except Exception:  # a store being reworked: leave the split out
        return {}
    return out


def count_cycles(poller: Any) -> dict[str, float] | None:
    """Counts the poller's cycles and the time spent in them (wraps the instance's run_once).
    None if the poller has no `run_once` to wrap (then no cycle figures are printed)."""
    original = getattr(poller, "run_once", None)
    if not callable(original):
        return None
    stats = {"cycles": 0, "busy": 0.0}

    async def run_once(*args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            stats["cycles"] += 1
            stats["busy"] += time.perf_counter() - t

    try:
        poller.run_once = run_once
    except AttributeError:  # slots or a property: leave it alone
        return None
    return stats


# ----------------------------------------------------------------------------- figures and verdict

def figures(row: dict[str, Any]) -> tuple[float, float, float]:
    """median and p95 latency (real s), fetch requests per job."""
    lat = list(row["latencies"].values()) if isinstance(row["latencies"], dict) else row["latencies"]
    return median(lat), quantile(lat, 0.95), row["requests"] / row["jobs"]


def fixed_rows(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, row) for name, row in result["rows"].items() if name != "bot"]


def fixed_requests_at(points: list[tuple[str, float, float]], p95: float) -> tuple[float, str]:
    """The fixed pollers' requests/job at this p95: their (p95, req/job) points joined
    piecewise-linearly in p95; below the lowest p95 the quickest poller's, above the highest the
    slowest's. Returns the figure and where it came from."""
    points = sorted(points, key=lambda point: point[1])
    first, last = points[0], points[-1]
    if p95 <= first[1]:
        return first[2], f"{first[0]} (bot p95 below its {first[1]:.2f} s)"
    if p95 >= last[1]:
        # The rule counts the slowest poller's requests flat; a still slower fixed poller would
        # need about req x p95 / bot p95 (requests go as 1 / interval): said, not counted.
        slower = last[2] * last[1] / p95 if p95 > 0 else last[2]
        return last[2], (f"{last[0]} (bot p95 above its {last[1]:.2f} s; a fixed poller slow enough for the "
                         f"bot's p95 would need about {slower:.2f})")
    for (name_a, p_a, r_a), (name_b, p_b, r_b) in zip(points, points[1:]):
        if p_a <= p95 <= p_b:
            share = (p95 - p_a) / (p_b - p_a) if p_b > p_a else 0.0
            return r_a + share * (r_b - r_a), f"between {name_a} ({p_a:.2f} s) and {name_b} ({p_b:.2f} s)"
    return last[2], last[0]  # unreachable: the points are sorted


def verdict(result: dict[str, Any]) -> dict[str, Any]:
    rows = result["rows"]
    b_median, b_p95, b_req = figures(rows["bot"])
    points = [(name, *figures(row)[1:]) for name, row in fixed_rows(result)]
    needed, where = fixed_requests_at(points, b_p95)
    pareto = b_req < needed
    fast, slow = rows.get("every 2 s"), rows.get("every 10 s")
    quicker = fast is not None and b_median < figures(fast)[0]
    fewer = slow is not None and b_req < figures(slow)[2]
    return {"pareto": pareto, "needed": needed, "where": where, "p95": b_p95, "req": b_req, "median": b_median,
            "quicker": quicker, "fewer": fewer, "both": quicker and fewer,
            "fast_median": figures(fast)[0] if fast else float("nan"),
            "slow_req": figures(slow)[2] if slow else float("nan")}


def print_scenario(result: dict[str, Any]) -> None:
    durations = list(result["durations"].values())
    mix = "no options (legacy has no model, resolution or duration field)" if result["dialect"] == "legacy" else (
        f"{len(MIXES[result['dialect']])} options")
    print(f"\n{result['dialect']}, {result['n']:,} jobs in flight, {mix}  (created in {result['created']:.1f} s real; "
          f"clip durations p50 {median(durations):.0f} s, min {min(durations):.0f} s, max {max(durations):.0f} s; "
          f"run {result['wall']:.1f} s real, bot process CPU {result['cpu']:.1f} s; schedule "
          f"{'primed for ' + str(result['primed']) + ' option(s)' if result['primed'] else 'cold'})")
    print(f"  {'poller':<12} {'median':>9} {'p95':>9} {'max':>9} {'fetch req/job':>14} {'requests':>9}")
    for name, row in result["rows"].items():
        lat = list(row["latencies"].values()) if isinstance(row["latencies"], dict) else row["latencies"]
        print(f"  {name:<12} {median(lat):>8.2f}s {quantile(lat, 0.95):>8.2f}s {max(lat):>8.2f}s "
              f"{row['requests'] / row['jobs']:>14.2f} {row['requests']:>9,}"
              + (f"   (late ticks: {row['overruns']})" if row.get("overruns") else ""))
    if len(MIXES[result["dialect"]]) > 1:
        # Latency by option: who pays for a schedule that does not tell the options apart.
        labels = result["labels"]
        by_option: dict[str, list[str]] = {}
        for job_id, label in labels.items():
            by_option.setdefault(label, []).append(job_id)
        bot = result["rows"]["bot"]["latencies"]
        fixed = fixed_rows(result)
        print(f"  by option: {'':<22} {'jobs':>4} {'clip p50':>9}   bot median / p95   "
              + "   ".join(f"{name} median" for name, _ in fixed))
        for label, ids in sorted(by_option.items(), key=lambda item: median([result["durations"][i]
                                                                            for i in item[1]])):
            bot_lat = [bot[i] for i in ids if i in bot]
            cells = []
            for name, row in fixed:
                lat = row["latencies"]
                width = len(f"{name} median")
                cells.append(f"{median([lat[i] for i in ids if i in lat]):>{width}.2f}" if isinstance(lat, dict)
                             else " " * width)
            print(f"    {label:<30} {len(ids):>4} {median([result['durations'][i] for i in ids]):>8.0f}s "
                  f"  {median(bot_lat):>6.2f} / {quantile(bot_lat, 0.95):>6.2f} s "
                  + "   ".join(cells))
    recorded = result.get("recorded") or {}
    if recorded:
        noticed = list(recorded.values())
        print(f"  bot split: completion -> recorded in the store (poller noticed) median {median(noticed):.2f} s, "
              f"p95 {quantile(noticed, 0.95):.2f} s; the rest, up to the result post, is posting")
    cycles = result["cycles"]
    counted = result["poller_counted"]
    print("  bot: "
          + (f"{cycles['cycles']:,} poll cycles, {cycles['busy']:.1f} s real inside them; " if cycles else
             "(poll cycles not counted: no Poller.run_once to wrap); ")
          + (f"poller's own count {counted:,} requests; " if counted is not None else "")
          + f"{result['ids_fetched'] / result['n']:.1f} job ids asked per job; "
          f"jobs_to_poll with {result['pending']:,} pending: {result['list_ms']:.1f} ms")
    print(f"  bot process {result['lag']}")
    for reference in result["references"]:
        name = "every " + ", ".join(reference["pollers"]) + " s"
        print(f"  {name} worker: simulator counted {reference['sim_fetches']:,} requests; {reference['lag']}; "
              f"CPU {reference['cpu']:.1f} s")


async def run(dialects: list[str], sizes: list[int], time_scale: float, cold: bool, timeout: float) -> None:
    print(f"dreambot poller benchmark: {QUEUE_SECONDS:g} s queue + per-option run +/- {RUN_JITTER:.0%} "
          f"(simulator run_seconds {RUN_SECONDS['unified']:g} s for ray-2 720p 5 s on unified and luma-v2, "
          f"{RUN_SECONDS['legacy']:g} s on legacy), time scale {time_scale:g}, bot poll interval "
          f"{BOT_POLL_INTERVAL:g} s, schedule {'cold' if cold else 'warm (per option)'}; "
          f"all latencies in real-world seconds")
    for dialect in dialects:
        mix = MIXES[dialect]
        if len(mix) == 1 and mix[0].model is None:
            print(f"  {dialect} mix: no options (v1 has none): every clip {QUEUE_SECONDS:g} + "
                  f"{nominal_run(dialect, mix[0]):g} s")
            continue
        total = sum(option.weight for option in mix)
        runs = [nominal_run(dialect, option) for option in mix]
        print(f"  {dialect} mix ({len(mix)} options, nominal run; slowest / quickest {max(runs) / min(runs):.1f}x): "
              + ", ".join(f"{option.label()} {option.weight / total:.0%} {run:.0f} s"
                          for option, run in zip(mix, runs)))
    results = []
    for dialect in dialects:
        for n in sizes:
            result = await scenario(dialect, n, time_scale, cold, timeout)
            results.append(result)
            print_scenario(result)
    names = list(results[0]["rows"])
    print("\nsummary: median / p95 latency (real s), fetch requests per job")
    print(f"  {'dialect':<9} {'jobs':>5} | " + " | ".join(f"{name:^27}" for name in names))
    for result in results:
        cells = []
        for name in names:
            med, p95, req = figures(result["rows"][name])
            cells.append(f"{med:6.2f} / {p95:6.2f} s {req:7.2f} req")
        print(f"  {result['dialect']:<9} {result['n']:>5,} | " + " | ".join(cells))
    print("\ngoal (a), every dialect: Pareto-ahead of the fixed pollers (fewer requests/job than the fixed "
          "pollers' curve, linear in p95, needs for the bot's p95)")
    for result in results:
        v = verdict(result)
        print(f"  {result['dialect']:<9} {result['n']:>5,}: {'MET ' if v['pareto'] else 'NOT met'} "
              f"(bot p95 {v['p95']:.2f} s at {v['req']:.2f} req/job; fixed pollers at that p95: "
              f"{v['needed']:.2f} req/job, {v['where']})")
    print("goal (b), luma-v2 (shown for all): median below the 2 s poller's AND fewer requests than the 10 s poller's")
    for result in results:
        v = verdict(result)
        required = "" if result["dialect"] == "luma-v2" else "  [not required]"
        print(f"  {result['dialect']:<9} {result['n']:>5,}: {'MET ' if v['both'] else 'NOT met'} "
              f"(median {v['median']:.2f} s vs {v['fast_median']:.2f} s: {'yes' if v['quicker'] else 'NO'}; "
              f"{v['req']:.2f} vs {v['slow_req']:.2f} req/job: {'yes' if v['fewer'] else 'NO'}){required}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dialects", nargs="+", default=["unified", "luma-v2", "legacy"],
                        choices=["unified", "luma-v2", "legacy"])
    parser.add_argument("--jobs", type=int, nargs="+", default=[200], help="jobs in flight per run (e.g. 200 1000)")
    parser.add_argument("--time-scale", type=float, default=0.16)
    parser.add_argument("--cold", action="store_true", help="do not prime the poll schedule")
    parser.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for all posts of one run")
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
