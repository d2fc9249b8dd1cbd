"""Fault campaign, part 2: the bot process is SIGKILLed at random moments while 50 clips are in
flight (mid-poll, mid-charge, mid-post), and started again, several times.

The bot runs in a child process (tests/proc_bot.py) against a FakeDiscord and a simulator that
live in this test process, so they outlive every kill and see exactly what each process did.
Afterwards: one result post per clip, none lost, one charge or one refund per clip.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import time
from pathlib import Path

from bot.api import VideoAPI
from bot.simulator import SimulatorConfig, run_simulator
from storage import Store
from tests.fault_tools import ledger_by_generation, result_posts
from tests.harness import FakeDiscord, payloads

ROOT = Path(__file__).resolve().parents[1]
COST = 4_500_000  # a plain ray-2 clip (1080p, 5 s at $0.45 a second): what the simulator bills
JOBS = 50
KILLS = 4
# Distinctive, so the secrets check can grep for them (see also test_faults_secrets.py).
TOKEN = "KILLTEST-discord-token-7Qx2Lw9Vb4Nz"
KEY = "sk-KILLTEST-aimlapi-key-3Hd8Rt6Yp1Mc"
POST_LATENCY = 0.03  # Discord takes a moment to answer a post: the "made but not yet recorded" window


class Child:
    """One bot process; its output goes to files for the secrets check."""

    def __init__(self, tmp: Path, number: int, env: dict[str, str]) -> None:
        self.stdout_path = tmp / f"child{number}.stdout"
        self.stderr_path = tmp / f"child{number}.stderr"
        self.env = env
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.proc_bot", cwd=ROOT, env=self.env, stdout=out, stderr=err)

    async def ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while b"READY" not in self.stdout_path.read_bytes():
            assert self.process is not None
            if self.process.returncode is not None or time.monotonic() > deadline:
                raise AssertionError(f"child did not get ready:\n{self.stderr_path.read_text()[-3000:]}")
            await asyncio.sleep(0.02)

    async def kill(self) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")


def world_files(tmp: Path, fake: FakeDiscord, guild_id: int, channels: list[dict], users: list[dict]) -> Path:
    bot_role = payloads.role(payloads.ids.next(), fake.bot_user["username"],
                             permissions=payloads.DEFAULT_BOT_PERMISSIONS, position=1, managed=True)
    members = [payloads.member(fake.bot_user, [int(bot_role["id"])]), *[payloads.member(u) for u in users]]
    world = {
        "discord_base": fake.base_url,
        "ready": payloads.ready(fake.bot_user, fake.application_id, [guild_id]),
        "guilds": [payloads.guild_create(guild_id, channels=channels, members=members, roles=[bot_role])],
        "fast": True,
    }
    path = tmp / "child-world.json"
    path.write_text(json.dumps(world))
    return path


def slow_posts(fake: FakeDiscord) -> dict:
    """Posts are made, then answered after POST_LATENCY; the first result post can be held."""
    hold = {"armed": True, "held": asyncio.Event(), "release": asyncio.Event()}
    for index, (methods, pattern, name, handler) in enumerate(fake._routes):
        if name == "create_message":
            async def slow(incoming, handler=handler):
                answer = await handler(incoming)  # the message exists from here on
                embeds = (incoming.json or {}).get("embeds") or [{}]
                is_result = "· status" not in str(embeds[0].get("footer"))
                if is_result and hold["armed"]:
                    hold["armed"] = False
                    hold["held"].set()
                    await hold["release"].wait()  # the bot is killed while it waits for this answer
                await asyncio.sleep(POST_LATENCY)
                return answer

            fake._routes[index] = (methods, pattern, name, slow)
    return hold


async def test_sigkill_at_random_moments_posts_each_clip_once(tmp_path):
    started = time.monotonic()
    rng = random.Random(int(os.environ.get("FAULT_SEED", "20")))
    config = SimulatorConfig(api_keys={KEY}, time_scale=0.1, run_jitter=0.9, seed=20)  # clips take 0.5-4 s
    database = tmp_path / "dreambot.sqlite3"
    async with run_simulator(config) as (sim, sim_url), FakeDiscord(
            bot_user=payloads.user(username="dreambot-kill", bot=True)) as fake:
        guild_id = payloads.ids.next()
        channels = [fake.add_channel(payloads.text_channel(payloads.ids.next(), f"c{i}", guild_id=guild_id,
                                                          position=i)) for i in range(2)]
        channel_ids = [int(c["id"]) for c in channels]
        users = [payloads.user(username=f"member{i}") for i in range(5)]

        # 50 clips in flight, as an earlier process left them: reserved, sent, status posted (mostly);
        # one in ten was killed between the create and recording its id (the API made it, with our id).
        store = await Store.open(database)
        await store.set_guild_running_limits(guild_id, JOBS, None, actor_id=1)
        async with VideoAPI(KEY, base_url=sim_url) as api:
            for i in range(JOBS):
                user_id, channel_id = int(users[i % 5]["id"]), channel_ids[i % 2]
                prompt = f"clip {i}: a heron in fog" + (" FAIL" if i % 10 == 7 else "")
                unrecorded = i % 10 == 3
                generation = await store.reserve(guild_id=guild_id, channel_id=channel_id, user_id=user_id,
                                                 kind="dream", prompt=prompt, cost=COST, model="ray-2",
                                                 dialect="unified", now=time.time() - 300 if unrecorded else None)
                job = await api.create(prompt, client_request_id=generation.client_request_id)
                if not unrecorded:
                    await store.mark_submitted(generation.id, job.id)
                if i % 5 != 4:  # a fifth lost their status message (Discord refused it)
                    status = fake._new_message(channel_id, {
                        "content": f"🎬 <@{user_id}> asked for clip #{generation.id}: ⏳ queued",
                        "embeds": [{"description": prompt, "footer": {"text": f"dreambot clip #{generation.id} · status"}}],
                    }, [])
                    await store.set_status_message(generation.id, channel_id, int(status["id"]))
        sim.set_faults(error_rate=0.1, rate_limit_rate=0.03, retry_after_seconds=0.5)
        hold = slow_posts(fake)

        env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "AIMLAPI_"))}
        env.update(DISCORD_TOKEN=TOKEN, AIMLAPI_KEY=KEY, AIMLAPI_BASE_URL=sim_url, DATABASE_PATH=str(database),
                   POLL_INTERVAL_SECONDS="0.1", API_TIMEOUT_SECONDS="2", LOG_LEVEL="DEBUG", PYTHONUNBUFFERED="1",
                   DREAMBOT_CHILD_WORLD=str(world_files(tmp_path, fake, guild_id, channels, users)))
        children: list[Child] = []
        try:
            await kill_and_restart(tmp_path, env, fake, store, sim, channel_ids, hold, children, rng, started)
        finally:
            hold["release"].set()
            for child in children:  # a failed assertion must not leave a bot running
                if child.process is not None and child.process.returncode is None:
                    await child.kill()
            await store.close()


async def kill_and_restart(tmp_path, env, fake, store, sim, channel_ids, hold, children, rng, started) -> None:
    kill_points: list[str] = []
    orphans: set[int] = set()  # posts Discord made that no process had recorded when it died
    for number in range(KILLS):
        child = Child(tmp_path, number, env)
        children.append(child)
        await child.start()
        await child.ready()
        if number == 0:
            # Deterministically mid-post: Discord has made the first result post, the bot has not heard.
            await asyncio.wait_for(hold["held"].wait(), 10)
        else:
            await asyncio.sleep(rng.uniform(0.05, 0.9))
        await child.kill()
        hold["release"].set()
        recorded = {g.id for g in await unposted_or_posted(store) if g.posted_at}
        made = set(result_posts(fake, channel_ids))
        orphans |= made - recorded
        kill_points.append(f"kill {number + 1}: {len(recorded)} posted, {len(made - recorded)} made-not-recorded")
        if number == 0:
            assert made - recorded, "the first kill should leave a post made but not recorded"

    final = Child(tmp_path, KILLS, env)
    children.append(final)
    await final.start()
    await final.ready()
    deadline = time.monotonic() + 30
    while True:
        totals = await store.ledger_totals()
        if totals.open_generations == 0 and not await store.jobs_to_post():
            break
        assert time.monotonic() < deadline, f"not settled: {totals}\n{final.stderr_path.read_text()[-3000:]}"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.3)  # a duplicate, if any, would be on its way now
    await final.kill()

    generations = await unposted_or_posted(store)
    posts = result_posts(fake, channel_ids)
    money = await ledger_by_generation(store, [g.id for g in generations])
    assert len(generations) == JOBS
    for generation in generations:
        assert posts[generation.id] == 1, (generation.id, posts[generation.id])
        assert generation.posted_at is not None and generation.result_message_id is not None
        assert fake.message(generation.result_message_id) is not None
        expected = "charge" if generation.status == "completed" else "refund"
        assert generation.status == ("failed" if "FAIL" in generation.prompt else "completed"), generation
        assert money[generation.id] == {"reserve": [COST], expected: [COST]}, (generation.id, money[generation.id])
    totals = await store.ledger_totals()
    assert totals.balanced and totals.open_generations == 0 and totals.open_reserved == 0
    assert len(sim.jobs()) == JOBS  # nothing was sent to the API twice
    # Every clip the API made is the one its generation follows: found again, never refunded blind.
    by_request = {g.client_request_id: g for g in generations}
    assert all(by_request[job.client_request_id].api_id == job.id for job in sim.jobs())
    dm_posts = [m for c in fake.messages if c not in channel_ids for m in fake.channel_messages(c)]
    assert not dm_posts
    # The secrets never left the places they belong (Authorization headers).
    for child in children:
        text = child.output()
        assert TOKEN not in text and KEY not in text, child.stderr_path
    for request in fake.requests:
        headers = {k: v for k, v in request.headers.items() if k.lower() != "authorization"}
        assert TOKEN not in json.dumps([request.json, request.path, request.query, headers])
        assert KEY not in json.dumps([request.json, request.path, request.query, request.headers])
    deduplicated = sum(1 for r in fake.requests if r.deduplicated)
    print(f"\n[faults-kill] {JOBS} jobs, {KILLS} SIGKILLs ({'; '.join(kill_points)}); "
          f"{sum(posts.values())} result posts, {sum(1 for g in generations if g.status == 'failed')} refunds, "
          f"{len(orphans)} posts made but unrecorded at a kill, {deduplicated} re-sends answered from the nonce; "
          f"sim faults {dict(sim.counters.faults)}; {time.monotonic() - started:.1f}s")


async def unposted_or_posted(store: Store) -> list:
    found = []
    for generation_id in range(1, JOBS + 1):
        generation = await store.get(generation_id)
        if generation is not None:
            found.append(generation)
    return found
