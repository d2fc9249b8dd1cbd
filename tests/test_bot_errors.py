"""One error path: a failing command is answered once, ephemerally, and logged once; talk is not an error."""

from __future__ import annotations

import logging

from bot.tree import SOMETHING_WENT_WRONG
from cogs.admin import AdminCog
from tests.admin_helpers import MOD
from tests.bot_flows import EPHEMERAL
from tests.world import world


def error_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_an_unexpected_failure_is_answered_once_and_logged_once(tmp_path, caplog, monkeypatch):
    async with world(tmp_path) as w:
        async def broken(*args, **kwargs):
            raise RuntimeError("the disk went away")

        monkeypatch.setattr(w.store, "recent", broken)
        w.h.expect_errors = True  # provoked on purpose; checked below
        caplog.clear()
        iid = await w.h.slash("status")
        callback = await w.fake.wait_callback(iid)
        assert callback.json["data"]["content"] == SOMETHING_WENT_WRONG
        assert callback.json["data"]["flags"] & EPHEMERAL
        assert [e for e in w.h.take_errors() if "the disk went away" in repr(e.error)]
        errors = error_records(caplog)
        assert len(errors) == 1 and errors[0].exc_info is not None, [r.getMessage() for r in errors]
        assert "the disk went away" in str(errors[0].exc_info[1])
        assert len(w.fake.callbacks(iid)) == 1 and not w.fake.followups(iid)


async def test_an_admin_command_failure_is_answered_too(tmp_path, caplog, monkeypatch):
    async with world(tmp_path) as w:
        async def broken(*args, **kwargs):
            raise RuntimeError("ledger unreadable")

        monkeypatch.setattr(w.store, "top_spenders", broken)
        w.h.expect_errors = True
        iid = await w.h.slash("dreamadmin", {}, subcommand="report", member_permissions=MOD)
        callback = await w.fake.wait_callback(iid)  # deferred: the report takes a while
        await w.fake.wait_followup(iid)
        answers = [r.json for r in w.fake.callbacks(iid)] + [r.json for r in w.fake.followups(iid)]
        assert [e for e in w.h.take_errors() if "ledger unreadable" in repr(e.error)]
        texts = [a.get("content") or (a.get("data") or {}).get("content") for a in answers]
        # One answer (after the deferral), in the admin cog's words: a change may have been saved.
        assert texts == [None, AdminCog.unexpected_error_text], answers
        assert callback.status < 300 and len(error_records(caplog)) == 1


async def test_talking_to_the_bot_is_not_an_error(tmp_path, caplog):
    async with world(tmp_path) as w:
        caplog.clear()
        bot_id = w.fake.bot_user["id"]
        await w.h.send_message(f"<@{bot_id}> hello, what can you do?")
        await w.h.send_message(f"<@{bot_id}>")
    # Leaving the world waits for the bot's handlers to finish.
    assert not error_records(caplog), [r.getMessage() for r in error_records(caplog)]
