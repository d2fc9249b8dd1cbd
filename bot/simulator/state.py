"""The simulator's model: configuration, jobs, the clock, credits, faults and counters.

No aiohttp here, so tests and benchmarks can drive and inspect it directly. A job's state
is never stored: it is computed from its timestamps on the (injectable) clock, so 10k jobs
cost nothing while they wait and no background task is needed. For the same reason a unified
job's hold on the balance is settled lazily, whenever a balance is read (`_settle`).
"""

from __future__ import annotations

import copy
import heapq
import itertools
import logging
import random
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Literal

from . import catalogue, prices
from .logs import LogBook
from .schemas import UNIFIED_MODELS, with_defaults
from .timing import run_seconds_for

log = logging.getLogger(__name__)

Dialect = Literal["unified", "luma-v2", "legacy"]
Phase = Literal["queued", "running", "completed", "failed"]
Kind = Literal["create", "extend", "fetch_one", "fetch_many", "list"]
ReportCredits = Literal["both", "body", "header", "none"]

DIALECTS: tuple[str, ...] = ("unified", "luma-v2", "legacy")
# How each dialect spells the four phases.
STATE_WORDS: dict[str, dict[str, str]] = {
    "unified": {"queued": "queued", "running": "generating", "completed": "completed", "failed": "error"},
    "luma-v2": {"queued": "queued", "running": "dreaming", "completed": "completed", "failed": "failed"},
    "legacy": {"queued": "pending", "running": "processing", "completed": "completed", "failed": "failed"},
}
# luma-v2 wait order: `failed` outranks everything, so a wait for any state ends on failure.
PHASE_RANK: dict[str, int] = {"queued": 0, "running": 1, "completed": 2, "failed": 3}

# Faults that make (and charge) the job, then lose its answer: a 502, a connection closed with no
# answer at all, an answer held past any client timeout, a 200 whose body is an HTML proxy page.
LOSE_ANSWER: tuple[str, ...] = ("accept_then_502", "accept_then_drop", "accept_then_hang", "accept_then_garbage")
FAULTS: tuple[str, ...] = ("ok", "429", "500", "502", "503", "504", "slow", *LOSE_ANSWER)
# Script filters: a family name, or one exact kind.
KIND_FILTERS: dict[str, frozenset[str]] = {
    "create": frozenset({"create", "extend"}),
    "fetch": frozenset({"fetch_one", "fetch_many", "list"}),
    **{kind: frozenset({kind}) for kind in ("extend", "fetch_one", "fetch_many", "list")},
}


class ManualClock:
    """A clock tests move by hand: `clock.advance(20)` finishes a 3 s + 17 s job at once."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class SimulatorConfig:
    """Everything tunable. Fault rates may also be changed later on `Simulator.config`."""

    # Valid keys; None accepts any non-empty key (the embedded demo mode).
    api_keys: Collection[str] | None = None
    # Starting balance per key; keys not listed get `default_credits` (None = unlimited).
    credits: Mapping[str, int] = field(default_factory=dict)
    default_credits: int | None = None
    # What a legacy or luma-v2 create/extend costs; unified jobs are priced by `prices`.
    cost_per_generation: int = 500_000
    # Unified: model id -> catalogue `pricing` block (see prices.DEFAULT_PRICES); `Simulator.set_price`.
    prices: dict[str, dict[str, Any]] = field(default_factory=prices.default_prices)
    # What a completed job reports in unified `meta.usage.credits_used` (None = what it was billed).
    credits_used: int | None = None
    # Added to every unified job's bill (and so to what it reports): the provider billing
    # more (or, negative, less) than its price table quoted.
    credits_used_delta: int = 0
    # Where a completed unified job's cost appears: `meta.usage`, the x-aimlapi-* headers, both, neither.
    report_credits: ReportCredits = "both"

    # Nominal durations in seconds; real durations are these times `time_scale`.
    queue_seconds: float = 3.0
    run_seconds: float = 20.0
    run_jitter: float = 0.0  # +/- fraction of run_seconds, drawn from the seeded RNG
    time_scale: float = 1.0  # 0.01 runs everything 100x faster (jobs, waits, Retry-After, slow)
    max_wait_seconds: float = 30.0  # luma-v2 `state=` long-poll limit (nominal)
    wait_poll_interval: float = 0.01  # real seconds between state checks while long-polling

    video_base_url: str = "https://cdn.aimlapi.com/luma/dream_machine"

    # Faults.
    fail_marker: str | None = "FAIL"  # a prompt containing it ends failed
    failure_reason: str = "Prompt was flagged by moderation"
    fail_rate: float = 0.0  # fraction of jobs that end failed anyway
    error_rate: float = 0.0  # fraction of calls answered 500/502/503
    rate_limit_rate: float = 0.0  # fraction of calls answered 429
    retry_after_seconds: float = 2.0  # nominal, sent scaled in Retry-After
    slow_rate: float = 0.0  # fraction of calls answered late
    slow_seconds: float = 5.0  # nominal delay of a slow answer
    accept_then_fail_rate: float = 0.0  # fraction of creates that are made and charged, then answered 502
    lose_answer_rate: float = 0.0  # fraction of creates made and charged, then lost one of the LOSE_ANSWER ways
    hang_seconds: float = 120.0  # nominal hold of an `accept_then_hang` answer (past any client timeout)
    # The catalogue: None serves it; "500", "503" (any status code) answers that; "drop" closes the
    # connection unanswered (the nearest in-process thing to "down"); any other word answers 503.
    catalogue_fault: str | None = None
    logs_delay_seconds: float = 0.0  # nominal lag before a request shows in GET /v2/logs
    seed: int | None = 0

    clock: Callable[[], float] = time.monotonic

    def scaled(self, seconds: float) -> float:
        return seconds * self.time_scale


class SimError(Exception):
    """An error answer: status, message, and for validation errors the field list."""

    def __init__(self, status: int, message: str, *, errors: list[dict[str, str]] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = dict(headers or {})


@dataclass(slots=True)
class Job:
    id: str  # as the dialect shows it (unified adds ":<model>")
    uuid: str
    dialect: str
    key: str
    kind: str  # "create" or "extend"
    model: str
    prompt: str
    request: dict[str, Any]
    created: float  # on the simulator clock
    queue_s: float  # real (scaled) durations, clock units
    run_s: float
    fails: bool
    failure_reason: str | None
    created_at: str  # ISO 8601 UTC, for the answers
    video_url: str
    thumbnail_url: str
    credits_used: int  # what a completed job reports
    aspect_ratio: str = "16:9"
    parents: tuple[str, ...] = ()  # ids of the clips this one extends (frame0, frame1 / taskId)
    cost: int = 0  # the quoted price, held from the balance at create
    billed: int = 0  # what completion charges (cost + credits_used_delta); a failed job is billed nothing
    client_request_id: str | None = None  # a valid X-Client-Request-Id of the create
    params: dict[str, Any] = field(default_factory=dict)  # unified: the request with schema defaults
    held: bool = False  # unified: its cost is held from the balance, not settled yet

    @property
    def started_at(self) -> float:
        return self.created + self.queue_s

    @property
    def completed_at(self) -> float:
        """Clock time at which the job became completed or failed (or will)."""
        return self.created + self.queue_s + self.run_s

    def phase(self, now: float) -> Phase:
        if now < self.started_at:
            return "queued"
        if now < self.completed_at:
            return "running"
        return "failed" if self.fails else "completed"

    def next_change(self, now: float) -> float | None:
        """Clock seconds until the phase changes, None once finished."""
        if now < self.started_at:
            return self.started_at - now
        if now < self.completed_at:
            return self.completed_at - now
        return None


@dataclass
class Counters:
    """What the simulator has been asked, for tests and benchmarks."""

    requests: Counter[str] = field(default_factory=Counter)  # by kind
    by_dialect: Counter[str] = field(default_factory=Counter)
    by_dialect_kind: Counter[tuple[str, str]] = field(default_factory=Counter)
    ids_fetched: int = 0  # ids asked for by fetch_one and fetch_many, known or not
    jobs_per_key: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)  # answers by HTTP status
    faults: Counter[str] = field(default_factory=Counter)  # injected faults by name
    catalogue_requests: int = 0  # GET /v1/models and /model/{id}, answered or faulted
    catalogue_not_modified: int = 0  # of those, 304s
    logs_requests: int = 0  # GET /v2/logs

    def reset(self) -> None:
        fresh = Counters()
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(fresh, name))


def iso_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def key_hint(key: str) -> str:
    """What logs may show of a key."""
    return f"key …{key[-4:]}" if len(key) > 8 else "key …"


class Simulator:
    """The whole simulated API. `make_app()` serves it; everything else is for tests."""

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = replace(config) if config is not None else SimulatorConfig()
        # Our own copy: set_price must not edit the caller's config (or DEFAULT_PRICES).
        self.config.prices = copy.deepcopy(self.config.prices)
        self.rng = random.Random(self.config.seed)
        self.counters = Counters()
        self.logbook = LogBook()
        self._jobs: dict[str, Job] = {}  # by id
        self._by_uuid: dict[str, Job] = {}  # unified ids may be given without the ":model" suffix
        self._balances: dict[str, int] = dict(self.config.credits)
        # Open holds of unified jobs, a heap by the time they finish (finish_now pushes again).
        self._holds: list[tuple[float, int, Job]] = []
        self._hold_seq = itertools.count()
        self._script: deque[tuple[str, str | None]] = deque()

    # -- serving ---------------------------------------------------------------------------------
    def make_app(self) -> Any:
        from .app import build_app  # aiohttp only where it is needed

        return build_app(self)

    def now(self) -> float:
        return self.config.clock()

    # -- auth and credits ----------------------------------------------------------------------
    def authenticate(self, header: str | None) -> str:
        scheme, _, key = (header or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise SimError(401, "Unauthorized")
        if self.config.api_keys is not None and key not in self.config.api_keys:
            log.info("rejected unknown %s", key_hint(key))
            raise SimError(401, "Unauthorized")
        return key

    def balance(self, key: str) -> int | None:
        """Credits left for a key; None means unlimited."""
        self._settle()
        return self._raw_balance(key)

    def _raw_balance(self, key: str) -> int | None:
        return self._balances.get(key, self.config.default_credits)

    def set_credits(self, key: str, amount: int | None) -> None:
        self._settle()  # jobs that already finished settle against the old balance, not the new one
        if amount is None:
            self._balances.pop(key, None)
        else:
            self._balances[key] = amount

    def _charge(self, key: str, cost: int | None = None) -> None:
        """Take `cost` (default: the flat legacy/luma-v2 price) or answer 403 and take nothing."""
        self._settle()
        balance = self._raw_balance(key)
        cost = self.config.cost_per_generation if cost is None else cost
        if balance is None:
            return
        if balance < cost:
            raise SimError(403, "Insufficient credits")
        self._balances[key] = balance - cost

    def _hold(self, job: Job) -> None:
        job.held = True
        heapq.heappush(self._holds, (job.completed_at, next(self._hold_seq), job))

    def _settle(self) -> None:
        """Close the holds of finished unified jobs: a failed one gets its hold back ("a failed
        request is billed nothing"), a completed one pays the difference between bill and quote."""
        now = self.now()
        while self._holds and self._holds[0][0] <= now:
            _, _, job = heapq.heappop(self._holds)
            if not job.held:
                continue  # settled through an earlier entry (finish_now pushed it again)
            if job.completed_at > now:  # cannot happen today (times only move earlier); keep it safe
                heapq.heappush(self._holds, (job.completed_at, next(self._hold_seq), job))
                continue
            job.held = False
            balance = self._raw_balance(job.key)
            if balance is not None:
                refund = job.cost if job.fails else job.cost - job.billed
                self._balances[job.key] = balance + refund

    # -- prices ----------------------------------------------------------------------------------
    def set_price(self, model_id: str, block: Mapping[str, Any]) -> None:
        """Change a catalogue model's `pricing` block at run time (new creates pay it; the ETag moves)."""
        if model_id not in catalogue.MODEL_IDS:
            raise KeyError(f"{model_id!r} is not in the catalogue")
        prices.check_block(block)
        self.config.prices[model_id] = copy.deepcopy(dict(block))

    def quote(self, model: str, request: Mapping[str, Any]) -> prices.Cost:
        """What a unified create of `model` with this body costs now (schema defaults filled in)."""
        return prices.job_cost(self.config.prices, model, with_defaults(model, dict(request)))

    # -- usage logs ------------------------------------------------------------------------------
    def log_rows(self, key: str | None = None) -> list[dict[str, Any]]:
        """Every usage-log row (visible yet or not) in request order, as `GET /v2/logs` shows it."""
        now = self.now()
        return [row.render(now) for row in sorted(self.logbook.of(key), key=lambda row: (row.created, row.seq))]

    # -- faults ----------------------------------------------------------------------------------
    def set_faults(self, **changes: Any) -> None:
        """Change fault settings at run time, e.g. `sim.set_faults(error_rate=0.5)`."""
        for name, value in changes.items():
            if not hasattr(self.config, name):
                raise AttributeError(f"no simulator setting {name!r}")
            setattr(self.config, name, value)

    def script_faults(self, faults: Iterable[str], kind: str | None = None) -> None:
        """Answer the next matching calls with these faults, in order.

        `kind` limits the script to "create" (create and extend), "fetch" (fetch_one,
        fetch_many, list), or one exact kind; None applies to every call. "ok" lets a
        call through, to skip one.
        """
        if kind is not None and kind not in KIND_FILTERS:
            raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KIND_FILTERS)}")
        for fault in faults:
            if fault not in FAULTS:
                raise ValueError(f"unknown fault {fault!r}; use one of {', '.join(FAULTS)}")
            self._script.append((fault, kind))

    @property
    def scripted_faults(self) -> list[tuple[str, str | None]]:
        return list(self._script)

    def clear_script(self) -> None:
        self._script.clear()

    def next_fault(self, kind: str) -> str | None:
        """The fault for this call: the first matching scripted one, else a random draw."""
        for index, (fault, wanted) in enumerate(self._script):
            if wanted is None or kind in KIND_FILTERS[wanted]:
                del self._script[index]
                return None if fault == "ok" else fault
        cfg = self.config
        roll = self.rng.random()  # one draw per call keeps seeded runs reproducible
        creates = kind in ("create", "extend")
        for name, rate in (("429", cfg.rate_limit_rate), ("5xx", cfg.error_rate), ("slow", cfg.slow_rate),
                           ("accept_then_502", cfg.accept_then_fail_rate if creates else 0.0),
                           ("lose", cfg.lose_answer_rate if creates else 0.0)):
            if roll < rate:
                if name == "5xx":
                    return self.rng.choice(("500", "502", "503"))
                return self.rng.choice(LOSE_ANSWER) if name == "lose" else name
            roll -= rate
        return None

    # -- jobs ------------------------------------------------------------------------------------
    def count(self, dialect: str, kind: str, ids: int = 0) -> None:
        self.counters.requests[kind] += 1
        self.counters.by_dialect[dialect] += 1
        self.counters.by_dialect_kind[(dialect, kind)] += 1
        self.counters.ids_fetched += ids

    def find(self, key: str, dialect: str, job_id: str) -> Job | None:
        """A job of this key and dialect; unified ids also match without their ":model" suffix."""
        job = self._jobs.get(job_id)
        if job is None and dialect == "unified":
            job = self._by_uuid.get(job_id)
        if job is None or job.key != key or job.dialect != dialect:
            return None
        return job

    def require_completed(self, key: str, dialect: str, job_id: str) -> Job:
        """The clip an extend continues from: it must exist for this key and be completed."""
        job = self.find(key, dialect, job_id)
        if job is None:
            raise SimError(400, f"Generation {job_id} not found")
        if job.phase(self.now()) != "completed":
            raise SimError(400, f"Generation {job_id} is not completed")
        return job

    def create_job(self, key: str, dialect: str, *, model: str, prompt: str, request: dict[str, Any],
                   kind: str = "create", aspect_ratio: str | None = None, parents: tuple[str, ...] = (),
                   client_request_id: str | None = None) -> Job:
        """Charge the key and queue a job (403 and nothing created if the key cannot pay).

        Unified jobs cost what the price table quotes for the request and hold it until they
        finish; legacy and luma-v2 jobs pay the flat `cost_per_generation` at once, for good.
        """
        cfg = self.config
        params: dict[str, Any] = {}
        if dialect == "unified":
            params = with_defaults(model, request) if model in UNIFIED_MODELS else dict(request)
            try:
                cost = prices.job_cost(cfg.prices, model, params).credits
            except prices.Unpriced as error:  # a test set a price table the request cannot be priced by
                log.warning("simulator cannot price %s %s: %s", model, params, error)
                raise SimError(500, "Internal server error") from None
            billed = max(0, cost + cfg.credits_used_delta)
        else:
            cost = billed = cfg.cost_per_generation
        # Per option on unified and luma-v2 (the request as run), run_seconds on legacy (no options).
        run = run_seconds_for(dialect, cfg.run_seconds, model, params if dialect == "unified" else request)
        self._charge(key, cost)
        job_uuid = str(uuid.uuid4())  # real uuids, not seeded: ids must not repeat across restarts
        if cfg.run_jitter:
            run *= 1.0 + self.rng.uniform(-cfg.run_jitter, cfg.run_jitter)
        marker = cfg.fail_marker
        flagged = bool(marker) and marker in prompt
        fails = flagged or (cfg.fail_rate > 0 and self.rng.random() < cfg.fail_rate)
        folder = f"{cfg.video_base_url.rstrip('/')}/{uuid.uuid4()}/{uuid.uuid4()}"
        job = Job(
            id=f"{job_uuid}:{model}" if dialect == "unified" else job_uuid,
            uuid=job_uuid, dialect=dialect, key=key, kind=kind, model=model, prompt=prompt, request=request,
            created=self.now(), queue_s=cfg.scaled(cfg.queue_seconds), run_s=cfg.scaled(max(run, 0.0)),
            fails=fails, failure_reason=(cfg.failure_reason if flagged else "Generation failed") if fails else None,
            created_at=iso_now(), video_url=f"{folder}.mp4", thumbnail_url=f"{folder}.jpg",
            credits_used=cfg.credits_used if cfg.credits_used is not None else billed,
            aspect_ratio=aspect_ratio or "16:9", parents=parents,
            cost=cost, billed=billed, client_request_id=client_request_id, params=params,
        )
        self._jobs[job.id] = job
        self._by_uuid[job.uuid] = job
        if dialect == "unified":
            self._hold(job)
        self.counters.jobs_per_key[key] += 1
        log.debug("%s job %s (%s) for %s", dialect, job.id, kind, key_hint(key))
        return job

    def job(self, job_id: str) -> Job:
        """Any job by id (or unified uuid), whoever owns it; KeyError if unknown."""
        job = self._jobs.get(job_id) or self._by_uuid.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    def jobs(self, *, key: str | None = None, dialect: str | None = None) -> list[Job]:
        """All jobs in creation order, optionally for one key and/or dialect."""
        return [job for job in self._jobs.values()
                if (key is None or job.key == key) and (dialect is None or job.dialect == dialect)]

    def phase(self, job: Job) -> Phase:
        return job.phase(self.now())

    def finish_now(self, job_id: str, *, failed: bool = False, reason: str | None = None) -> Job:
        """End a job at once (completed, or failed with `reason`)."""
        job = self.job(job_id)
        now = self.now()
        if now < job.completed_at:  # a finished job keeps the time it finished
            job.queue_s = min(job.queue_s, max(0.0, now - job.created))
            job.run_s = max(0.0, now - job.started_at)
        job.fails = failed
        job.failure_reason = (reason or self.config.failure_reason) if failed else None
        if job.held:
            self._hold(job)  # it may finish earlier than its hold's place in the heap says
        return job
