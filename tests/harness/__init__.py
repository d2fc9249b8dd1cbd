"""Offline Discord test harness.

Runs a real ``commands.Bot`` through discord.py's own code against a local fake of
Discord's REST API (:class:`FakeDiscord`), with raw gateway payloads handed to the
bot's connection state (:mod:`tests.harness.payloads`). Nothing on ``Interaction`` is
mocked. See ``/work/shared/testing-discord-offline.md`` for why each piece exists.
"""

from . import payloads
from .bot_harness import CollectedError, DiscordHarness, HarnessError
from .fake_discord import FakeDiscord, Fault, RecordedFile, RecordedRequest

__all__ = [
    "CollectedError",
    "DiscordHarness",
    "FakeDiscord",
    "Fault",
    "HarnessError",
    "RecordedFile",
    "RecordedRequest",
    "payloads",
]
