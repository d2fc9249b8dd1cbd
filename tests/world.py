"""The whole offline world of a bot test: the video API simulator, the real DreamBot on a
temporary SQLite file, and the fake Discord it logs into. Shared by the bot tests and benches."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator

from bot.client import DreamBot
from bot.settings import Settings
from bot.simulator import Simulator, SimulatorConfig, run_simulator
from storage import Store
from tests.harness import DiscordHarness

API_KEY = "sk-test-0123456789abcdef"
DISCORD_TOKEN = "discord-token-test-0123456789"
# The simulator runs 200x faster than life: a 23 s clip takes ~0.12 s.
TIME_SCALE = 0.005


def make_settings(database: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        discord_token=DISCORD_TOKEN,
        aimlapi_key=API_KEY,
        aimlapi_base_url="http://127.0.0.1:1",  # replaced by the simulator's address
        database_path=database,
        poll_interval_seconds=0.05,
    )
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@dataclass
class World:
    sim: Simulator
    api_url: str
    h: DiscordHarness
    database: Path
    settings: Settings
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def bot(self) -> DreamBot:
        return self.h.bot  # type: ignore[return-value]

    @property
    def store(self) -> Store:
        return self.bot.store

    @property
    def fake(self):
        return self.h.fake

    def new_bot(self) -> DreamBot:
        return DreamBot(self.settings, api_base_url=self.api_url, guild_ready_timeout=0.05)

    async def restart(self) -> DreamBot:
        """Close the bot and start a fresh process-like one on the same database and fake Discord."""
        return await self.h.restart(self.new_bot())  # type: ignore[return-value]


@contextlib.asynccontextmanager
async def world(tmp_path: Path, *, sim_config: SimulatorConfig | None = None, members=(),
                guild_ids=None, channels=None, **settings: Any) -> AsyncIterator[World]:
    """`guild_ids`/`channels` go to DiscordHarness (several guilds, chosen channels); the rest are Settings."""
    config = sim_config or SimulatorConfig(time_scale=TIME_SCALE, api_keys={API_KEY}, seed=1)
    async with run_simulator(config) as (sim, url):
        database = tmp_path / "dreambot.sqlite3"
        bot_settings = make_settings(database, aimlapi_base_url=url, **settings)
        bot = DreamBot(bot_settings, api_base_url=url, guild_ready_timeout=0.05)
        async with DiscordHarness(bot, token=DISCORD_TOKEN, members=members, guild_ids=guild_ids, channels=channels,
                                  error_loggers=("discord", "bot", "cogs", "storage")) as h:
            yield World(sim, url, h, database, bot_settings)
