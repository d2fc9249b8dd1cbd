"""Fixtures shared by the simulator's tests: a simulator on a real port and a session that
sends its key, on the real (scaled) clock or on one the test moves by hand."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any, AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from bot.simulator import ManualClock, Simulator, SimulatorConfig, run_simulator

KEY = "sk-test-key-0001"
OTHER_KEY = "sk-test-key-0002"

Factory = Callable[..., Awaitable[tuple[Simulator, aiohttp.ClientSession]]]


@pytest.fixture
async def make() -> AsyncIterator[Factory]:
    """Start a simulator on a free port; returns it and a session that sends KEY."""
    stack = AsyncExitStack()

    async def factory(**overrides: Any) -> tuple[Simulator, aiohttp.ClientSession]:
        settings: dict[str, Any] = {"api_keys": {KEY, OTHER_KEY}, "time_scale": 0.01, **overrides}
        sim, url = await stack.enter_async_context(run_simulator(SimulatorConfig(**settings)))
        session = await stack.enter_async_context(
            aiohttp.ClientSession(url, headers={"Authorization": f"Bearer {KEY}"}))
        return sim, session

    yield factory
    await stack.aclose()


@pytest.fixture
async def manual(make: Factory) -> tuple[Simulator, aiohttp.ClientSession, ManualClock]:
    """Nothing moves until the test advances the clock (3 s queued, then the run time)."""
    clock = ManualClock()
    sim, session = await make(time_scale=1.0, clock=clock)
    return sim, session, clock
