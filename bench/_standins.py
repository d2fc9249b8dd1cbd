"""The stand-ins of `bench_interactions` (fake Discord, video API simulator) in a process of their own.

    python -m bench._standins '<spec JSON>'        (cwd: the repository root; started by the bench)

So their CPU (aiohttp's server, JSON, the fake's records, the simulator's pricing and logs) is
not charged to the bot being measured. The spec:

    {"serve": ["discord", "simulator"],          # either or both
     "bot_user": {...}, "application_id": "...", # for FakeDiscord (as DiscordHarness builds it)
     "sim": {"time_scale": 1.0, "queue_seconds": 3.0, ...}}   # SimulatorConfig fields

The fake is the tests' own `FakeDiscord`, unmodified: it applies the same Discord limits
(content, embeds, components, 3 s ack window, second answers...) and records every request
with `RecordedRequest.at = time.monotonic()`, which on Linux is CLOCK_MONOTONIC, one clock
for every process, so the bench compares it with its own send times.

Protocol: one JSON object a line. The first line on stdout is unsolicited
(`{"id": 0, "op": "up", ...}` with the addresses); after that each request on stdin
(`{"id": k, "op": ..., ...}`) gets one reply with the same id (`"ok": true|false`). Anything
else the process prints goes to stderr: stdout is the protocol's alone.

Ops: `world` (channels, users), `register` (INTERACTION_CREATE payloads, before the burst),
`sent` (the bench's send time of each interaction: the start of the fake's 3 s clock, as
`DiscordHarness.dispatch` would have registered it), `command_ids`, `begin` (start the CPU
and event-loop-lag window), `wait` (until N successful callbacks and N followups), `report`
(written to a JSON file: records, refusals, unknown routes, CPU, lag), `stop`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import types
from typing import Any

from bench._common import LoopLag, cpu_seconds, quiet_logs

# Bit 17 of a snowflake is in its "process id" field: ids this process makes (messages,
# command ids) never equal ids the bench process makes (users, channels, interactions), as
# they could not in-process, where one SnowflakeFactory made them all.
_PROCESS_BIT = 1 << 17


def _own_snowflakes() -> None:
    from tests.harness import payloads

    factory = payloads.ids

    def next_id(self: Any) -> int:
        now = ((int(time.time() * 1000) - payloads.DISCORD_EPOCH_MS) << 22) | _PROCESS_BIT
        self._last = max(now, self._last + 1)
        return self._last

    # The fake imported this very object (`from .payloads import ids`): patch the instance.
    factory.next = types.MethodType(next_id, factory)  # type: ignore[method-assign]


class StandIns:
    def __init__(self, spec: dict[str, Any], out: Any) -> None:
        self.spec = spec
        self.out = out
        self.fake: Any = None
        self.sim: Any = None
        self.api_url: str | None = None
        self.stop = asyncio.Event()
        self.lag = LoopLag()
        self.cpu_begin: float | None = None
        self.cpu_window: float | None = None
        self.wall_window: float | None = None
        self.begun_at: float | None = None
        self._scanned = 0
        self._callbacks = 0
        self._followups = 0
        self.callbacks_done_at: float | None = None
        self.followups_done_at: float | None = None

    def write(self, message: dict[str, Any]) -> None:
        self.out.write(json.dumps(message) + "\n")
        self.out.flush()

    async def serve(self) -> None:
        async with contextlib.AsyncExitStack() as stack:
            serve = set(self.spec["serve"])
            if "simulator" in serve:
                from bot.simulator import SimulatorConfig, run_simulator

                sim_fields = dict(self.spec["sim"])
                if sim_fields.get("api_keys") is not None:
                    sim_fields["api_keys"] = set(sim_fields["api_keys"])
                self.sim, self.api_url = await stack.enter_async_context(run_simulator(SimulatorConfig(**sim_fields)))
            if "discord" in serve:
                _own_snowflakes()
                from tests.harness import FakeDiscord

                self.fake = FakeDiscord(bot_user=self.spec["bot_user"], application_id=int(self.spec["application_id"]))
                await self.fake.start()
                stack.push_async_callback(self.fake.stop)
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=1 << 30, loop=loop)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader, loop=loop), sys.stdin)
            self.write({"id": 0, "op": "up", "pid": os.getpid(), "api_url": self.api_url,
                        "discord_base": self.fake.base_url if self.fake else None})
            reading = asyncio.create_task(self._read(reader))
            await self.stop.wait()
            reading.cancel()
            await self.lag.stop()

    async def _read(self, reader: asyncio.StreamReader) -> None:
        while True:
            line = await reader.readline()
            if not line:  # the bench went away
                self.stop.set()
                return
            request = json.loads(line)
            # Each op runs as its own task, so a long `wait` does not hold up `sent`.
            asyncio.create_task(self._answer(request))

    async def _answer(self, request: dict[str, Any]) -> None:
        try:
            result = await getattr(self, "op_" + request["op"])(request)
            self.write({"id": request["id"], "ok": True, **(result or {})})
        except Exception as error:  # reported to the bench, which raises it there
            self.write({"id": request["id"], "ok": False, "error": f"{type(error).__name__}: {error}"})

    # ------------------------------------------------------------------ ops

    async def op_world(self, request: dict[str, Any]) -> None:
        for channel in request.get("channels", []):
            self.fake.add_channel(channel)
        for user in request.get("users", []):
            self.fake.users[int(user["id"])] = dict(user)

    async def op_register(self, request: dict[str, Any]) -> dict[str, Any]:
        for payload in request["interactions"]:
            self.fake.register_interaction(payload)
        return {"registered": len(request["interactions"])}

    async def op_sent(self, request: dict[str, Any]) -> None:
        # Until this arrives the clock runs from registration (a little before the burst),
        # so the fake is, if anything, stricter than Discord for those few milliseconds.
        interactions = self.fake._interactions
        for token, at in request["at"].items():
            info = interactions.get(token)
            if info is not None:
                info.created_at = float(at)

    async def op_command_ids(self, request: dict[str, Any]) -> dict[str, Any]:
        name, kind = request["name"], int(request.get("type", 1))
        guild = request.get("guild_id")
        return {"guild": self.fake.command_id(name, guild_id=int(guild), command_type=kind) if guild else None,
                "global": self.fake.command_id(name, guild_id=None, command_type=kind)}

    async def op_begin(self, request: dict[str, Any]) -> dict[str, Any]:
        if self.fake is not None:
            self._scanned = len(self.fake.requests)  # set-up traffic (login, command sync) is not counted
            self._callbacks = self._followups = 0
        self.lag.start()
        self.cpu_begin = cpu_seconds()
        self.begun_at = time.monotonic()
        return {"at": self.begun_at}

    def _scan(self) -> None:
        requests = self.fake.requests
        for index in range(self._scanned, len(requests)):
            record = requests[index]
            if record.ok and record.route == "callback":
                self._callbacks += 1
            elif record.ok and record.route == "followup":
                self._followups += 1
        self._scanned = len(requests)

    async def op_wait(self, request: dict[str, Any]) -> dict[str, Any]:
        """Until `callbacks` successful callbacks and `followups` successful followups arrived."""
        want_callbacks, want_followups = int(request["callbacks"]), int(request["followups"])
        deadline = time.monotonic() + float(request["timeout"])
        while True:
            self._scan()
            if self.fake.refusals or self.fake.unhandled:
                # What DiscordHarness would fail the test on: say so now rather than time out.
                from tests.harness.bot_harness import describe_refusal

                found = [describe_refusal(r) for r in self.fake.refusals[:5]]
                found += [f"[fake] unknown route {r.method} {r.path}" for r in self.fake.unhandled[:5]]
                self.end_window()
                raise RuntimeError(f"{len(self.fake.refusals)} refusals, {len(self.fake.unhandled)} unknown routes: "
                                   + "; ".join(found))
            now = time.monotonic()
            if self.callbacks_done_at is None and self._callbacks >= want_callbacks:
                self.callbacks_done_at = now
            if self._callbacks >= want_callbacks and self._followups >= want_followups:
                self.followups_done_at = now
                self.end_window()
                return {"callbacks": self._callbacks, "followups": self._followups}
            if now > deadline:
                self.end_window()
                raise TimeoutError(f"{self._callbacks} callbacks and {self._followups} followups after "
                                   f"{request['timeout']} s (wanted {want_callbacks} and {want_followups})")
            # Polling (not FakeDiscord.wait_state) scans only the new records: no quadratic work.
            await asyncio.sleep(0.01)

    def end_window(self) -> None:
        if self.cpu_begin is not None and self.cpu_window is None:
            self.cpu_window = cpu_seconds() - self.cpu_begin
            self.wall_window = time.monotonic() - (self.begun_at or 0.0)

    async def op_end(self, request: dict[str, Any]) -> None:
        """Close the CPU window without waiting for anything (the simulator's child)."""
        self.end_window()

    async def op_report(self, request: dict[str, Any]) -> dict[str, Any]:
        self.end_window()
        await self.lag.stop()
        report: dict[str, Any] = {
            "pid": os.getpid(),
            "serve": self.spec["serve"],
            "cpu_window": self.cpu_window,
            "wall_window": self.wall_window,
            "cpu_total": cpu_seconds(),
            "lag": self.lag.summary(),
            "lags_ms": sorted(x * 1000 for x in self.lag.lags)[-5:],
        }
        if self.fake is not None:
            from tests.harness.bot_harness import describe_refusal

            fake = self.fake
            routes: dict[str, int] = {}
            for record in fake.requests:
                routes[record.route] = routes.get(record.route, 0) + 1
            report.update(
                callbacks=[{"interaction_id": r.params["interaction_id"], "token": r.params["token"], "at": r.at,
                            "route": r.route, "status": r.status} for r in fake.callbacks()],
                followups=[{"token": r.params["token"], "at": r.at, "route": r.route, "status": r.status,
                            "content": (r.json or {}).get("content") if isinstance(r.json, dict) else None}
                           for r in fake.followups()],
                routes=routes,
                refusals=[describe_refusal(r) for r in fake.refusals],
                unhandled=[f"[fake] unknown route {r.method} {r.path} (answered 404)" for r in fake.unhandled],
                callbacks_done_at=self.callbacks_done_at,
                followups_done_at=self.followups_done_at,
            )
        with open(request["path"], "w", encoding="utf-8") as handle:
            json.dump(report, handle)
        return {"path": request["path"]}

    async def op_stop(self, request: dict[str, Any]) -> None:
        asyncio.get_running_loop().call_soon(self.stop.set)


def main() -> None:
    spec = json.loads(sys.argv[1])
    # stdout carries the protocol only: keep a private copy of it and send fd 1 to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    quiet_logs()
    asyncio.run(StandIns(spec, out).serve())


if __name__ == "__main__":
    main()
