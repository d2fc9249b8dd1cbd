"""Slash command sync: on purpose, per setting, and never again while the commands are unchanged."""

from __future__ import annotations

from bot.settings import Settings
from tests.world import world

GUILD_PUT = r"/applications/\d+/guilds/\d+/commands"
GLOBAL_PUT = r"/applications/\d+/commands"


async def test_guild_sync_happens_once_and_not_on_every_start(tmp_path):
    async with world(tmp_path, command_sync="guild", dev_guild_id=4242) as w:
        puts = w.fake.requests_to("PUT", GUILD_PUT)
        assert len(puts) == 1 and "/guilds/4242/" in puts[0].path
        names = sorted(c["name"] for c in puts[0].json)
        assert names == ["Extend this clip", "dream", "dreamadmin", "extend", "status"]
        assert not w.fake.requests_to("PUT", GLOBAL_PUT)
        await w.restart()
        assert len(w.fake.requests_to("PUT", GUILD_PUT)) == 1  # unchanged: no second sync


async def test_global_sync_by_default_once_and_off_when_asked(tmp_path):
    assert Settings(_env_file=None, discord_token="t", aimlapi_base_url="simulator").command_sync == "global"  # type: ignore[call-arg]
    async with world(tmp_path) as w:
        puts = w.fake.requests_to("PUT", GLOBAL_PUT)
        assert len(puts) == 1 and not w.fake.requests_to("PUT", GUILD_PUT)
        admin = next(c for c in puts[0].json if c["name"] == "dreamadmin")
        # Visible to members: the bot checks who may run what (README, "Moderators").
        assert admin.get("default_member_permissions") is None
        assert admin.get("contexts") == [0] or admin.get("dm_permission") is False  # guild only
        await w.restart()
        assert len(w.fake.requests_to("PUT", GLOBAL_PUT)) == 1  # unchanged: no second sync
    async with world(tmp_path / "off", command_sync="off") as w:
        assert not w.fake.requests_to("PUT", GLOBAL_PUT) and not w.fake.requests_to("PUT", GUILD_PUT)


async def test_a_failed_sync_does_not_stop_the_bot_and_is_tried_again(tmp_path, caplog):
    async with world(tmp_path, command_sync="off") as w:
        w.fake.inject_fault("PUT", GLOBAL_PUT, status=403, body={"code": 50001, "message": "Missing Access"})
        w.bot.settings.command_sync = "global"
        with caplog.at_level("WARNING", logger="bot.client"):
            await w.restart()
        assert any("could not sync application commands (global): 403" in r.getMessage() for r in caplog.records)
        assert w.fake.command_id("dream") is None
        await w.restart()
        assert w.fake.command_id("dream") is not None
