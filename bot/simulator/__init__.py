"""A local stand-in for the AI/ML API's Luma video endpoints (unified, luma-v2 and legacy).

    sim = Simulator(SimulatorConfig(time_scale=0.01))
    app = sim.make_app()                      # for aiohttp's test client
    async with run_simulator(config) as (sim, base_url): ...   # on a real port

Standalone: `python -m bot.simulator --port 8787` (or `dreambot-simulator`).
"""

from .runner import run_simulator
from .state import (
    DIALECTS,
    FAULTS,
    STATE_WORDS,
    Counters,
    Job,
    ManualClock,
    SimError,
    Simulator,
    SimulatorConfig,
)

__all__ = [
    "DIALECTS",
    "FAULTS",
    "STATE_WORDS",
    "Counters",
    "Job",
    "ManualClock",
    "SimError",
    "Simulator",
    "SimulatorConfig",
    "run_simulator",
]
