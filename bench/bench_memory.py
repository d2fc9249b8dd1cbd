"""Memory benchmark: the bot process idle, and with 1,000 pending jobs being polled.

    python -m bench.bench_memory [--jobs 1000] [--dialect unified] [--poll-seconds 10]

The video API simulator runs in its own process (`python -m bot.simulator`), so this
process holds only what a deployed bot holds, plus the fake Discord it logs into (which
records every request). Readings, each after `gc.collect()`:

1. interpreter + imports (discord.py, aiohttp, pydantic, the bot's modules);
2. idle: the real DreamBot logged in and ready (setup_hook done, cogs loaded, poller running);
3. busy: N jobs submitted (`DreamService.start` + the status message) and polled for
   `--poll-seconds`; jobs never finish (100,000 s runs), so all N stay pending.

Pass 1 reads VmRSS from /proc/self/status. Pass 2 (a fresh process) repeats the steps under
tracemalloc and splits the Python heap by the package that allocated it, so the fake
Discord's own records can be told apart from the bot's memory.

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
    totals: dict[str, int] = {name: 0 for name, _ in GROUPS}
    totals["other"] = 0
    for stat in snapshot.statistics("filename"):
        filename = stat.traceback[0].filename.replace(os.sep, "/")
        for name, needles in GROUPS:
            if any(needle in filename for needle in needles):
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


async def measure(jobs: int, dialect: str, poll_seconds: float, traced: bool) -> list[dict[str, Any]]:
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
                channel = bot.get_channel(h.channel_id)
                gate = asyncio.Semaphore(16)

                async def make(i: int) -> None:
                    async with gate:
                        generation = await bot.dreams.start(Requester(h.guild_id, h.channel_id, 10_000 + i),
                                                            f"memory bench clip {i}: a city at dawn", VideoOptions())
                        await clips.post_status(generation, channel)

                started = time.monotonic()
                await asyncio.gather(*(make(i) for i in range(jobs)))
                created = time.monotonic() - started
                fetched0 = clips.poller.fetch_requests
                await asyncio.sleep(poll_seconds)
                pending = len(await bot.store.jobs_to_poll())
                entry = reading(f"busy: {pending:,} pending jobs, polled {poll_seconds:g} s", traced)
                entry.update(created=created, fetches=clips.poller.fetch_requests - fetched0,
                             fake_requests=len(h.fake.requests))
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
               "--jobs", str(args.jobs), "--dialect", args.dialect, "--poll-seconds", str(args.poll_seconds)]
    result = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=True)
    line = next(line for line in result.stdout.splitlines() if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--dialect", default="unified", choices=["unified", "luma-v2", "legacy"])
    parser.add_argument("--poll-seconds", type=float, default=10.0)
    parser.add_argument("--pass", dest="which", choices=["rss", "traced"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    quiet_logs()
    if args.which:
        traced = args.which == "traced"
        if traced:
            tracemalloc.start()
        print("RESULT " + json.dumps(asyncio.run(measure(args.jobs, args.dialect, args.poll_seconds, traced))),
              flush=True)
        return

    print(f"dreambot memory benchmark: {args.jobs:,} jobs, dialect {args.dialect}, python {sys.version.split()[0]}")
    plain = child(args, traced=False)
    print("\npass 1: resident set size (VmRSS)")
    base = plain[0]["rss_kib"]
    for entry in plain:
        extra = ""
        if "created" in entry:
            extra = (f"   (jobs created in {entry['created']:.1f} s; {entry['fetches']:,} API fetches while polling; "
                     f"the fake Discord recorded {entry['fake_requests']:,} requests)")
        print(f"  {entry['label']:<40} {mib(entry['rss_kib'], kib=True)}   +{mib(entry['rss_kib'] - base, kib=True)}"
              f" over imports{extra}")
    idle, busy = plain[1]["rss_kib"], plain[2]["rss_kib"]
    print(f"  pending jobs cost {(busy - idle) / max(1, args.jobs):.1f} KiB each in RSS (fake Discord included)")

    traced = child(args, traced=True)
    print("\npass 2: Python heap under tracemalloc, by allocating package (traced bytes)")
    names = list(traced[0]["groups"])
    print(f"  {'':<30} " + " ".join(f"{e['label'].split(':')[0]:>12}" for e in traced))
    for name in names:
        print(f"  {name:<30} " + " ".join(f"{mib(e['groups'][name]):>12}" for e in traced))
    print(f"  {'total traced':<30} " + " ".join(f"{mib(e['heap']):>12}" for e in traced))
    bot_idle = sum(v for k, v in traced[1]["groups"].items() if not k.startswith("fake"))
    bot_busy = sum(v for k, v in traced[2]["groups"].items() if not k.startswith("fake"))
    print(f"  heap without the fake Discord: idle {mib(bot_idle).strip()}, busy {mib(bot_busy).strip()} "
          f"(+{(bot_busy - bot_idle) / 1024 / max(1, args.jobs):.1f} KiB per pending job)")


if __name__ == "__main__":
    main()
