"""Every way start-up can fail ends in one line and a non-zero exit, never a traceback.

Each test runs the real `python -m bot` in a process of its own, with a fake Discord (REST
and gateway) in this process, and reads what a person starting the bot would read on stderr.
LOG_LEVEL=ERROR keeps the bot's own INFO lines out, so any ERROR log (with its traceback)
would show up beside the failure line and fail the test.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness import payloads
from tests.harness.fake_discord import FakeDiscord
from tests.harness.fake_gateway import INTENT_MESSAGE_CONTENT, FakeGateway

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "startup-token-0123456789abcdef"
RUN_TIMEOUT = 60.0


@dataclass
class Outcome:
    code: int
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def one_line(self) -> str:
        assert "Traceback" not in self.stderr, self.stderr
        assert len(self.lines) == 1, self.stderr
        return self.lines[0]


def bot_env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment of a newcomer's shell: no settings but these (no .env in the cwd either)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("DISCORD_", "AIMLAPI_", "HEARTBEAT", "DATABASE_", "COMMAND_", "MESSAGE_", "LOG_"))}
    env.update(DISCORD_TOKEN=TOKEN, AIMLAPI_BASE_URL="simulator", LOG_LEVEL="ERROR",
               DATABASE_PATH=str(tmp_path / "data" / "dreambot.sqlite3"),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    env.update(settings)
    return env


async def start_bot(tmp_path: Path, env: dict[str, str], *module: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", *(module or ("bot",)), cwd=tmp_path, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)


async def run_bot(tmp_path: Path, *module: str, **settings: str) -> Outcome:
    process = await start_bot(tmp_path, bot_env(tmp_path, **settings), *module)
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        raise AssertionError("the bot did not stop by itself") from None
    return Outcome(process.returncode or 0, stderr.decode())


class Discord:
    """The fake Discord a started bot talks to: REST (with its token check) and the gateway."""

    def __init__(self, rest: FakeDiscord, gateway: FakeGateway, guild_id: int) -> None:
        self.rest, self.gateway, self.guild_id = rest, gateway, guild_id

    def settings(self) -> dict[str, str]:
        return {"DISCORD_API_URL": self.rest.base_url, "DISCORD_GATEWAY_URL": self.gateway.url}


@pytest.fixture
async def discord_side():
    async with FakeDiscord() as rest:
        rest.token = TOKEN
        guild_id = payloads.ids.next()
        channel = rest.add_channel(payloads.text_channel(guild_id=guild_id))
        guild = payloads.guild_create(guild_id, channels=[channel], members=[payloads.member(rest.bot_user)])
        ready = payloads.ready(rest.bot_user, rest.application_id, [guild_id])
        async with FakeGateway(token=TOKEN, ready=ready, guilds=[guild]) as gateway:
            yield Discord(rest, gateway, guild_id)


async def wait_for_file(path: Path) -> None:
    """A file the bot writes tells no one; look for it (the fake's waits wake on requests only)."""
    async with asyncio.timeout(RUN_TIMEOUT):
        while not path.exists():
            await asyncio.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# ---------------------------------------------------------------------------- the database


async def test_database_path_is_a_folder(tmp_path, discord_side):
    folder = tmp_path / "db"
    folder.mkdir()
    outcome = await run_bot(tmp_path, DATABASE_PATH=str(folder), **discord_side.settings())
    assert outcome.code == 5
    assert outcome.one_line() == (f"dreambot: cannot start: DATABASE_PATH {folder} is a folder; "
                                  f"name a file in it, e.g. {folder / 'dreambot.sqlite3'}")
    assert not discord_side.rest.requests, "a local problem must fail before Discord is asked anything"


async def test_database_folder_cannot_be_made(tmp_path, discord_side):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be\n")
    outcome = await run_bot(tmp_path, DATABASE_PATH=str(blocker / "dreambot.sqlite3"), **discord_side.settings())
    assert outcome.code == 5
    assert outcome.one_line() == f"dreambot: cannot start: cannot create the folder of DATABASE_PATH {blocker / 'dreambot.sqlite3'}: {blocker} is a file"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads and writes any file whatever its mode")
async def test_database_file_unreadable(tmp_path, discord_side):
    database = tmp_path / "locked-down.sqlite3"
    sqlite3.connect(database).close()
    database.chmod(0)
    outcome = await run_bot(tmp_path, DATABASE_PATH=str(database), **discord_side.settings())
    assert outcome.code == 5
    assert "cannot be read and written by this user" in outcome.one_line()


async def test_database_file_cannot_be_opened(tmp_path, discord_side):
    # A link into a folder that is gone: unopenable for every user, root included.
    database = tmp_path / "dreambot.sqlite3"
    database.symlink_to(tmp_path / "unmounted-disk" / "dreambot.sqlite3")
    outcome = await run_bot(tmp_path, DATABASE_PATH=str(database), **discord_side.settings())
    assert outcome.code == 5
    assert outcome.one_line() == f"dreambot: cannot start: cannot open DATABASE_PATH {database}: unable to open database file"


async def test_database_file_is_not_sqlite(tmp_path, discord_side):
    database = tmp_path / "notes.txt"
    database.write_text("my shopping list, not a database\n" * 100)
    outcome = await run_bot(tmp_path, DATABASE_PATH=str(database), **discord_side.settings())
    assert outcome.code == 5
    assert outcome.one_line() == f"dreambot: cannot start: DATABASE_PATH {database} is not a SQLite database (is it the right file?)"
    assert database.read_text().startswith("my shopping list"), "the file must be left as it was"


async def test_database_locked_by_another_process(tmp_path, discord_side):
    database = tmp_path / "busy.sqlite3"
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock for as long as it likes
    try:
        outcome = await run_bot(tmp_path, DATABASE_PATH=str(database), **discord_side.settings())
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert outcome.code == 5
    assert outcome.one_line() == (f"dreambot: cannot start: DATABASE_PATH {database} is locked by another process "
                                  "(waited 5 s; is another dreambot or a database tool using it?)")


# ---------------------------------------------------------------------------- Discord


async def test_token_refused(tmp_path, discord_side):
    outcome = await run_bot(tmp_path, DISCORD_TOKEN="a-token-that-was-reset-0123456789", **discord_side.settings())
    assert outcome.code == 3
    assert outcome.one_line() == ("dreambot: Discord refused DISCORD_TOKEN; copy the bot token again from the "
                                  "developer portal (Bot -> Reset Token).")
    assert "a-token-that-was-reset" not in outcome.stderr


async def test_discord_unreachable(tmp_path):
    port = free_port()
    outcome = await run_bot(tmp_path, DISCORD_API_URL=f"http://127.0.0.1:{port}/api/v10",
                            DISCORD_GATEWAY_URL=f"ws://127.0.0.1:{port}/")
    assert outcome.code == 1
    line = outcome.one_line()
    assert line.startswith(f"dreambot: cannot run: cannot reach Discord at 127.0.0.1:{port}"), line


async def test_message_content_intent_refused(tmp_path, discord_side):
    discord_side.gateway.allowed_intents = 0  # the portal's switch is off
    outcome = await run_bot(tmp_path, **discord_side.settings())
    assert outcome.code == 4
    line = outcome.one_line()
    assert "Message Content" in line and "Privileged Gateway Intents" in line
    assert "MESSAGE_CONTENT_INTENT=false" in line
    session = await discord_side.gateway.wait_identified()
    assert session.close_code == 4014 and session.identify["intents"] & INTENT_MESSAGE_CONTENT


async def test_without_the_intent_the_bot_runs(tmp_path, discord_side):
    discord_side.gateway.allowed_intents = 0
    heartbeat = tmp_path / "heartbeat"
    env = bot_env(tmp_path, MESSAGE_CONTENT_INTENT="false", HEARTBEAT_PATH=str(heartbeat), **discord_side.settings())
    process = await start_bot(tmp_path, env)
    try:
        session = await discord_side.gateway.wait_identified(timeout=RUN_TIMEOUT)
        assert session.close_code is None and not session.identify["intents"] & INTENT_MESSAGE_CONTENT
        # The poller starts once the bot is ready and touches its heartbeat on every cycle.
        await wait_for_file(heartbeat)
        assert discord_side.rest.command_id("dream") is not None, "commands are synced on the first start"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT)
    assert process.returncode == 0, stderr.decode()
    assert not stderr.decode().strip(), stderr.decode()


# ---------------------------------------------------------------------------- settings


async def test_bad_heartbeat_max_age_stops_the_bot(tmp_path, discord_side):
    outcome = await run_bot(tmp_path, HEARTBEAT_MAX_AGE="abc", **discord_side.settings())
    assert outcome.code == 2
    assert outcome.one_line() == ("dreambot: cannot start: HEARTBEAT_MAX_AGE is invalid (Input should be a valid "
                                  "number, unable to parse string as a number). See .env.example.")


@pytest.mark.parametrize("value", ["abc", "-5", "inf"])
async def test_bad_heartbeat_max_age_is_unhealthy_in_one_line(tmp_path, value):
    beat = tmp_path / "heartbeat"
    beat.write_text("1\n")
    outcome = await run_bot(tmp_path, "bot.healthcheck", HEARTBEAT_PATH=str(beat), HEARTBEAT_MAX_AGE=value)
    assert outcome.code == 1
    assert outcome.one_line().startswith("unhealthy: HEARTBEAT_MAX_AGE is invalid")
