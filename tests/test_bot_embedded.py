"""The newcomer's path: no API key, `AIMLAPI_BASE_URL=simulator`, and a clip still gets posted."""

from __future__ import annotations

from bot.client import DreamBot
from tests.harness import DiscordHarness
from tests.world import DISCORD_TOKEN, make_settings


async def test_embedded_simulator_makes_a_clip_without_a_key(tmp_path):
    settings = make_settings(tmp_path / "db.sqlite3", aimlapi_key=None, aimlapi_base_url="simulator",
                             simulator_time_scale=0.005)
    assert settings.uses_simulator and settings.aimlapi_key is None
    bot = DreamBot(settings, guild_ready_timeout=0.05)
    async with DiscordHarness(bot, token=DISCORD_TOKEN, error_loggers=("discord", "bot", "cogs", "storage")) as h:
        assert bot.api.base_url.startswith("http://127.0.0.1:")
        await h.slash("dream", {"prompt": "a lighthouse in a storm"})
        posted = await h.fake.wait_message(h.channel_id, lambda m: "✅ Clip #1 for" in (m.get("content") or ""))
        assert "cdn.aimlapi.com" in posted["content"]
