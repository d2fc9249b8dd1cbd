"""The real DreamBot in a process of its own, logged in to a FakeDiscord that runs elsewhere
(in the test process), so a test can SIGKILL it at any moment and start it again.

    python -m tests.proc_bot            (cwd: the repository root)

Settings come from the environment exactly as for `python -m bot` (DISCORD_TOKEN, AIMLAPI_KEY,
AIMLAPI_BASE_URL, DATABASE_PATH, LOG_LEVEL, ...), logging is the bot's own (stderr, scrubbed).
The child-only part is in DREAMBOT_CHILD_WORLD, a JSON file:

    {"discord_base": "<FakeDiscord.base_url>",
     "ready": <READY payload>, "guilds": [<GUILD_CREATE payload>, ...],
     "fast": true}            # short back-offs, as the in-process campaign uses

There is no gateway offline, so the child hands READY and GUILD_CREATE to discord.py's
connection state itself (as DiscordHarness does), prints "READY" on stdout once the bot is
ready, then runs until it is killed. SIGTERM closes it cleanly.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal


def main() -> None:
    with open(os.environ["DREAMBOT_CHILD_WORLD"], encoding="utf-8") as handle:
        world = json.load(handle)

    import discord

    discord.http.Route.BASE = world["discord_base"]

    from bot.launcher import settings_and_logging

    settings = settings_and_logging("proc_bot")
    if world.get("fast"):
        from tests.fault_tools import apply_fast_workers

        apply_fast_workers()
    asyncio.run(run(settings, world))


async def run(settings, world: dict) -> None:
    from bot.client import DreamBot

    bot = DreamBot(settings, guild_ready_timeout=0.05)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    async with bot:
        await bot.login(settings.discord_token.get_secret_value())  # GET /users/@me, setup_hook
        if world.get("fast"):
            from tests.fault_tools import FAST_RETRY

            bot.api.retry = FAST_RETRY
        parsers = bot._connection.parsers
        parsers["READY"](world["ready"])
        for guild in world["guilds"]:
            parsers["GUILD_CREATE"](guild)
        await asyncio.wait_for(bot.wait_until_ready(), 10)
        print("READY", flush=True)
        await stop.wait()


if __name__ == "__main__":
    main()
