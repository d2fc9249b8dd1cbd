"""Slash command sync: on purpose, per setting, and never again while the commands are unchanged."""

from __future__ import annotations

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


async def test_sync_off_by_default_and_global_when_asked(tmp_path):
    async with world(tmp_path) as w:
        assert not w.fake.requests_to("PUT", GLOBAL_PUT) and not w.fake.requests_to("PUT", GUILD_PUT)
    async with world(tmp_path / "global", command_sync="global") as w:
        puts = w.fake.requests_to("PUT", GLOBAL_PUT)
        assert len(puts) == 1
        admin = next(c for c in puts[0].json if c["name"] == "dreamadmin")
        # Visible to members: the bot checks who may run what (README, "Moderators").
        assert admin.get("default_member_permissions") is None
        assert admin.get("contexts") == [0] or admin.get("dm_permission") is False  # guild only
