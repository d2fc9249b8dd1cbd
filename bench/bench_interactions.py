"""Interaction benchmark: how fast the real bot answers a burst of /dream commands.

    python -m bench.bench_interactions [--sizes 100 1000] [--repeat 1] [--timeout 120]
                                       [--standins one|two] [--in-process] [--wait-quiet SECONDS]

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

Where the stand-ins run:

* default: the fake Discord and the simulator run in a child process (`bench._standins`;
  `--standins two` gives each its own). This process holds only the real DreamBot (settings
  as `tests/world.py` makes them) and the loop that hands it READY, GUILD_CREATE and the
  INTERACTION_CREATEs, built with `tests/harness/payloads` as `DiscordHarness.slash` builds
  them. The child runs the tests' own `FakeDiscord`, so the same Discord limits apply, and
  reports its records at the end; `RecordedRequest.at` and the send times are both
  CLOCK_MONOTONIC, one clock for every process on Linux. As in the tests, any error the bot
  logs, any 4xx the fake answers and any unknown route fails the run (exit status 1).
* `--in-process`: the old way, everything in this process and on its event loop
  (`tests/world.py` `world()`); the stand-ins' CPU is then charged to the bot.

CPU seconds are printed per process over the burst (first send to last followup): the bot
process (the aiosqlite worker thread included) and the stand-ins' child(ren).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._common import LoopLag, cpu_seconds, median, quantile, quiet_logs
from tests.harness import payloads

PROMPT = "a jellyfish drifting through space, cinematic"
QUEUE_SECONDS = 3.0
RUN_SECONDS = 100.0
POLL_INTERVAL_SECONDS = 5.0
REPO_ROOT = Path(__file__).resolve().parent.parent
ERROR_LOGGERS = ("discord", "bot", "cogs", "storage")  # as tests/world.py hands DiscordHarness


def sim_fields() -> dict[str, Any]:
    from tests.world import API_KEY

    return {"time_scale": 1.0, "api_keys": [API_KEY], "seed": 1, "queue_seconds": QUEUE_SECONDS,
            "run_seconds": RUN_SECONDS}


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine so far (every process, every core), from /proc/stat.

    Over the burst, this minus the bot's and the children's CPU is what other processes on the
    machine took: with 2 cores, a busy neighbour changes the figures more than anything here."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


async def wait_for_quiet(limit: float) -> str:
    """Wait (up to `limit` s) until the machine has had a quiet second: under 0.15 core-seconds busy."""
    deadline = time.monotonic() + limit
    while True:
        before = machine_cpu_seconds()
        await asyncio.sleep(1.0)
        busy = machine_cpu_seconds() - before
        if busy < 0.15:
            return ""
        if time.monotonic() > deadline:
            return f" (the machine did not go quiet within {limit:.0f} s: {busy:.2f} core-s/s busy)"


async def until(done, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"the bot did not send all {what} within {timeout:.0f} s")
        await asyncio.sleep(0.02)


def figures(n: int, sent: dict[int, float], callbacks: list[tuple[int, float]],
            followups: list[tuple[int | None, float, str]]) -> dict[str, Any]:
    """Latencies from the send times and the fake's records: (iid, at) callbacks, (iid, at, content) followups."""
    callback_at = {iid: at for iid, at in callbacks}
    followup_at: dict[int, float] = {}
    accepted = 0
    for iid, at, content in followups:
        if iid is None or iid in followup_at:
            continue
        followup_at[iid] = at
        if "is on its way" in (content or ""):
            accepted += 1
    callback_latency = [callback_at[i] - t for i, t in sent.items() if i in callback_at]
    followup_latency = [followup_at[i] - t for i, t in sent.items() if i in followup_at]
    wall0 = min(sent.values())
    return {
        "n": n,
        "callback_at": callback_at,
        "followup_at": followup_at,
        "callbacks": len(callback_latency),
        "cb_p50": median(callback_latency),
        "cb_p99": quantile(callback_latency, 0.99),
        "cb_max": max(callback_latency),
        "late": sum(1 for x in callback_latency if x > 3.0),
        "fu_p50": median(followup_latency),
        "fu_p99": quantile(followup_latency, 0.99),
        "fu_max": max(followup_latency),
        "accepted": accepted,
        "all_callbacks": max(callback_at.values()) - wall0,
        "all_followups": max(followup_at.values()) - wall0,
    }


class Probe:
    """Bot-side timestamps that split each latency into the bot's part and the trip to the fake.

    Wraps (for the burst only) `InteractionResponse.defer` and `Webhook.send`, the calls behind the
    ack and the followup, recording `time.monotonic()` when the bot calls each and when it returns.
    Two clock reads and one coroutine frame per call: nothing that shows in the figures."""

    def __init__(self) -> None:
        self.defer_called: dict[int, float] = {}
        self.defer_returned: dict[int, float] = {}
        self.send_called: dict[str, float] = {}
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> Probe:
        import discord

        probe = self
        defer, send = discord.InteractionResponse.defer, discord.Webhook.send

        async def timed_defer(response: Any, *args: Any, **kwargs: Any) -> Any:
            iid = response._parent.id
            probe.defer_called.setdefault(iid, time.monotonic())
            try:
                return await defer(response, *args, **kwargs)
            finally:
                probe.defer_returned.setdefault(iid, time.monotonic())

        async def timed_send(webhook: Any, *args: Any, **kwargs: Any) -> Any:
            if webhook.token:
                probe.send_called.setdefault(webhook.token, time.monotonic())
            return await send(webhook, *args, **kwargs)

        self._saved = [(discord.InteractionResponse, "defer", defer), (discord.Webhook, "send", send)]
        discord.InteractionResponse.defer = timed_defer  # type: ignore[method-assign]
        discord.Webhook.send = timed_send  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: object) -> None:
        for owner, name, original in self._saved:
            setattr(owner, name, original)
        self._saved = []

    def split(self, sent: dict[int, float], callback_at: dict[int, float], followup_at: dict[int, float],
              token_of: dict[int, str]) -> dict[str, tuple[float, float]]:
        """p50/p99 (s) of each leg: sent -> defer called -> fake's .at -> defer returned; sent -> followup.send called -> .at."""
        legs: dict[str, list[float]] = {k: [] for k in ("to_defer", "defer_to_fake", "fake_to_return", "to_send", "send_to_fake")}
        for iid, t in sent.items():
            called, back, at = self.defer_called.get(iid), self.defer_returned.get(iid), callback_at.get(iid)
            if called is not None and at is not None and back is not None:
                legs["to_defer"].append(called - t)
                legs["defer_to_fake"].append(at - called)
                legs["fake_to_return"].append(back - at)
            sent_followup, fu_at = self.send_called.get(token_of[iid]), followup_at.get(iid)
            if sent_followup is not None and fu_at is not None:
                legs["to_send"].append(sent_followup - t)
                legs["send_to_fake"].append(fu_at - sent_followup)
        return {k: (median(v), quantile(v, 0.99)) for k, v in legs.items() if v}


def describe_split(split: dict[str, tuple[float, float]]) -> list[str]:
    if not split:
        return []

    def leg(key: str, what: str) -> str:
        p50, p99 = split.get(key, (float("nan"), float("nan")))
        return f"{what} {p50 * 1000:.0f}/{p99 * 1000:.0f}"

    return [
        "  ack, p50/p99 ms: " + ", ".join([leg("to_defer", "sent -> bot calls defer"),
                                            leg("defer_to_fake", "-> fake records it"),
                                            leg("fake_to_return", "-> defer returns in the bot")]),
        "  followup, p50/p99 ms: " + ", ".join([leg("to_send", "sent -> bot calls followup.send"),
                                                 leg("send_to_fake", "-> fake records it")]),
    ]


# ----------------------------------------------------------------------------- in-process (the old way)

async def burst_in_process(n: int, timeout: float) -> dict[str, Any]:
    from bot.simulator import SimulatorConfig
    from tests.world import world

    fields = sim_fields()
    config = SimulatorConfig(**{**fields, "api_keys": set(fields["api_keys"])})
    with tempfile.TemporaryDirectory() as folder:
        async with world(Path(folder), sim_config=config, poll_interval_seconds=POLL_INTERVAL_SECONDS) as w:
            users = [payloads.user(username=f"member{i}") for i in range(n)]
            lag = LoopLag().start()
            await asyncio.sleep(0.05)
            sent: dict[int, float] = {}
            with Probe() as probe:
                cpu0 = cpu_seconds()
                machine0 = machine_cpu_seconds()
                wall0 = time.monotonic()
                for user in users:  # back to back: h.slash never yields, so all N are queued at once
                    at = time.monotonic()
                    iid = await w.h.slash("dream", {"prompt": PROMPT}, user=user)
                    sent[iid] = at
                dispatched = time.monotonic() - wall0

                # Polled every 20 ms rather than fake.wait_state, whose predicate would rescan every
                # recorded request after each new one (quadratic work inside the measured window).
                await until(lambda: len(w.fake.callbacks()) >= n, timeout, "callbacks")
                await until(lambda: len(w.fake.followups()) >= n, timeout, "followups")
                cpu = cpu_seconds() - cpu0
                machine = machine_cpu_seconds() - machine0
                wall = time.monotonic() - wall0
                await lag.stop()

            token_to_iid = {str(p["token"]): iid for iid, p in w.h.interactions.items()}
            result = figures(
                n, sent,
                [(int(r.params["interaction_id"]), r.at) for r in w.fake.callbacks()],
                [(token_to_iid.get(r.params["token"]), r.at, (r.json or {}).get("content") or "")
                 for r in w.fake.followups()],
            )
            result["split"] = probe.split(sent, result["callback_at"], result["followup_at"],
                                          {iid: str(p["token"]) for iid, p in w.h.interactions.items()})
            result.update(mode="in-process", dispatch=dispatched, pending=len(await w.store.jobs_to_poll()),
                          cpu=cpu, wall=wall, others=machine - cpu, lag=lag.summary(), children=[], problems=[])
            return result


# ----------------------------------------------------------------------------- the stand-ins' child process

class StandInProcess:
    """A `python -m bench._standins` child, spoken to in JSON lines (see that module)."""

    def __init__(self, process: asyncio.subprocess.Process, up: dict[str, Any]) -> None:
        self.process = process
        self.up = up
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader = asyncio.create_task(self._read(), name="bench-standins-reader")

    @classmethod
    async def start(cls, spec: dict[str, Any]) -> StandInProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench._standins", json.dumps(spec), cwd=REPO_ROOT,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=1 << 26)
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if not line:
            raise RuntimeError(f"the stand-ins' process ended before it was up (exit {await process.wait()})")
        return cls(process, json.loads(line))

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while True:
            line = await self.process.stdout.readline()
            if not line:
                for future in self._waiting.values():
                    if not future.done():
                        future.set_exception(RuntimeError("the stand-ins' process ended"))
                return
            reply = json.loads(line)
            future = self._waiting.pop(reply["id"], None)
            if future is not None and not future.done():
                future.set_result(reply)

    def send(self, op: str, **fields: Any) -> asyncio.Future[dict[str, Any]]:
        """Write the request now (synchronously, into the pipe), return the future of its reply."""
        assert self.process.stdin is not None
        request_id = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[request_id] = future
        self.process.stdin.write((json.dumps({"id": request_id, "op": op, **fields}) + "\n").encode())
        return future

    async def call(self, op: str, **fields: Any) -> dict[str, Any]:
        reply = await self.send(op, **fields)
        if not reply.get("ok"):
            raise RuntimeError(f"stand-ins ({op}): {reply.get('error')}")
        return reply

    async def report(self, folder: Path) -> dict[str, Any]:
        path = folder / f"standins-{self.process.pid}.json"
        await self.call("report", path=str(path))
        return json.loads(path.read_text(encoding="utf-8"))

    async def stop(self) -> None:
        if self.process.returncode is None:
            try:
                await asyncio.wait_for(self.call("stop"), 5)
                await asyncio.wait_for(self.process.wait(), 10)
            except (asyncio.TimeoutError, RuntimeError, ConnectionError):
                if self.process.returncode is None:
                    self.process.kill()
                    await self.process.wait()
        self._reader.cancel()


class ErrorCollector(logging.Handler):
    """What DiscordHarness collects without a harness: ERROR logs, tree/event errors, loop exceptions."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.problems: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.problems.append(f"[log:{record.name}] {record.getMessage()}")

    def hook(self, bot: Any) -> None:
        for name in ERROR_LOGGERS:
            logging.getLogger(name).addHandler(self)
        loop = asyncio.get_running_loop()

        def on_loop_exception(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            self.problems.append(f"[asyncio] {context.get('message', '')}: {context.get('exception')!r}")
            loop.default_exception_handler(context)

        loop.set_exception_handler(on_loop_exception)
        original_on_error = bot.on_error

        async def on_error(event_method: str, /, *args: Any, **kwargs: Any) -> None:
            self.problems.append(f"[event:{event_method}] {sys.exc_info()[1]!r}")
            await original_on_error(event_method, *args, **kwargs)

        bot.on_error = on_error

    def hook_tree(self, bot: Any) -> None:
        tree = bot.tree
        original = tree.on_error

        async def on_error(interaction: Any, error: Exception, /) -> None:
            name = interaction.command.qualified_name if interaction.command else "?"
            self.problems.append(f"[app_command:{name}] {error!r}")
            await original(interaction, error)

        tree.on_error = on_error

    def unhook(self) -> None:
        for name in ERROR_LOGGERS:
            logging.getLogger(name).removeHandler(self)
        asyncio.get_running_loop().set_exception_handler(None)


async def wait_or_fail(waiting: Any, collector: ErrorCollector) -> None:
    """Await the child's `wait`, but fail as soon as the bot has logged an error (as the harness's fail_fast)."""
    task = asyncio.ensure_future(waiting)
    while not task.done():
        await asyncio.wait([task], timeout=0.05)
        if collector.problems and not task.done():
            task.cancel()
            raise RuntimeError("the bot hit errors during the burst:\n  " + "\n  ".join(collector.problems[:10]))
    task.result()


async def drain_commands(timeout: float) -> None:
    """Let the last /dream tasks finish (status message, its store write) before closing, as the harness does."""
    current = asyncio.current_task()
    work = [t for t in asyncio.all_tasks() if t is not current and not t.done()
            and t.get_name().startswith(("CommandTree-invoker", "discord.py: "))]
    if work:
        await asyncio.wait(work, timeout=timeout)


async def burst_out_of_process(n: int, timeout: float, standins: str) -> dict[str, Any]:
    import discord

    from bot.client import DreamBot
    from tests.world import DISCORD_TOKEN, make_settings

    # The world as DiscordHarness builds it: a bot user, one guild with one text channel, a default member.
    bot_user = payloads.user(username="dreambot-test", bot=True)
    application_id = int(bot_user["id"])
    default_user = payloads.user(username="tester")
    owner_id = payloads.ids.next()
    guild_id = payloads.ids.next()
    bot_role_id = payloads.ids.next()
    channel = payloads.text_channel(payloads.ids.next(), "channel-0", guild_id=guild_id, position=0)

    spec = {"bot_user": bot_user, "application_id": str(application_id), "sim": sim_fields()}
    if standins == "two":
        fake_child = await StandInProcess.start({**spec, "serve": ["discord"]})
        sim_child = await StandInProcess.start({**spec, "serve": ["simulator"]})
        children = [fake_child, sim_child]
    else:
        fake_child = sim_child = await StandInProcess.start({**spec, "serve": ["discord", "simulator"]})
        children = [fake_child]
    old_base = discord.http.Route.BASE
    collector = ErrorCollector()
    probe = Probe()
    try:
        with tempfile.TemporaryDirectory() as folder:
            api_url = sim_child.up["api_url"]
            await fake_child.call("world", channels=[channel], users=[default_user])
            discord.http.Route.BASE = fake_child.up["discord_base"]
            settings = make_settings(Path(folder) / "dreambot.sqlite3", aimlapi_base_url=api_url,
                                     poll_interval_seconds=POLL_INTERVAL_SECONDS)
            bot = DreamBot(settings, api_base_url=api_url, guild_ready_timeout=0.05)
            collector.hook(bot)
            async with bot:
                await bot.login(DISCORD_TOKEN)  # GET /users/@me, /oauth2/applications/@me, setup_hook (sync)
                collector.hook_tree(bot)
                parsers = bot._connection.parsers
                parsers["READY"](payloads.ready(bot_user, application_id, [guild_id]))
                bot_role = payloads.role(bot_role_id, bot_user["username"], permissions=payloads.DEFAULT_BOT_PERMISSIONS,
                                         position=1, managed=True)
                parsers["GUILD_CREATE"](payloads.guild_create(
                    guild_id, channels=[channel], roles=[bot_role], owner_id=owner_id,
                    members=[payloads.member(bot_user, [bot_role_id]), payloads.member(default_user)]))
                await asyncio.wait_for(bot.wait_until_ready(), 10)

                # data.guild_id and data.id as DiscordHarness._command_guild_id finds them: what was synced wins.
                synced = await fake_child.call("command_ids", name="dream", guild_id=str(guild_id))
                if synced["guild"] is not None:
                    command_guild_id, command_id = guild_id, synced["guild"]
                elif synced["global"] is not None:
                    command_guild_id, command_id = None, synced["global"]
                else:
                    in_guild = bot.tree.get_command("dream", guild=discord.Object(guild_id)) is not None
                    command_guild_id, command_id = (guild_id if in_guild and bot.tree.get_command("dream") is None
                                                    else None), None
                built = [
                    payloads.slash_command(
                        "dream", {"prompt": PROMPT}, command_id=command_id, command_guild_id=command_guild_id,
                        application_id=application_id, user=payloads.user(username=f"member{i}"), locale="en-US",
                        app_permissions=payloads.DEFAULT_BOT_PERMISSIONS, guild_id=guild_id, channel=channel,
                        member_roles=[], member_permissions=payloads.DEFAULT_MEMBER_PERMISSIONS)
                    for i in range(n)
                ]
                # Registered before the burst (so the fake routes their webhooks), not during it.
                await fake_child.call("register", interactions=built)
                token_to_iid = {str(p["token"]): int(p["id"]) for p in built}

                lag = LoopLag().start()
                await asyncio.sleep(0.05)
                for child in children:
                    await child.call("begin")
                parse = parsers["INTERACTION_CREATE"]
                sent: dict[int, float] = {}
                probe.__enter__()
                cpu0 = cpu_seconds()
                machine0 = machine_cpu_seconds()
                wall0 = time.monotonic()
                for payload in built:  # back to back, never yielding: all N are queued at once
                    at = time.monotonic()
                    parse(payload)
                    sent[int(payload["id"])] = at
                dispatched = time.monotonic() - wall0
                # The fake's 3 s clocks start at the send times; written before the bot's loop runs again.
                fake_child.send("sent", at={p["token"]: sent[int(p["id"])] for p in built})

                await wait_or_fail(fake_child.call("wait", callbacks=n, followups=n, timeout=timeout), collector)
                cpu = cpu_seconds() - cpu0
                machine = machine_cpu_seconds() - machine0
                wall = time.monotonic() - wall0
                probe.__exit__()
                await lag.stop()
                if sim_child is not fake_child:
                    await sim_child.call("end")
                await drain_commands(5.0)  # so the report also holds the last status messages' answers
                reports = [await child.report(Path(folder)) for child in children]
                pending = len(await bot.store.jobs_to_poll())
            fake_report = reports[0]
            result = figures(
                n, sent,
                [(int(r["interaction_id"]), r["at"]) for r in fake_report["callbacks"]],
                [(token_to_iid.get(r["token"]), r["at"], r["content"] or "") for r in fake_report["followups"]],
            )
            result["split"] = probe.split(sent, result["callback_at"], result["followup_at"],
                                          {int(p["id"]): str(p["token"]) for p in built})
            problems = collector.problems + fake_report["refusals"] + fake_report["unhandled"]
            result.update(mode=f"stand-ins in {len(children)} child process{'es' if len(children) > 1 else ''}",
                          dispatch=dispatched, pending=pending, cpu=cpu, wall=wall, lag=lag.summary(),
                          others=machine - cpu - sum(r["cpu_window"] or 0.0 for r in reports),
                          children=reports, problems=problems, routes=fake_report["routes"])
            return result
    finally:
        probe.__exit__()
        collector.unhook()
        discord.http.Route.BASE = old_base
        for child in children:
            await child.stop()


# ----------------------------------------------------------------------------- output

def describe_child(report: dict[str, Any]) -> str:
    what = " + ".join({"discord": "fake Discord", "simulator": "simulator"}[s] for s in report["serve"])
    busy = report["cpu_window"] / report["wall_window"] if report.get("wall_window") else float("nan")
    return (f"{what} (pid {report['pid']}): CPU {report['cpu_window']:.2f} s over the burst ({busy:.0%} of a core), "
            f"{report['cpu_total']:.2f} s in all; its {report['lag']}")


async def run(sizes: list[int], timeout: float, in_process: bool, standins: str, repeat: int, quiet: float) -> int:
    mode = "in-process" if in_process else f"stand-ins out of process ({standins} child{'ren' if standins == 'two' else ''})"
    print(f"dreambot interaction benchmark (python {sys.version.split()[0]}, {os.cpu_count()} cores): {mode}")
    results = []
    failed = False
    for n in sizes:
        for _ in range(repeat):
            waited = await wait_for_quiet(quiet) if quiet > 0 else ""
            if in_process:
                result = await burst_in_process(n, timeout)
            else:
                result = await burst_out_of_process(n, timeout, standins)
            results.append(result)
            print(f"\n{n:,} /dream at once (dispatched in {result['dispatch'] * 1000:.0f} ms; {result['mode']}){waited}:")
            print(f"  ack (defer)       p50 {result['cb_p50'] * 1000:8.1f} ms   p99 {result['cb_p99'] * 1000:8.1f} ms   "
                  f"max {result['cb_max'] * 1000:8.1f} ms   over Discord's 3 s: {result['late']}")
            print(f"  followup (answer) p50 {result['fu_p50'] * 1000:8.1f} ms   p99 {result['fu_p99'] * 1000:8.1f} ms   "
                  f"max {result['fu_max'] * 1000:8.1f} ms")
            print(f"  accepted {result['accepted']:,} / {n:,} (jobs pending at the API: {result['pending']:,});"
                  f" all callbacks after {result['all_callbacks']:.2f} s, all followups after {result['all_followups']:.2f} s")
            share = result["cpu"] / result["wall"] if result["wall"] else float("nan")
            print(f"  bot process: CPU {result['cpu']:.2f} s over the burst ({share:.0%} of a core)"
                  + (", stand-ins included" if result["mode"] == "in-process" else "") + f"; {result['lag']}")
            for line in describe_split(result.get("split") or {}):
                print(line)
            for report in result["children"]:
                print(f"  {describe_child(report)}")
            print(f"  other processes on the machine: CPU {max(0.0, result['others']):.2f} s over the burst"
                  + ("  (busy neighbours: these figures are not clean)" if result["others"] > 0.1 * result["wall"] else ""))
            if result.get("routes"):
                print("  fake Discord requests by route: "
                      + ", ".join(f"{k} {v:,}" for k, v in sorted(result["routes"].items())))
            if result["problems"]:
                failed = True
                print(f"  PROBLEMS ({len(result['problems'])}, as DiscordHarness would fail a test on them):")
                for line in result["problems"][:20]:
                    print(f"    {line}")
    print(f"\nsummary ({mode})")
    print(f"  {'burst':>6}  {'ack p50':>10}  {'ack p99':>10}  {'ack max':>10}  {'followup p50':>12}  {'followup p99':>12}"
          f"  {'accepted':>9}  {'bot CPU':>8}  {'child CPU':>9}  {'others':>7}")
    for r in results:
        child_cpu = sum(c["cpu_window"] for c in r["children"])
        print(f"  {r['n']:>6,}  {r['cb_p50'] * 1000:>7.1f} ms  {r['cb_p99'] * 1000:>7.1f} ms  {r['cb_max'] * 1000:>7.1f} ms"
              f"  {r['fu_p50'] * 1000:>9.1f} ms  {r['fu_p99'] * 1000:>9.1f} ms  {r['accepted']:>9,}  {r['cpu']:>6.2f} s"
              f"  {(f'{child_cpu:.2f} s' if r['children'] else '-'):>9}  {max(0.0, r['others']):>5.2f} s")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size, each in a fresh world")
    parser.add_argument("--timeout", type=float, default=120.0, help="give up waiting after this many seconds")
    parser.add_argument("--in-process", action="store_true",
                        help="the old way: the fake Discord and the simulator on the bot's own event loop")
    parser.add_argument("--standins", choices=("one", "two"), default="one",
                        help="one child process for both stand-ins, or one each (default %(default)s)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each burst, wait up to this long for a quiet second on the machine "
                             "(other processes' CPU shows in the 'others' column either way)")
    args = parser.parse_args()
    quiet_logs()
    sys.exit(asyncio.run(run(args.sizes, args.timeout, args.in_process, args.standins, args.repeat, args.wait_quiet)))


if __name__ == "__main__":
    main()
