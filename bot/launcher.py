"""Start dreambot: read settings, set up logging, run the bot until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

import aiohttp
import discord

from bot.logging_setup import setup_logging
from bot.settings import SIMULATOR_URL, Settings, SettingsError, load_settings

log = logging.getLogger("dreambot")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dreambot", description="Run the dreambot Discord bot.")
    parser.add_argument("--simulate", action="store_true",
                        help="use the bundled video API simulator instead of the AI/ML API (no key, no cost)")
    return parser.parse_args(argv)


async def run(settings: Settings) -> None:
    from bot.client import DreamBot  # imported late so `--help` and setting errors stay fast

    async with DreamBot(settings) as bot:
        # SIGTERM (docker stop, systemd) closes the bot cleanly: the gateway stops taking
        # commands, the poller finishes its step, the store and API session close.
        # Pending jobs stay pending in the store and resume at the next start.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda s=sig: _shutdown(bot, s))
        await bot.start(settings.discord_token.get_secret_value())
    log.info("dreambot stopped")


def _shutdown(bot, sig: signal.Signals) -> None:
    log.info("received %s; shutting down", sig.name)
    asyncio.get_running_loop().create_task(bot.close())


def settings_and_logging(program: str = "dreambot", **overrides: object) -> Settings:
    """Read the settings (a bad one ends the process with one line, exit 2) and set up
    logging that scrubs the token and the key from every line."""
    try:
        settings = load_settings(**overrides)
    except SettingsError as error:
        print(f"{program}: cannot start: {error}. See .env.example.", file=sys.stderr)
        raise SystemExit(2) from None
    secrets = [settings.discord_token.get_secret_value()]
    if settings.aimlapi_key is not None:
        secrets.append(settings.aimlapi_key.get_secret_value())
    setup_logging(settings.log_level, secrets)
    return settings


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = settings_and_logging(**({"aimlapi_base_url": SIMULATOR_URL} if args.simulate else {}))
    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    except discord.LoginFailure:
        print("dreambot: Discord refused DISCORD_TOKEN; copy the bot token again from the developer portal.",
              file=sys.stderr)
        raise SystemExit(3) from None
    except (OSError, aiohttp.ClientError, discord.HTTPException, discord.GatewayNotFound) as error:
        # Unreachable Discord, an unusable DATABASE_PATH...: one line, details in the log at DEBUG.
        log.debug("start-up failed", exc_info=True)
        print(f"dreambot: cannot run: {type(error).__name__}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
