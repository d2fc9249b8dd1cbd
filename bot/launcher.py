"""Start dreambot: read settings, set up logging, run the bot until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys
from pathlib import Path
from typing import NoReturn

import aiohttp
import discord
import yarl

from bot.logging_setup import setup_logging
from bot.prices import PriceFileError, load_price_file
from bot.settings import IMAGE_DEFAULTS_FILE, SIMULATOR_URL, Settings, SettingsError, load_settings
from storage import StoreError
from storage.preflight import check_database_path

log = logging.getLogger("dreambot")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dreambot", description="Run the dreambot Discord bot.")
    parser.add_argument("--simulate", action="store_true",
                        help="use the bundled video API simulator instead of the AI/ML API (no key, no cost)")
    return parser.parse_args(argv)


# Exit codes, so a supervisor (or a person) can tell the failures apart.
EXIT_SETTINGS = 2
EXIT_TOKEN = 3
EXIT_INTENTS = 4
EXIT_DATABASE = 5
EXIT_OTHER = 1

INTENT_HELP = (
    "Discord refused the Message Content intent. Either switch it on (https://discord.com/developers/applications"
    " -> your app -> Bot -> Privileged Gateway Intents -> Message Content Intent) or set"
    " MESSAGE_CONTENT_INTENT=false (replies to a clip are then not read; /dream, /extend, buttons and the menu work)."
)
TOKEN_HELP = "Discord refused DISCORD_TOKEN; copy the bot token again from the developer portal (Bot -> Reset Token)."


IMAGE_VOLUME = Path("/data")


def warn_outside_volume(settings: Settings, *, in_image: bool | None = None) -> None:
    """In the Docker image, a database outside the volume is lost with the container."""
    if in_image is None:
        in_image = IMAGE_DEFAULTS_FILE.exists()
    path = settings.database_path.absolute()
    if in_image and not path.is_relative_to(IMAGE_VOLUME):
        log.warning("DATABASE_PATH %s is outside the image's volume %s: the ledger goes when the container does",
                    path, IMAGE_VOLUME)


def point_at_discord(settings: Settings) -> None:
    """Route discord.py's REST and gateway traffic where the settings say (a proxy, or the tests' fake)."""
    discord.http.Route.BASE = settings.discord_api_url
    if settings.discord_gateway_url is not None:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


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
        fail(f"cannot start: {error}. See .env.example.", EXIT_SETTINGS, program)
    secrets = [settings.discord_token.get_secret_value()]
    if settings.aimlapi_key is not None:
        secrets.append(settings.aimlapi_key.get_secret_value())
    setup_logging(settings.log_level, secrets)
    return settings


def fail(reason: str, code: int, program: str = "dreambot") -> NoReturn:
    """End the process with one line on stderr (details, if any, went to the log at DEBUG)."""
    print(f"{program}: {reason}", file=sys.stderr)
    raise SystemExit(code)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    settings = settings_and_logging(**({"aimlapi_base_url": SIMULATOR_URL} if args.simulate else {}))
    try:
        # Local problems first, before anything is asked of Discord.
        warn_outside_volume(settings)
        check_database_path(settings.database_path)
        if settings.price_file is not None:
            load_price_file(settings.price_file)  # a broken fallback file is found now, not mid-outage
        point_at_discord(settings)
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        pass
    except discord.LoginFailure:
        fail(TOKEN_HELP, EXIT_TOKEN)
    except discord.PrivilegedIntentsRequired:
        fail(INTENT_HELP, EXIT_INTENTS)
    except StoreError as error:
        fail(f"cannot start: {error}", EXIT_DATABASE)
    except PriceFileError as error:
        fail(f"cannot start: {error}. See PRICE_FILE in .env.example.", EXIT_SETTINGS)
    except (OSError, aiohttp.ClientError, discord.HTTPException, discord.GatewayNotFound, discord.ConnectionClosed) as error:
        # Unreachable Discord, a full disk...: one line, details in the log at DEBUG.
        log.debug("start-up failed", exc_info=True)
        fail(f"cannot run: {_describe(error)}", EXIT_OTHER)


def _describe(error: BaseException) -> str:
    if isinstance(error, aiohttp.ClientConnectorError):
        cause = error.os_error
        if isinstance(cause, socket.gaierror):
            why = f"name lookup failed: {cause.strerror}"
        else:
            why = os.strerror(cause.errno).lower() if cause.errno and cause.errno > 0 else str(cause)
        return f"cannot reach Discord at {error.host}:{error.port} ({why}); check the network or DISCORD_API_URL"
    return f"{type(error).__name__}: {error}"
