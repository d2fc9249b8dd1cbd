"""A local stand-in for the AI/ML API's Luma video endpoints, as the provider serves them today.

    sim = Simulator(SimulatorConfig(time_scale=0.01))
    app = sim.make_app()                      # for aiohttp's test client
    async with run_simulator(config) as (sim, base_url): ...   # on a real port

What it serves:
- unified `POST/GET /v2/video/generations`: `luma/ray-2`, `luma/ray-flash-2`, `luma/ray-3.2`,
  each validated against its own published schema (unknown fields refused, ray-3.2's cross-field
  rules enforced); `luma/ray-1-6` is retired (404). Jobs are priced from the catalogue's price
  table (`prices.py`), hold their cost until they finish (a failed one is refunded), run longer
  by model, resolution and seconds (`timing.py`), and carry the tracing headers (`tracing.py`);
- `GET /v1/models` and `GET /model/{id}`, the catalogue with ETag / 304 (`catalogue.py`);
- `GET /v2/logs`, one usage-log row per unified request (`logs.py`);
- the deprecated luma-v2 (`/v2/generate/video/luma-ai/...`) and legacy (`/luma-ai/...`)
  families, unchanged, at a flat `cost_per_generation`.
Faults: random rates and `Simulator.script_faults`, including creates that are made and charged
but whose answer is lost (`LOSE_ANSWER`: a 502, a dropped connection, a hang, an HTML page).

Standalone: `python -m bot.simulator --port 8787` (or `dreambot-simulator`).
"""

from .catalogue import RETIRED_MODELS
from .prices import CREDITS_PER_USD, DEFAULT_PRICES
from .runner import run_simulator
from .state import (
    DIALECTS,
    FAULTS,
    LOSE_ANSWER,
    STATE_WORDS,
    Counters,
    Job,
    ManualClock,
    SimError,
    Simulator,
    SimulatorConfig,
)
from .timing import MODEL_FACTORS, RESOLUTION_FACTORS, unified_run_seconds

__all__ = [
    "CREDITS_PER_USD",
    "DEFAULT_PRICES",
    "DIALECTS",
    "FAULTS",
    "LOSE_ANSWER",
    "MODEL_FACTORS",
    "RESOLUTION_FACTORS",
    "RETIRED_MODELS",
    "STATE_WORDS",
    "Counters",
    "Job",
    "ManualClock",
    "SimError",
    "Simulator",
    "SimulatorConfig",
    "run_simulator",
    "unified_run_seconds",
]
