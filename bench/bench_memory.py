"""Memory benchmark: the bot process idle, and with N pending jobs being polled (1,000 by
default; the goal is stated for `--jobs 10000`: under 150 MiB VmRSS).

    python -m bench.bench_memory [--jobs 1000|10000] [--dialect unified] [--poll-seconds 10]
                                 [--create-concurrency 64] [--keep-fake-log] [--rss-only]
                                 [--poll-while-creating]

The video API simulator runs in its own process (`python -m bot.simulator`), so this
process holds only what a deployed bot holds, plus the fake Discord it logs into. Readings,
each after `gc.collect()`:

1. interpreter + imports (discord.py, aiohttp, pydantic, the bot's modules);
2. idle: the real DreamBot logged in and ready (setup_hook done, cogs loaded, poller running);
3. busy: N jobs submitted the way the bot submits them (`DreamService.start`: reserve ->
   api.create at the simulator -> mark_submitted, then the status message,
   `ClipsCog.post_status`; `--create-concurrency` at a time) and polled by the real poller for
   `--poll-seconds`. The poller is paused (`Poller.stop`, then `start`) while the jobs are
   made, unless `--poll-while-creating`: every submit wakes it, and a poller that re-reads all
   pending jobs at each wake makes a 10,000-job burst quadratic; the reading is about 10,000
   jobs being polled, not about the burst that made them. Jobs never finish (100,000 s runs),
   so all N stay pending: the reading says how many the store still has to poll, how many
   fetches the poller made meanwhile, and what the simulator answers for a sample of the jobs
   (queued / generating).

The fake Discord keeps a log of every request it received, bodies and headers included (about
6 KiB each; 10,000 status messages are 10,000 records). Nothing a deployed bot would hold, so
once the jobs are made the bench counts the log and empties it (`--keep-fake-log` keeps it); it
still holds its channels' messages, as Discord would.

Pass 1 reads VmRSS from /proc/self/status. Pass 2 (a fresh process; skipped with
`--rss-only`, as it runs several times slower than pass 1) repeats the steps under
tracemalloc (4 frames) and splits the Python heap by who allocated it: anything allocated with
the fake Discord on the stack is the fake's (its JSON bodies included), the rest goes by the
package of the innermost frame.

The simulator's clock is scaled by 0.1 and the poll interval with it (5 s -> 0.5 s), so
--poll-seconds 10 is ~100 s of real-world polling.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench._common import quiet_logs, vm_rss_kib

TIME_SCALE = 0.1
TRACE_FRAMES = 4
GOAL_JOBS, GOAL_MIB = 10_000, 150  # the goal: VmRSS with 10,000 pending jobs under 150 MiB
FAKE_DISCORD = ("/tests/harness/", "/tests/world")
GROUPS = (
    ("bot (bot/, cogs/, storage/)", ("/bot/", "/cogs/", "/storage/")),
    ("discord.py", ("/discord/",)),
    ("aiohttp / yarl / multidict", ("/aiohttp/", "/yarl/", "/multidict/")),
    ("aiosqlite / sqlite3", ("/aiosqlite/", "/sqlite3/")),
    ("pydantic", ("/pydantic/", "/pydantic_core/", "/pydantic_settings/")),
    ("fake Discord (tests/harness)", ("/tests/harness/", "/tests/world")),
    ("asyncio", ("/asyncio/",)),
)


def heap_by_group(snapshot: tracemalloc.Snapshot) -> dict[str, int]:
    """Traced bytes by group: the fake Discord's if any frame is in it, else the innermost frame's."""
    totals: dict[str, int] = {name: 0 for name, _ in GROUPS}
    totals["other"] = 0
    fake = GROUPS[-2][0]
    for stat in snapshot.statistics("traceback"):
        files = [frame.filename.replace(os.sep, "/") for frame in stat.traceback]
        if any(needle in filename for filename in files for needle in FAKE_DISCORD):
            totals[fake] += stat.size
            continue
        innermost = files[-1] if files else ""  # frames run from the oldest to the most recent
        for name, needles in GROUPS:
            if any(needle in innermost for needle in needles):
                totals[name] += stat.size
                break
        else:
            totals["other"] += stat.size
    return totals


def start_simulator() -> tuple[subprocess.Popen[str], str]:
    from tests.world import API_KEY

    process = subprocess.Popen(
        [sys.executable, "-m", "bot.simulator", "--port", "0", "--time-scale", str(TIME_SCALE),
         "--queue-seconds", "3", "--run-seconds", "100000", "--api-key", API_KEY, "--log-level", "WARNING"],
        stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    line = process.stdout.readline()
    if "listening on" not in line:
        process.kill()
        raise RuntimeError(f"the simulator did not start: {line!r}")
    return process, line.rsplit(" ", 1)[1].strip()


def reading(label: str, traced: bool) -> dict[str, Any]:
    gc.collect()
    entry: dict[str, Any] = {"label": label, "rss_kib": vm_rss_kib()}
    if traced:
        current, peak = tracemalloc.get_traced_memory()
        entry.update(heap=current, peak=peak, groups=heap_by_group(tracemalloc.take_snapshot()))
    return entry


async def sample_states(url: str, dialect: str, api_ids: list[str]) -> dict[str, int]:
    """What the simulator answers for these jobs, by status (they should all be unfinished)."""
    from bot.api import VideoAPI
    from tests.world import API_KEY

    api = VideoAPI(API_KEY, base_url=url, dialect=dialect)
    states: dict[str, int] = {}
    try:
        for api_id in api_ids:
            job = await api.fetch(api_id)
            word = job.raw_status or job.status.value
            states[word] = states.get(word, 0) + 1
    finally:
        await api.close()
    return states


async def measure(jobs: int, dialect: str, poll_seconds: float, traced: bool, concurrency: int,
                  keep_fake_log: bool, pause: bool) -> list[dict[str, Any]]:
    from bot.api import VideoOptions
    from bot.client import DreamBot
    from bot.services.dreams import Requester
    from tests.harness import DiscordHarness
    from tests.world import DISCORD_TOKEN, make_settings

    readings = [reading("interpreter + imports", traced)]
    simulator, url = start_simulator()
    try:
        with tempfile.TemporaryDirectory() as folder:
            settings = make_settings(Path(folder) / "dreambot.sqlite3", aimlapi_base_url=url,
                                     aimlapi_dialect=dialect, poll_interval_seconds=5.0 * TIME_SCALE)
            bot = DreamBot(settings, api_base_url=url, guild_ready_timeout=0.05)
            async with DiscordHarness(bot, token=DISCORD_TOKEN,
                                      error_loggers=("discord", "bot", "cogs", "storage")) as h:
                await asyncio.sleep(2.0)
                readings.append(reading("idle: logged in and ready", traced))
                clips = bot.get_cog("ClipsCog")
                poller = getattr(clips, "poller", None)
                channel = bot.get_channel(h.channel_id)
                gate = asyncio.Semaphore(concurrency)
                every = max(1, jobs // 20)
                sample: list[str] = []  # some of the jobs' API ids, to ask the simulator about

                async def make(i: int) -> None:
                    async with gate:
                        generation = await bot.dreams.start(Requester(h.guild_id, h.channel_id, 10_000 + i),
                                                            f"memory bench clip {i}: a city at dawn", VideoOptions())
                        await clips.post_status(generation, channel)
                        if i % every == 0 and generation.api_id:
                            sample.append(generation.api_id)

                # Paused while the jobs are made: every submit wakes the poller, and with thousands
                # pending each wake would re-read them all; the reading is about polling them.
                paused = pause and all(callable(getattr(poller, name, None)) for name in ("stop", "start"))
                if paused:
                    await poller.stop()
                started = time.monotonic()
                await asyncio.gather(*(make(i) for i in range(jobs)))
                created = time.monotonic() - started
                fetched0 = getattr(poller, "fetch_requests", None)
                if paused:
                    poller.start()
                fake_log = len(h.fake.requests)
                if not keep_fake_log:
                    h.fake.requests.clear()  # test-only records; counted above
                await asyncio.sleep(poll_seconds)
                pending = len(await bot.store.jobs_to_poll())
                entry = reading(f"busy: {pending:,} pending jobs, polled {poll_seconds:g} s", traced)
                fetched = getattr(poller, "fetch_requests", None)
                entry.update(created=created, paused=paused, pending=pending,
                             fake_requests=fake_log + len(h.fake.requests), fake_kept=len(h.fake.requests),
                             fetches=fetched - fetched0 if isinstance(fetched, int) and isinstance(fetched0, int)
                             else None,
                             simulator_states=await sample_states(url, dialect, sample))
                readings.append(entry)
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
    return readings


def mib(kib_or_bytes: float, *, kib: bool = False) -> str:
    value = kib_or_bytes / 1024 if kib else kib_or_bytes / 1024 / 1024
    return f"{value:7.1f} MiB"


def child(args: argparse.Namespace, traced: bool) -> list[dict[str, Any]]:
    """Each pass runs in a fresh interpreter, so one pass's memory cannot leak into the other."""
    command = [sys.executable, "-m", "bench.bench_memory", "--pass", "traced" if traced else "rss",
               "--jobs", str(args.jobs), "--dialect", args.dialect, "--poll-seconds", str(args.poll_seconds),
               "--create-concurrency", str(args.create_concurrency)]
    if args.keep_fake_log:
        command.append("--keep-fake-log")
    if args.poll_while_creating:
        command.append("--poll-while-creating")
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--dialect", default="unified", choices=["unified", "luma-v2", "legacy"])
    parser.add_argument("--poll-seconds", type=float, default=10.0)
    parser.add_argument("--create-concurrency", type=int, default=64, help="DreamService.start calls at a time")
    parser.add_argument("--keep-fake-log", action="store_true",
                        help="keep the fake Discord's request log (by default emptied once the jobs are made)")
    parser.add_argument("--poll-while-creating", action="store_true",
                        help="keep the poller running while the jobs are made (by default it is paused)")
    parser.add_argument("--rss-only", action="store_true", help="pass 1 only (VmRSS), no tracemalloc pass")
    parser.add_argument("--pass", dest="which", choices=["rss", "traced"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_logs()
    if args.which:
        traced = args.which == "traced"
        if traced:
            tracemalloc.start(TRACE_FRAMES)
        print("RESULT " + json.dumps(asyncio.run(measure(args.jobs, args.dialect, args.poll_seconds, traced,
                                                         args.create_concurrency, args.keep_fake_log,
                                                         not args.poll_while_creating))),
              flush=True)
        return

    print(f"dreambot memory benchmark: {args.jobs:,} jobs, dialect {args.dialect}, python {sys.version.split()[0]}; "
          f"fake Discord request log {'kept' if args.keep_fake_log else 'emptied once the jobs are made'}")
    plain = child(args, traced=False)
    print("\npass 1: resident set size (VmRSS)")
    base = plain[0]["rss_kib"]
    for entry in plain:
        print(f"  {entry['label']:<40} {mib(entry['rss_kib'], kib=True)}   +{mib(entry['rss_kib'] - base, kib=True)}"
              " over imports")
    busy_entry = plain[2]
    fetches = busy_entry["fetches"]
    states = ", ".join(f"{count} {word}" for word, count in sorted(busy_entry["simulator_states"].items()))
    print(f"  jobs created in {busy_entry['created']:.1f} s ({args.create_concurrency} at a time, poller "
          f"{'paused meanwhile' if busy_entry['paused'] else 'running'}); "
          + (f"{fetches:,} API fetches by the poller ({fetches / max(1, args.jobs):.1f} per job) while polling; "
             if fetches is not None else "")
          + f"the simulator answers for a sample of {sum(busy_entry['simulator_states'].values())} jobs: {states}; "
          f"the fake Discord got {busy_entry['fake_requests']:,} requests "
          f"({busy_entry['fake_kept']:,} still in its log)")
    idle, busy = plain[1]["rss_kib"], busy_entry["rss_kib"]
    print(f"  pending jobs cost {(busy - idle) / max(1, args.jobs):.1f} KiB each in RSS (fake Discord included)")
    if args.jobs >= GOAL_JOBS:
        ok = busy / 1024 < GOAL_MIB and busy_entry["pending"] >= GOAL_JOBS
        print(f"  goal: VmRSS < {GOAL_MIB} MiB with {GOAL_JOBS:,} pending jobs being polled: "
              f"{'MET' if ok else 'NOT met'} ({busy / 1024:.1f} MiB with {busy_entry['pending']:,} pending)")

    if args.rss_only:
        return
    traced = child(args, traced=True)
    print(f"\npass 2: Python heap under tracemalloc ({TRACE_FRAMES} frames), by who allocated it (traced bytes)")
    names = list(traced[0]["groups"])
    print(f"  {'':<30} " + " ".join(f"{e['label'].split(':')[0]:>12}" for e in traced))
    for name in names:
        print(f"  {name:<30} " + " ".join(f"{mib(e['groups'][name]):>12}" for e in traced))
    print(f"  {'total traced':<30} " + " ".join(f"{mib(e['heap']):>12}" for e in traced))
    bot_idle = sum(v for k, v in traced[1]["groups"].items() if not k.startswith("fake"))
    bot_busy = sum(v for k, v in traced[2]["groups"].items() if not k.startswith("fake"))
    print(f"  heap without the fake Discord: idle {mib(bot_idle).strip()}, busy {mib(bot_busy).strip()} "
          f"(+{(bot_busy - bot_idle) / 1024 / max(1, args.jobs):.1f} KiB per pending job)")
    print(f"  (RSS of this pass, tracemalloc's own bookkeeping included: busy {traced[2]['rss_kib'] / 1024:.1f} MiB)")
    fake_busy = traced[2]["groups"][GROUPS[-2][0]]
    print(f"  estimate of the bot alone: pass 1 busy VmRSS {busy / 1024:.1f} MiB less the fake Discord's traced heap "
          f"{fake_busy / 1048576:.1f} MiB = {busy / 1024 - fake_busy / 1048576:.1f} MiB")


if __name__ == "__main__":
    main()
