"""Serve a simulator on a real socket, in-process (embedded mode, tests) or from the CLI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web

from .state import Simulator, SimulatorConfig


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"  # a wildcard bind is reached through loopback
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@asynccontextmanager
async def run_simulator(config: SimulatorConfig | Simulator | None = None, *, host: str = "127.0.0.1",
                        port: int = 0) -> AsyncIterator[tuple[Simulator, str]]:
    """Start a simulator and yield `(sim, base_url)`; port 0 picks a free port.

    Pass a `Simulator` instead of a config to serve one you already hold.
    """
    sim = config if isinstance(config, Simulator) else Simulator(config)
    # A short shutdown timeout: long-polls still waiting are cut off instead of holding exit.
    runner = web.AppRunner(sim.make_app(), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound_port = runner.addresses[0][1]
        yield sim, f"http://{_url_host(host)}:{bound_port}"
    finally:
        await runner.cleanup()
