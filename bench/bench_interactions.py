"""Interaction benchmark: how fast the real bot answers a burst of /dream commands.

    python -m bench.bench_interactions [--sizes 100 1000] [--timeout 120]

For each size N, a fresh world (video API simulator + the real DreamBot on a temporary
SQLite file + the fake Discord) receives N `/dream` INTERACTION_CREATEs back to back, from N
distinct members (so no per-member running limit refuses them). Measured, per interaction:

* callback: from handing the INTERACTION_CREATE to the bot, to the bot's interaction
  callback (the ephemeral "thinking" defer, which must arrive within Discord's 3 s) arriving
  at the fake Discord (`RecordedRequest.at`, on `time.monotonic()`);
* followup: to the "Clip #n is on its way" / refusal followup (the job is then reserved and
  accepted by the API, or refused).

The simulator runs in real time (time_scale 1, 3 s queue + 100 s run) so no job finishes
during the measurement, and the poller uses the default 5 s interval: the poller's real
background work is there, nothing more. Figures are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

from bench._common import LoopLag, cpu_seconds, median, quantile, quiet_logs
from bot.simulator import SimulatorConfig
from tests.harness import payloads
from tests.world import API_KEY, world

PROMPT = "a jellyfish drifting through space, cinematic"


async def until(done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not send all {what} within {timeout:.0f} s")
        await asyncio.sleep(0.02)


async def burst(n: int, timeout: float) -> dict:
    config = SimulatorConfig(time_scale=1.0, api_keys={API_KEY}, seed=1, queue_seconds=3.0, run_seconds=100.0)
    with tempfile.TemporaryDirectory() as folder:
        async with world(Path(folder), sim_config=config, poll_interval_seconds=5.0) as w:
            users = [payloads.user(username=f"member{i}") for i in range(n)]
            lag = LoopLag().start()
            await asyncio.sleep(0.05)
            sent: dict[int, float] = {}
            cpu0 = cpu_seconds()
            wall0 = time.monotonic()
            for user in users:  # back to back: h.slash never yields, so all N are queued at once
                at = time.monotonic()
                iid = await w.h.slash("dream", {"prompt": PROMPT}, user=user)
                sent[iid] = at
            dispatched = time.monotonic() - wall0

            # Polled every 20 ms rather than fake.wait_state, whose predicate would rescan every
            # recorded request after each new one (quadratic work inside the measured window).
            await until(lambda: len(w.fake.callbacks()) >= n, timeout, "callbacks")
            all_callbacks = time.monotonic() - wall0
            await until(lambda: len(w.fake.followups()) >= n, timeout, "followups")
            all_followups = time.monotonic() - wall0
            cpu = cpu_seconds() - cpu0
            await lag.stop()

            callback_at = {int(r.params["interaction_id"]): r.at for r in w.fake.callbacks()}
            token_to_iid = {str(p["token"]): iid for iid, p in w.h.interactions.items()}
            followup_at: dict[int, float] = {}
            accepted = 0
            for request in w.fake.followups():
                iid = token_to_iid.get(request.params["token"])
                if iid is None or iid in followup_at:
                    continue
                followup_at[iid] = request.at
                if "is on its way" in ((request.json or {}).get("content") or ""):
                    accepted += 1
            callback_latency = [callback_at[i] - t for i, t in sent.items() if i in callback_at]
            followup_latency = [followup_at[i] - t for i, t in sent.items() if i in followup_at]
            late = sum(1 for x in callback_latency if x > 3.0)
            pending = len(await w.store.jobs_to_poll())
            return {
                "n": n,
                "dispatch": dispatched,
                "callbacks": len(callback_latency),
                "cb_p50": median(callback_latency),
                "cb_p99": quantile(callback_latency, 0.99),
                "cb_max": max(callback_latency),
                "late": late,
                "fu_p50": median(followup_latency),
                "fu_p99": quantile(followup_latency, 0.99),
                "accepted": accepted,
                "pending": pending,
                "all_callbacks": all_callbacks,
                "all_followups": all_followups,
                "cpu": cpu,
                "lag": lag.summary(),
            }


async def run(sizes: list[int], timeout: float) -> None:
    print(f"dreambot interaction benchmark (python {sys.version.split()[0]})")
    results = []
    for n in sizes:
        result = await burst(n, timeout)
        results.append(result)
        print(f"\n{n:,} /dream at once (dispatched in {result['dispatch'] * 1000:.0f} ms):")
        print(f"  callback (defer)  p50 {result['cb_p50'] * 1000:8.1f} ms   p99 {result['cb_p99'] * 1000:8.1f} ms   "
              f"max {result['cb_max'] * 1000:8.1f} ms   over Discord's 3 s: {result['late']}")
        print(f"  followup (answer) p50 {result['fu_p50'] * 1000:8.1f} ms   p99 {result['fu_p99'] * 1000:8.1f} ms")
        print(f"  accepted {result['accepted']:,} / {n:,} (jobs pending at the API: {result['pending']:,});"
              f" all callbacks after {result['all_callbacks']:.2f} s, all followups after {result['all_followups']:.2f} s;"
              f" bot process CPU {result['cpu']:.2f} s")
        print(f"  {result['lag']}")
    print("\nsummary")
    print(f"  {'burst':>6}  {'callback p50':>13}  {'callback p99':>13}  {'followup p50':>13}  {'followup p99':>13}  {'accepted':>9}")
    for r in results:
        print(f"  {r['n']:>6,}  {r['cb_p50'] * 1000:>10.1f} ms  {r['cb_p99'] * 1000:>10.1f} ms  "
              f"{r['fu_p50'] * 1000:>10.1f} ms  {r['fu_p99'] * 1000:>10.1f} ms  {r['accepted']:>9,}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--timeout", type=float, default=120.0, help="give up waiting after this many seconds")
    args = parser.parse_args()
    quiet_logs()
    asyncio.run(run(args.sizes, args.timeout))


if __name__ == "__main__":
    main()
